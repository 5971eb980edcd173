/**
 * `--mode inspect --steer all` (kernel reinjection, engine/to_kernel.ts): the dut kernel owns
 * 10.0.0.1; every frame the peer sends is steered to user space, counted there and handed back to
 * the kernel, which answers as if byPassRT were not there. Pings get exactly their replies, a TCP
 * connection to a server in the dut namespace carries its bytes both ways unchanged, the counters
 * equal the frames the peer's interface sent (IPv6 is off: no stray frames), the capture holds
 * them (and the XDP program steered each once: no reinjected frame came back to it), and the
 * reinjection TAP is gone after the run. Bad setups (skb-mode XDP, a foreign XDP program in the
 * way) are one line, exit 1, with no TAP and no program left.
 */
import assert from "node:assert/strict";
import { readPcapng } from "../../capture/pcapng.ts";
import { Bypassrt, cli, inNs, ping, type Topology, withTopology, xdpAttached } from "./_netns.ts";
import { attachGenericXdp, compileBpf, FIXTURES } from "./_xdp.ts";

/** Echo server on 10.0.0.1:PORT in the dut namespace: one connection, echoes until EOF. */
const SERVER = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.1", int(sys.argv[1]))); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); n = 0
while True:
    d = c.recv(65536)
    if not d: break
    c.sendall(d); n += len(d)
c.close(); print(n, flush=True)
`;

/** Client in the peer namespace: sends N seeded-random bytes, reads the echo, compares. */
const CLIENT = `
import json, random, socket, sys
n = int(sys.argv[2]); data = random.Random(11).randbytes(n)
c = socket.create_connection(("10.0.0.1", int(sys.argv[1])), timeout=10)
c.sendall(data); c.shutdown(socket.SHUT_WR); got = b""
while True:
    d = c.recv(65536)
    if not d: break
    got += d
