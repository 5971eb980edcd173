/**
 * The fast path end to end: real frames across a real veth between two namespaces of our own,
 * through our XDP program, the AF_XDP rings and the TypeScript loop, and back.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  argv,
  Bypassrt,
  echoUdp,
  inNs,
  pktioSpawn,
  run,
  sendUdp,
  serve,
  withTopology,
  xdpAttached,
} from "./_netns.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test(
  "respond: 200 pings answered from user space; the kernel does not own the IP",
  T,
  () =>
    withTopology(async (t) => {
      const addrs = await run("ip", "-n", t.dut, "-4", "-br", "addr", "show");
      ok(!addrs.includes("10.0.0.1"), `dut kernel must not own 10.0.0.1: ${addrs}`);
      const b = await serve(t, "--mode respond --ip 10.0.0.1", async () => {
        const out = await inNs(t.peer, "ping", ...argv("-c 200 -i 0.01 -W 2 10.0.0.1"));
        ok(/200 packets transmitted, 200 received/.test(out), out);
      });
      const f = b.final();
      // 200 echo requests plus at least one ARP request, all answered.
      ok(f.total.rx_packets >= 201, JSON.stringify(f.total));
      strictEqual(f.total.tx_packets, f.total.rx_packets - f.total.app_dropped);
      strictEqual(f.balanced, true, JSON.stringify(f.audits));
      strictEqual(await xdpAttached(t.dut, t.dutIf), false);
    }),
);

Deno.test(
  "l2fwd: 1000 random UDP frames come back byte-for-byte with MACs swapped",
  T,
  () =>
    withTopology(async (t) => {
      const b = await serve(t, "--mode l2fwd --steer udp:9000", () =>
        echoUdp(t, 1000, 9000, "--seed 7"));
      const f = b.final();
      strictEqual(f.total.rx_packets, 1000);
      strictEqual(f.total.tx_packets, 1000);
      strictEqual(f.program.redirected, 1000);
      strictEqual(f.balanced, true, JSON.stringify(f.audits));
      strictEqual(await xdpAttached(t.dut, t.dutIf), false);
    }),
);

Deno.test(
  "steer udp:4242: TCP to the dut kernel still works, only 4242 reaches user space",
  T,
  () =>
    withTopology(async (t) => {
      const b = await serve(t, "--mode rxdrop --steer udp:4242", async () => {
        // A TCP echo exchange with a listener in the dut namespace (kernel stack).
        const server = new Deno.Command("ip", {
          args: ["netns", "exec", t.dut, "python3", "-c", TCP_SERVER],
          stdout: "piped",
        }).spawn();
        await sleep(400);
        const reply = await inNs(t.peer, "python3", "-c", TCP_CLIENT);
        strictEqual(reply.trim(), "pong:hello-bypass");
        await server.status;
        await server.stdout.cancel();
        await sendUdp(t, 50, 4242);
        await sendUdp(t, 30, 5000);
        await sleep(300);
      });
      const f = b.final();
      strictEqual(f.total.rx_packets, 50);
      strictEqual(f.program.redirected, 50);
      ok(f.program.passed >= 30 + 6, `TCP + port-5000 frames pass: ${f.program.passed}`);
      strictEqual(f.balanced, true);
    }, { dutIp: "10.0.0.1/24" }),
);

Deno.test(
  "respond with --poll-ms: sleeps in poll() when idle, still answers every ping",
  T,
  () =>
    withTopology(async (t) => {
      const b = await serve(t, "--mode respond --ip 10.0.0.1 --poll-ms 5", async () => {
        await sleep(300); // idle: the loop is asleep in poll()
        const out = await inNs(t.peer, "ping", ...argv("-c 20 -i 0.05 -W 2 10.0.0.1"));
        ok(/20 packets transmitted, 20 received/.test(out), out);
      });
      const f = b.final();
      ok(f.total.rx_packets >= 21, JSON.stringify(f.total));
      strictEqual(f.balanced, true);
    }),
);

Deno.test("rxdrop counts exactly N of N frames", T, () =>
  withTopology(async (t) => {
    const b = await serve(t, "--mode rxdrop --steer udp:9000", async () => {
      await sendUdp(t, 5000, 9000, "--gap-us 200");
      await sleep(500);
    });
    const f = b.final();
    strictEqual(f.total.rx_packets, 5000);
    strictEqual(f.program.redirected, 5000);
    strictEqual(f.total.xdp_statistics.rx_dropped, 0);
    strictEqual(f.total.idle_polls, 0, "busy-polls by default");
    strictEqual(f.balanced, true);
  }));

Deno.test(
  "txonly from the peer: a capture on the dut sees exactly the frames sent",
  T,
  () =>
    withTopology(async (t) => {
      const cap = pktioSpawn(
        t.dut,
        "capture",
        ...argv(
          `--iface ${t.dutIf} --port 4242 --count 2000 --timeout 20 --linger 0.5`,
        ),
      );
      const reader = cap.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const first = await reader.read(); // {"listening": true}
      ok(first.value?.includes("listening"));
      const b = new Bypassrt(
        t.peer,
        argv(
          `--iface ${t.peerIf} --mode txonly --count 2000 --size 128 --dst-mac ${t.dutMac}`,
        ),
      );
      const st = await b.wait();
      strictEqual(st.code, 0, b.stderr);
      let rest = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        rest += value;
      }
      await cap.status;
      const got = JSON.parse(rest.trim().split("\n").pop()!);
      const f = b.final();
      strictEqual(f.total.tx_packets, 2000);
      strictEqual(got.captured, 2000);
      deepStrictEqual(got.sizes, { "128": 2000 });
      strictEqual(f.balanced, true);
      strictEqual(await xdpAttached(t.peer, t.peerIf), false);
    }),
);

Deno.test(
  "two queues, one Worker each: per-queue counts are exact",
  T,
  () =>
    withTopology(async (t) => {
      const b = await serve(t, "--mode rxdrop --queue 0,1 --steer udp:9000", async () => {
        // A veth delivers a frame on the RX queue numbered like the TX queue it was sent on. XPS
        // maps CPU 0 to TX queue 0 and CPU 1 to TX queue 1; each sender is pinned to one CPU.
        for (const [txq, mask] of [[0, "1"], [1, "2"]]) {
          const path = `/sys/class/net/${t.peerIf}/queues/tx-${txq}/xps_cpus`;
          await inNs(t.peer, "sh", "-c", `echo ${mask} > ${path}`);
        }
        for (const [cpu, count] of [["0", "1000"], ["1", "700"]]) {
          await inNs(
            t.peer,
            "taskset",
            "-c",
            cpu,
            "python3",
            PKTIO_PATH,
            "send",
            ...argv(
              `--iface ${t.peerIf} --dst-mac ${t.dutMac} --count ${count} --port 9000`,
            ),
          );
        }
        await sleep(300);
      });
      const f = b.final() as unknown as {
        queues: { queue: number; rx_packets: number }[];
        audits: { queue: number; balanced: boolean }[];
      };
      deepStrictEqual(f.queues.map((q) => [q.queue, q.rx_packets]), [[0, 1000], [1, 700]]);
      deepStrictEqual(f.audits.map((a) => [a.queue, a.balanced]), [[0, true], [1, true]]);
    }, { queues: 2 }),
);

const PKTIO_PATH = new URL("../../testing/pktio.py", import.meta.url).pathname;

const TCP_SERVER = `
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.0.0.1", 7777)); s.listen(1); s.settimeout(10)
c, _ = s.accept(); d = c.recv(100); c.sendall(b"pong:" + d); c.close()
`;
const TCP_CLIENT = `
import socket
c = socket.create_connection(("10.0.0.1", 7777), timeout=5)
c.sendall(b"hello-bypass"); print(c.recv(100).decode()); c.close()
`;
