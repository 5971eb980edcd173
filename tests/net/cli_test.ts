/**
 * The bypassrt tool as a user meets it: help, errors, setup/teardown, the three output forms.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Bypassrt, CLI, cli as runCli, inNs, run, sendUdp, serve, withTopology } from "./_netns.ts";
import { BYPASSRT_V8_FLAGS } from "../../engine/v8_flags.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const README = new URL("../../README.md", import.meta.url).pathname;

function cli(args: string[], env: Record<string, string> = {}, ns?: string) {
  return runCli(args, { env, ns });
}

Deno.test("--help of every command; every run option is documented in the README", async () => {
  const top = await cli(["--help"]);
  strictEqual(top.code, 0);
  for (const c of ["run", "setup-veth", "teardown-veth", "status"]) ok(top.stdout.includes(c), c);
  const readme = await Deno.readTextFile(README);
  for (const c of ["run", "setup-veth", "teardown-veth", "status"]) {
    const h = await cli([c, "--help"]);
    strictEqual(h.code, 0, h.stderr);
    ok(h.stdout.startsWith(`Usage: bypassrt ${c}`), h.stdout);
    const flags = [...h.stdout.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1])
      .filter((f) => f !== "--help");
    ok(flags.length > 0);
    for (const f of flags) ok(readme.includes(f), `${c} ${f} is not in the README`);
  }
});

Deno.test("--iface nosuchdev: one line naming the interface, exit 1, no stack trace", async () => {
  const r = await cli(["--iface", "nosuchdev0"], { RUST_BACKTRACE: "1" });
  strictEqual(r.code, 1);
  const lines = r.stderr.trim().split("\n");
  strictEqual(lines.length, 1, r.stderr);
  ok(lines[0].includes("nosuchdev0") && lines[0].startsWith("bypassrt: error:"), lines[0]);
  strictEqual(r.stdout, "");
});

Deno.test("the README's `deno task start` works, with or without a `--`, quietly", async () => {
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const env = Deno.env.toObject();
  delete env.RUST_BACKTRACE;
  for (const dashes of [[], ["--"]]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--config", config, "start", ...dashes, "--iface", "nosuchdev0"],
      cwd: "/",
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    strictEqual(out.code, 1, stderr);
    // Without the task runner's own "Task start ..." echo (and Deno's "Download ..." lines, which
    // -q suppresses on a fresh cache), one line: the run command's error, not a usage error.
    const lines = stripAnsi(stderr).split("\n")
      .filter((l) => l.trim() !== "" && !l.startsWith("Task ") && !l.startsWith("Download "));
    deepStrictEqual(lines, [
      "bypassrt: error: interface nosuchdev0 not found: check the name with 'ip link'",
    ], `${dashes.join(" ")}: ${stderr}`);
  }
  const tasks = JSON.parse(await Deno.readTextFile(config)).tasks;
  // start runs the engine, with byPassRT's V8 flags (engine/v8_flags.ts); the others do not.
  ok(
    tasks.start.startsWith(`deno run -A -q --v8-flags=${BYPASSRT_V8_FLAGS} cli/main.ts`),
    `start: ${tasks.start}`,
  );
  for (const t of ["setup-veth", "teardown-veth"]) {
    ok(tasks[t].startsWith("deno run -A -q cli/main.ts"), `${t}: ${tasks[t]}`);
  }
});

function stripAnsi(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

Deno.test("bad usage: unknown mode and option are one line, exit 2", async () => {
  for (const args of [["--iface", "lo", "--mode", "bogus"], ["--iface", "lo", "--nope"]]) {
    const r = await cli(args);
    strictEqual(r.code, 2, r.stderr);
    strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

Deno.test("setup-veth twice succeeds; teardown-veth removes everything it made", T, async () => {
  const tag = `${Deno.pid.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const ns = `bpt-sv${tag}-d,bpt-sv${tag}-p`;
  const [dut, peer] = ns.split(",");
  const dev = `bsd${tag}`.slice(0, 15), peerDev = `bsp${tag}`.slice(0, 15);
  try {
    for (let i = 0; i < 2; i++) {
      const r = await cli(["setup-veth", "--dev", dev, "--peer", peerDev, "--netns", ns]);
      strictEqual(r.code, 0, r.stderr);
    }
    ok((await run("ip", "-n", dut, "link", "show", dev)).includes("UP"));
    const addr = await run("ip", "-n", peer, "-br", "addr", "show", "dev", peerDev);
    strictEqual(addr.split("10.0.0.2/24").length, 2, `one address, not two: ${addr}`);
    const gro = await inNs(dut, "ethtool", "-k", dev);
    ok(/generic-receive-offload: off/.test(gro), gro);
    const r = await cli(["teardown-veth", "--dev", dev, "--netns", ns]);
    strictEqual(r.code, 0, r.stderr);
    const list = await run("ip", "netns", "list");
    ok(!list.includes(dut) && !list.includes(peer), list);
    ok(!(await run("ip", "link")).includes(peerDev));
  } finally {
    await run("ip", "netns", "del", dut).catch(() => {});
    await run("ip", "netns", "del", peer).catch(() => {});
  }
});

Deno.test(
  "--json is valid NDJSON; piped output is plain lines",
  T,
  () =>
    withTopology(async (t) => {
      const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--mode", "rxdrop", "--duration", "2"]);
      const st = await b.wait();
      strictEqual(st.code, 0, b.stderr);
      ok(b.lines.length >= 3, `lines: ${b.lines.length}`);
      strictEqual(b.lines.filter((l) => l.final === true).length, 1);
      strictEqual(b.lines[b.lines.length - 1].final, true);
      const plain = await cli(
        ["--iface", t.dutIf, "--mode", "rxdrop", "--duration", "2", "--interval", "0.5"],
        {},
        t.dut,
      );
      strictEqual(plain.code, 0, plain.stderr);
      const lines = plain.stdout.trim().split("\n");
      ok(lines.length >= 3, plain.stdout);
      for (const l of lines) ok(/^t=\d+\.\ds rx=\d+ tx=\d+ /.test(l), l);
      ok(!plain.stdout.includes("\x1b["), "no escape codes when piped");
      ok(plain.stderr.includes("frame audit q0: balanced"), plain.stderr);
    }),
);

Deno.test(
  "live table in a terminal (tmux): redrawn in place with changing counters",
  T,
  () =>
    withTopology(async (t) => {
      const session = `bpt${Deno.pid}`;
      const cmd = `ip netns exec ${t.dut} ${Deno.execPath()} run -A ${CLI} --iface ${t.dutIf} ` +
        `--mode rxdrop --steer udp:9000 --duration 8`;
      await run("tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "40", cmd);
      try {
        const screen = () => run("tmux", "capture-pane", "-p", "-t", session);
        await waitFor(async () => (await screen()).includes("byPassRT  rxdrop"), 8000);
        const s1 = await screen();
        await sendUdp(t, 300, 9000);
        await new Promise((r) => setTimeout(r, 2200));
        const s2 = await screen();
        // Same layout at the same place (redrawn, not scrolled), and the RX count changed to 300.
        strictEqual(s1.split("\n")[0].slice(0, 30), s2.split("\n")[0].slice(0, 30));
        strictEqual(count(s2, "byPassRT  rxdrop"), 1, s2);
        const rx = (s: string) => Number(/│ total\s*│\s*([\d,]+)/.exec(s)?.[1].replaceAll(",", ""));
        deepStrictEqual([rx(s1), rx(s2)], [0, 300], `${s1}\n----\n${s2}`);
      } finally {
        await run("tmux", "kill-session", "-t", session).catch(() => {});
      }
    }),
);

Deno.test(
  "embedded native files: the copy-out path works and leaves nothing in /tmp",
  T,
  () =>
    withTopology(async (t) => {
      const before = [...Deno.readDirSync("/tmp")].filter((e) => e.name.startsWith("bypassrt-"));
      const r = await cli(
        ["--iface", t.dutIf, "--mode", "rxdrop", "--duration", "1", "--json"],
        { BYPASSRT_MATERIALIZE: "1" },
        t.dut,
      );
      strictEqual(r.code, 0, r.stderr);
      ok(r.stdout.includes('"final":true'));
      const after = [...Deno.readDirSync("/tmp")].filter((e) => e.name.startsWith("bypassrt-"));
      strictEqual(after.length, before.length);
    }),
);

function count(s: string, sub: string): number {
  return s.split(sub).length - 1;
}

async function waitFor(f: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("timed out");
}

Deno.test(
  "status: shows our program, its mode, bpf_link and holder; nothing after exit",
  T,
  () =>
    withTopology(async (t) => {
      await serve(t, "--mode rxdrop --xdp-mode skb", async () => {
        const r = await cli(["status", "--iface", t.dutIf, "--json"], {}, t.dut);
        strictEqual(r.code, 0, r.stderr);
        const s = JSON.parse(r.stdout);
        strictEqual(s.attached, true);
        strictEqual(s.prog_name, "bypass_steer");
        strictEqual(s.ours, true);
        strictEqual(s.mode, "skb");
        ok(Number(s.link_id) > 0, r.stdout);
        deepStrictEqual([...s.maps].sort(), [
          "block_counts",
          "block_v4",
          "block_v6",
          "config",
          "counters",
          "udp_ports",
          // libbpf's map for the program's `const volatile` settings (the clock's stamp flag).
          "xdp_stee.rodata",
          "xsks_map",
        ]);
        strictEqual(s.held_by.length, 1, r.stdout);
        const text = await cli(["status", "--iface", t.dutIf], {}, t.dut);
        ok(text.stdout.includes("attached in skb mode via bpf_link"), text.stdout);
      });
      const after = await cli(["status", "--iface", t.dutIf], {}, t.dut);
      strictEqual(after.stdout.trim(), `${t.dutIf}: no XDP program attached`);
    }),
);

/** The CPUs of a Linux CPU list such as "0,2-3" (Cpus_allowed_list, cpu/online). */
function cpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`not a CPU list: "${text}"`);
    const lo = Number(m[1]), hi = Number(m[2] ?? m[1]);
    for (let c = lo; c <= hi; c++) cpus.push(c);
  }
  return cpus.sort((a, b) => a - b);
}