c.close(); print(json.dumps({"sent": n, "received": len(got), "equal": got == data}))
`;

/** The echo server ({@link SERVER}) started in the dut namespace on TCP_PORT. */
function startServer(t: Topology): {
  out: Promise<Deno.CommandOutput>;
  stop: () => Promise<void>;
} {
  const server = new Deno.Command("ip", {
    args: ["netns", "exec", t.dut, "python3", "-c", SERVER, String(TCP_PORT)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = server.output();
  const stop = async () => {
    try {
      server.kill("SIGKILL");
    } catch { /* already done */ }
    await out.catch(() => {});
  };
  return { out, stop };
}

/** tx_packets of the peer's veth end. */
async function peerTx(t: Topology): Promise<number> {
  const path = `/sys/class/net/${t.peerIf}/statistics/tx_packets`;
  return Number((await inNs(t.peer, "cat", path)).trim());
}

/** Wait until the engine's last line shows `n` frames received (or fail after 15 s). */
async function waitRx(b: Bypassrt, n: number): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const last = b.lines.at(-1) as { total?: { rx_packets: number } } | undefined;
    if (last?.total?.rx_packets === n) return;
    if (Date.now() > end) {
      throw new Error(`rx_packets ${last?.total?.rx_packets} != ${n}; stderr: ${b.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The TAP devices of byPassRT (`bpxk*`) in namespace `ns`. */
async function taps(ns: string): Promise<string[]> {
  const out = await inNs(ns, "ip", "-o", "link", "show");
  return [...out.matchAll(/^\d+: (bpxk\d+)[@:]/gm)].map((m) => m[1]);
}

const PINGS = 10, BYTES = 300_000, TCP_PORT = 5001;

{
  const xdpMode = "native";
  Deno.test("inspect: ping and TCP to the dut kernel's own address work, every frame counted", async () => {
    await withTopology(async (t) => {
      const file = await Deno.makeTempFile({ prefix: "bypassrt-inspect-", suffix: ".pcapng" });
      const server = startServer(t);
      const b = new Bypassrt(t.dut, [
        ...["--iface", t.dutIf, "--mode", "inspect", "--steer", "all"],
        ...["--xdp-mode", xdpMode, "--pcap", file, "--interval", "0.1"],
      ]);
      try {
        await b.ready();
        const tap = (b.lines[0] as { to_kernel_device?: string }).to_kernel_device;
        assert.match(tap ?? "", /^bpxk\d+$/, "the snapshot names the reinjection device");
        assert.deepEqual(await taps(t.dut), [tap], "the TAP exists while the run goes on");
        assert.equal((b.lines[0] as { xdp_mode: string }).xdp_mode, xdpMode);
        const tx0 = await peerTx(t);

        const [all, received, pingOut] = await ping(t.peer, "10.0.0.1", PINGS);
        assert.ok(all, `every ping answered (${received}/${PINGS}): ${pingOut}`);
        const client = JSON.parse(
          await inNs(t.peer, "python3", "-c", CLIENT, String(TCP_PORT), String(BYTES)),
        );
        assert.deepEqual(client, { sent: BYTES, received: BYTES, equal: true }, "TCP echo");
        const srv = await server.out;
        assert.equal(new TextDecoder().decode(srv.stdout).trim(), `ready\n${BYTES}`);

        // Every frame the peer sent (ARP, ICMP, TCP; IPv6 is off) went through user space.
        await new Promise((r) => setTimeout(r, 300));
        const sent = await peerTx(t) - tx0;
        await waitRx(b, sent);
        assert.equal(await peerTx(t) - tx0, sent, "the peer sent nothing more");
        const st = await b.stop("SIGINT");
        assert.equal(st.code, 0, b.stderr);
        const f = b.final();
        assert.equal(f.balanced, true);
        assert.equal(f.total.rx_packets, sent, "rx = frames the peer sent");
        assert.equal(f.total.to_kernel, sent, "every one handed back to the kernel");
        assert.equal(f.total.to_kernel_failed, 0);
        assert.equal(f.total.tx_packets, 0, "the kernel's replies leave on its own, not via us");
        assert.equal(f.total.unhandled + f.total.app_dropped + f.total.error_dropped, 0);
        assert.equal(f.total.xdp_statistics.rx_dropped, 0);
        assert.equal(f.program.redirected, sent, "steered once each: none came back to XDP");
        const hc = f.handler_counters;
        assert.equal(hc.ipv4_icmp, PINGS, "ICMP: the echo requests");
        assert.ok(hc.arp >= 1, `ARP: the peer asked for 10.0.0.1 (${hc.arp})`);
        // TCP: at least one segment per 64 KiB window of data, plus the handshake and FIN.
        assert.ok(hc.ipv4_tcp >= 3 + Math.ceil(BYTES / 65536), `TCP frames ${hc.ipv4_tcp}`);
        assert.deepEqual([hc.ipv4_udp, hc.ipv6, hc.other], [0, 0, 0]);
        assert.equal(hc.arp + hc.ipv4_icmp + hc.ipv4_tcp, sent, "the counters add up");

        // The capture holds exactly those frames, by protocol as counted.
        const pk = readPcapng(await Deno.readFile(file)).packets;
        assert.equal(pk.length, sent, "captured = sent");
        const eth = (p: { data: Uint8Array }) => (p.data[12] << 8) | p.data[13];
        const ipProto = (p: { data: Uint8Array }) => eth(p) === 0x0800 ? p.data[23] : -1;
        assert.equal(pk.filter((p) => eth(p) === 0x0806).length, hc.arp);
        assert.equal(pk.filter((p) => ipProto(p) === 1 && p.data[34] === 8).length, PINGS);
        assert.equal(pk.filter((p) => ipProto(p) === 6).length, hc.ipv4_tcp);
        assert.deepEqual(await taps(t.dut), [], "no TAP device left after the run");
      } finally {
        await b.stop("SIGKILL").catch(() => {});
        await server.stop();
        await Deno.remove(file).catch(() => {});
      }
    }, { dutIp: "10.0.0.1/24" });
  });
}

Deno.test("inspect with --xdp-mode skb: one line naming the fix, exit 1, no TAP, nothing attached", async () => {
  await withTopology(async (t) => {
    const r = await cli(["--iface", t.dutIf, "--mode", "inspect", "--xdp-mode", "skb"], {
      ns: t.dut,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /needs native XDP.*--xdp-mode native/);
    assert.deepEqual(await taps(t.dut), []);
    assert.equal(await xdpAttached(t.dut, t.dutIf), false);
  });
});

Deno.test("inspect, refused after the TAP was made (a foreign XDP program): the TAP is gone too", async () => {
  await withTopology(async (t) => {
    const obj = await Deno.makeTempFile({ suffix: ".o" });
    try {
      await compileBpf(`${FIXTURES}xdp_pass.c`, obj);
      await attachGenericXdp(t.dut, t.dutIf, obj);
      const r = await cli(["--iface", t.dutIf, "--mode", "inspect"], { ns: t.dut });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /--force/);
      assert.deepEqual(await taps(t.dut), [], "no TAP left");
    } finally {
      await Deno.remove(obj);
    }
  });
});

Deno.test("inspect: the TAP is gone after SIGTERM and after SIGKILL (not persistent)", async () => {
  await withTopology(async (t) => {
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--mode", "inspect", "--steer", "all"]);
      try {
        await b.ready();
        assert.equal((await taps(t.dut)).length, 1, `a TAP while running (${signal})`);
        const [all, received] = await ping(t.peer, "10.0.0.1", 3);
        assert.ok(all, `pings answered (${received}/3)`);
        const st = await b.stop(signal);
        if (signal === "SIGTERM") assert.equal(st.code, 0, b.stderr);
        assert.deepEqual(await taps(t.dut), [], `no TAP left after ${signal}`);
        assert.equal(await xdpAttached(t.dut, t.dutIf), false, `no program left after ${signal}`);
      } finally {
        await b.stop("SIGKILL").catch(() => {});
      }
    }
  }, { dutIp: "10.0.0.1/24" });
});