Deno.test("cpuList parses the kernel's CPU list syntax", () => {
  deepStrictEqual(cpuList("0"), [0]);
  deepStrictEqual(cpuList("0-1\n"), [0, 1]);
  deepStrictEqual(cpuList("0,2-3,7"), [0, 2, 3, 7]);
  deepStrictEqual(cpuList("4-5,1"), [1, 4, 5]);
});

Deno.test(
  "--cpu pins the polling Worker to exactly that CPU and every other thread to all the others",
  T,
  () =>
    withTopology(async (t) => {
      const online = cpuList(await Deno.readTextFile("/sys/devices/system/cpu/online"));
      if (!online.includes(1) || online.length < 2) {
        throw new Error(`this test needs CPU 1 and another CPU online (online: ${online})`);
      }
      const others = online.filter((c) => c !== 1);
      await serve(t, "--mode rxdrop --cpu 1", async () => {
        const pid = Number(
          (await run("pgrep", "-f", "--", `--iface ${t.dutIf} --mode rxdrop --cpu 1`)).trim().split(
            "\n",
          )[0],
        );
        const threads = [...Deno.readDirSync(`/proc/${pid}/task`)].map((e) => {
          const dir = `/proc/${pid}/task/${e.name}`;
          const comm = Deno.readTextFileSync(`${dir}/comm`).trim();
          const allowed = /Cpus_allowed_list:\s*(\S+)/.exec(
            Deno.readTextFileSync(`${dir}/status`),
          )!;
          return { tid: e.name, comm, allowed: cpuList(allowed[1]) };
        });
        const workers = threads.filter((th) => th.comm.startsWith("worker-"));
        strictEqual(workers.length, 1, JSON.stringify(threads));
        deepStrictEqual(workers[0].allowed, [1], JSON.stringify(workers[0]));
        const rest = threads.filter((th) => !th.comm.startsWith("worker-"));
        ok(rest.length > 0, JSON.stringify(threads));
        for (const th of rest) deepStrictEqual(th.allowed, others, JSON.stringify(th));
      });
    }),
);