/** A firewall in user space: ICMP echo requests dropped, everything else back to the kernel. */
const FIREWALL = `
export default {
  counters: ["icmp_dropped", "passed"],
  toKernel: true,
  burst(b, ctx) {
    for (let i = 0; i < b.length; i++) {
      const s = b.start(i), m = b.bytes;
      if (m[s + 12] === 8 && m[s + 13] === 0 && m[s + 23] === 1 && m[s + 34] === 8) {
        b.drop(i);
        ctx.counters[0]++;
      } else {
        b.toKernel(i);
        ctx.counters[1]++;
      }
    }
  },
};
`;

Deno.test("a handler file with toKernel: pings dropped in user space, TCP reaches the kernel", async () => {
  await withTopology(async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "bypassrt-fw-" });
    const server = startServer(t);
    await Deno.writeTextFile(`${dir}/fw.ts`, FIREWALL);
    const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--handler", `${dir}/fw.ts`]);
    try {
      await b.ready();
      const [, received] = await ping(t.peer, "10.0.0.1", 5);
      assert.equal(received, 0, "no echo request reached the kernel");
      const client = JSON.parse(
        await inNs(t.peer, "python3", "-c", CLIENT, String(TCP_PORT), "50000"),
      );
      assert.deepEqual(client, { sent: 50000, received: 50000, equal: true });
      const st = await b.stop("SIGINT");
      assert.equal(st.code, 0, b.stderr);
      const f = b.final();
      assert.equal(f.handler_counters.icmp_dropped, 5);
      assert.equal(f.total.app_dropped, 5);
      assert.equal(f.total.to_kernel, f.handler_counters.passed);
      assert.equal(f.total.rx_packets, f.total.to_kernel + 5);
    } finally {
      await b.stop("SIGKILL").catch(() => {});
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  }, { dutIp: "10.0.0.1/24" });
});

Deno.test("a handler file calling b.toKernel without declaring it: the error names the fix", async () => {
  await withTopology(async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "bypassrt-fw-" });
    try {
      await Deno.writeTextFile(
        `${dir}/h.ts`,
        FIREWALL.replace("toKernel: true,", ""),
      );
      const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--handler", `${dir}/h.ts`]);
      try {
        await b.ready();
        assert.deepEqual(await taps(t.dut), [], "no TAP for a handler that did not declare it");
        await ping(t.peer, "10.0.0.1", 2);
        const st = await b.stop("SIGINT");
        assert.equal(st.code, 0, b.stderr);
        assert.match(b.stderr, /declare `toKernel: true` in the handler's default export/);
        const f = b.final();
        assert.ok(f.total.handler_errors >= 1);
        assert.equal(f.total.to_kernel, 0);
        assert.equal(f.total.error_dropped + f.total.app_dropped, f.total.rx_packets);
      } finally {
        await b.stop("SIGKILL").catch(() => {});
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }, { dutIp: "10.0.0.1/24" });
});
