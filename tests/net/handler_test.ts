/**
 * Handlers as a user meets them: a handler file written outside the repository from the contract
 * alone, run with --handler on real frames; its counters in --json, the final object and the
 * live table; SIGHUP reloads under traffic with nothing lost; a reload that fails leaves the old
 * handler running; a throwing handler is counted (or, strict, stops the run); bad handler input
 * is refused with one line before anything is attached.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  argv,
  Bypassrt,
  CLI,
  cli,
  pktio,
  run,
  type Topology,
  withTopology,
  xdpAttached,
} from "./_netns.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A handler written from the contract alone (no import): UDP/IPv4 to `port` comes back with the
 * MACs swapped and counts as `name`; every other frame is dropped and counted as `other`.
 */
function echoHandler(o: { counters: string[]; name: string; port?: number; extra?: string }) {
  const port = o.port ?? 9000;
  return `export default {
  counters: ${JSON.stringify(o.counters)},
  burst(b, ctx) {
    const u = b.bytes, c = ctx.counters;
    const hit = ${o.counters.indexOf(o.name)}, other = ${o.counters.indexOf("other")};
    for (let i = 0; i < b.length; i++) {
      const s = b.start(i);
      const udp = b.size(i) >= 42 && u[s + 12] === 0x08 && u[s + 13] === 0x00 && u[s + 23] === 17;
      const ihl = (u[s + 14] & 15) * 4;
      if (udp && b.view.getUint16(s + 14 + ihl + 2) === ${port}) {
        for (let j = 0; j < 6; j++) {
          const t = u[s + j];
          u[s + j] = u[s + 6 + j];
          u[s + 6 + j] = t;
        }
        c[hit]++;
        ${o.extra ?? ""}
        b.send(i);
      } else {
        if (other >= 0) c[other]++;
        b.drop(i);
      }
    }
  },
};
`;
}

/** Write `text` as a handler file in a fresh directory outside the repository. */
async function handlerFile(text: string, name = "handler.ts"): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "bpt-handler-" });
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text);
  return path;
}

async function removeFile(path: string): Promise<void> {
  await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true }).catch(() => {});
}

/** Send `count` UDP frames to port 9000 and check each comes back byte-exact, MACs swapped. */
async function echo(t: Topology, count: number, extra = ""): Promise<void> {
  const r = await pktio(
    t.peer,
    "echo",
    ...argv(`--iface ${t.peerIf} --dst-mac ${t.dutMac} --count ${count} --port 9000 ${extra}`),
  );
  deepStrictEqual(r, {
    sent: count,
    received: count,
    matched: count,
    mismatched: 0,
    duplicates: 0,
    unexpected: 0,
  });
}

type Line = {
  final?: boolean;
  handler_counters: Record<string, number>;
  queues: { handler_counters: Record<string, number> }[];
  total: Record<string, number>;
};

Deno.test(
  "a handler file from outside the repository: byte-exact answers; counters in --json, final object and table",
  T,
  () =>
    withTopology(async (t) => {
      const file = await handlerFile(
        echoHandler({ counters: ["echoed", "other"], name: "echoed" }),
      );
      try {
        const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--handler", file]);
        try {
          await b.ready();
          await echo(t, 300, "--seed 11");
          await sleep(1300); // one more interval line with the counts
        } finally {
          strictEqual((await b.stop()).code, 0, b.stderr);
        }
        const f = b.final();
        strictEqual(f.mode, "handler");
        strictEqual(f.handler, file);
        deepStrictEqual(f.handler_counters, { echoed: 300, other: 0 });
        strictEqual(f.total.rx_packets, 300);
        strictEqual(f.total.tx_packets, 300);
        strictEqual(f.total.unhandled, 0);
        strictEqual(f.balanced, true, JSON.stringify(f.audits));
        // Every interval line carries the counters, per queue and summed.
        const lines = b.lines as unknown as Line[];
        ok(lines.every((l) => "echoed" in l.handler_counters), "every line has the counters");
        const last = lines.filter((l) => !l.final).at(-1)!;
        deepStrictEqual(last.queues[0].handler_counters, { echoed: 300, other: 0 });
        deepStrictEqual(last.handler_counters, { echoed: 300, other: 0 });
        strictEqual(await xdpAttached(t.dut, t.dutIf), false);

        // The live table (a terminal, through tmux) shows them by name.
        const session = `bph${Deno.pid}`;
        const cmd = `ip netns exec ${t.dut} ${Deno.execPath()} run -A ${CLI} --iface ${t.dutIf} ` +
          `--handler ${file} --duration 8`;
        await run("tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "40", cmd);
        try {
          const screen = () => run("tmux", "capture-pane", "-p", "-t", session);
          const until = async (re: RegExp) => {
            for (let i = 0; i < 80 && !re.test(await screen()); i++) await sleep(100);
            ok(re.test(await screen()), `${re}:\n${await screen()}`);
          };
          await until(/handler .*handler\.ts: echoed=0\s+other=0/);
          await echo(t, 50, "--seed 12");
          await until(/handler .*handler\.ts: echoed=50\s+other=0/);
        } finally {
          await run("tmux", "kill-session", "-t", session).catch(() => {});
        }
      } finally {
        await removeFile(file);
      }
    }),
);

Deno.test(
  "SIGHUP under traffic: the new handler takes over between two bursts, nothing lost, counters kept by name",
  T,
  () =>
    withTopology(async (t) => {
      const v1 = echoHandler({ counters: ["shared", "v1"], name: "shared", extra: "c[1]++;" });
      const v2 = echoHandler({ counters: ["v2", "shared"], name: "shared", extra: "c[0]++;" });
      const file = await handlerFile(v1);
      try {
        const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--handler", file]);
        const N = 4000;
        try {
          await b.ready();
          // Half the frames in 40 batches of 50, 40 ms apart (about 1.6 s), reloaded in their
          // middle; the reload (type-check, import, init) may outlast them on a loaded machine, so
          // the other half goes once it is done: each generation surely handles some frames.
          const traffic = echo(t, N / 2, "--seed 21 --gap-us 40000 --timeout 20");
          await sleep(800);
          await Deno.writeTextFile(file, v2);
          b.child.kill("SIGHUP");
          await traffic; // every frame came back, byte-exact
          for (let i = 0; i < 300 && !/handler reloaded on queue 0/.test(b.stderr); i++) {
            await sleep(100);
          }
          await echo(t, N / 2, "--seed 22 --gap-us 40000 --timeout 20");
          await sleep(300);
        } finally {
          strictEqual((await b.stop()).code, 0, b.stderr);
        }
        ok(/handler reloaded on queue 0/.test(b.stderr), b.stderr);
        const f = b.final();
        const hc = f.handler_counters;
        strictEqual(
          hc.shared,
          N,
          `"shared" kept counting across the reload: ${JSON.stringify(hc)}`,
        );
        ok(hc.v1 > 0 && hc.v2 > 0, `both generations handled frames: ${JSON.stringify(hc)}`);
        strictEqual(hc.v1 + hc.v2, N, "each frame was handled by exactly one generation");
        strictEqual(f.total.handler_reloads, 1);
        strictEqual(f.total.rx_packets, N);
        strictEqual(f.total.tx_packets, N);
        strictEqual(f.total.unhandled + f.total.error_dropped + f.total.app_dropped, 0);
        strictEqual(f.balanced, true, JSON.stringify(f.audits));
      } finally {
        await removeFile(file);
      }
    }),
);

Deno.test(
  "a reload that fails (syntax, types, contract, init) leaves the old handler running; one line each",
  T,
  () =>
    withTopology(async (t) => {
      const good = echoHandler({ counters: ["echoed"], name: "echoed" });
      const file = await handlerFile(good);
      const broken: [string, RegExp][] = [
        ["export default { burst(b, ctx) { for (;; }", /failed to load|does not type-check/],
        [
          good.replace("c[hit]++;", 'const n: number = "x"; c[hit] += n;'),
          /does not type-check: .*string.*number/,
        ],
        ["export default { counters: [] };", /no burst\(b, ctx\) function/],
        [
          good.replace("counters:", "init() { throw new Error('no config'); },\n  counters:"),
          /init threw: no config/,
        ],
      ];
      try {
        const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--handler", file]);
        try {
          await b.ready();
          await echo(t, 20, "--seed 31");
          for (const [text, re] of broken) {
            const before = b.stderr.split("\n").length;
            await Deno.writeTextFile(file, text);
            b.child.kill("SIGHUP");
            for (let i = 0; i < 100 && !re.test(b.stderr); i++) await sleep(100);
            const added = b.stderr.split("\n").slice(before - 1).filter((l) => l.trim());
            strictEqual(added.length, 1, `one line for ${re}: ${JSON.stringify(added)}`);
            ok(/^bypassrt: handler reload failed/.test(added[0]) && re.test(added[0]), added[0]);
            await echo(t, 20, "--seed 32"); // the old handler still answers
          }
        } finally {
          strictEqual((await b.stop()).code, 0, b.stderr);
        }
        const f = b.final();
        deepStrictEqual(f.handler_counters, { echoed: 20 * (broken.length + 1) });
        strictEqual(f.total.handler_reloads, 0);
        strictEqual(f.balanced, true);
      } finally {
        await removeFile(file);
      }
    }),
);

Deno.test(
  "a handler that throws is counted and goes on; --handler-strict stops the run with exit 1",
  T,
  () =>
    withTopology(async (t) => {
      // Sends the first frame of each burst, then throws: the rest of the burst is undecided.
      const file = await handlerFile(`export default {
  counters: ["bursts"],
  burst(b, ctx) {
    ctx.counters[0]++;
    b.send(0);
    if (b.length > 1) throw new Error("boom in burst");
  },
};
`);
      try {
        const b = new Bypassrt(t.dut, ["--iface", t.dutIf, "--handler", file, "--burst", "8"]);
        try {
          await b.ready();
          // 400 frames in batches: many bursts of more than one frame, and some of one.
          await pktio(
            t.peer,
            "send",
            ...argv(`--iface ${t.peerIf} --dst-mac ${t.dutMac} --count 400 --port 9000`),
          );
          await sleep(500);
        } finally {
          strictEqual((await b.stop()).code, 0, "not fatal without --handler-strict");
        }
        const f = b.final(), tot = f.total;
        const bursts = f.handler_counters.bursts;
        ok(tot.handler_errors > 0 && tot.handler_errors <= bursts, JSON.stringify(tot));
        strictEqual(tot.rx_packets, 400);
        // Frame 0 of every burst was sent; the rest of a burst that threw was dropped as such.
        strictEqual(tot.tx_packets + tot.tx_ring_full, bursts);
        strictEqual(tot.error_dropped, 400 - bursts);
        strictEqual(tot.unhandled, 0);
        strictEqual(f.balanced, true);
        // Reported with its stack, at most once a second.
        const reports = b.stderr.split("\n").filter((l) => l.includes("handler threw on queue 0"));
        ok(reports.length >= 1 && reports.length <= 3, b.stderr);
        ok(b.stderr.includes("boom in burst") && b.stderr.includes(file), "stack names the file");

        // Strict: the first throw ends the run.
        const s = new Bypassrt(t.dut, [
          "--iface",
          t.dutIf,
          "--handler",
          file,
          "--burst",
          "8",
          "--handler-strict",
        ]);
        await s.ready();
        await pktio(
          t.peer,
          "send",
          ...argv(`--iface ${t.peerIf} --dst-mac ${t.dutMac} --count 400 --port 9000`),
        );
        const st = await Promise.race([s.wait(), sleep(10_000).then(() => null)]);
        ok(st, "stopped by itself");
        if (!st) await s.stop("SIGKILL");
        strictEqual(st!.code, 1, s.stderr);
        ok(/the handler threw \(strict\): stopped/.test(s.stderr), s.stderr);
        const sf = s.final();
        strictEqual(sf.total.handler_errors, 1);
        strictEqual(sf.balanced, true);
        strictEqual(await xdpAttached(t.dut, t.dutIf), false);
      } finally {
        await removeFile(file);
      }
    }),
);

Deno.test(
  "bad handler input: one line, exit 1, nothing attached",
  T,
  () =>
    withTopology(async (t) => {
      const notHandler = await handlerFile("export const x = 1;\n");
      const badCounters = await handlerFile(
        'export default { counters: ["a", "a"], burst(b) {} };\n',
      );
      const mistyped = await handlerFile(
        'export default { burst(b, ctx) { const n: number = "x"; ctx.counters[0] += n; } };\n',
      );
      try {
        const i = ["--iface", t.dutIf];
        const cases: [string[], RegExp][] = [
          [[...i, "--handler", "/nonexistent/h.ts"], /--handler \/nonexistent\/h.ts: no such file/],
          [[...i, "--handler", notHandler], /no default export object/],
          [[...i, "--handler", badCounters], /counter name "a" appears twice/],
          [[...i, "--handler", notHandler, "--mode", "l2fwd"], /--mode and --handler exclude/],
          [[...i, "--handler", notHandler, "--handler-options", "{x"], /not valid JSON/],
          [[...i, "--handler", notHandler, "--handler-options", "[1]"], /must be a JSON object/],
          [[...i, "--mode", "l2fwd", "--handler-options", "{}"], /goes with --handler/],
        ];
        for (const [args, re] of cases) {
          const r = await cli([...args, "--duration", "1"], { ns: t.dut });
          strictEqual(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
          const lines = r.stderr.trim().split("\n");
          strictEqual(lines.length, 1, `${args.join(" ")}: ${r.stderr}`);
          ok(re.test(lines[0]) && lines[0].startsWith("bypassrt: error:"), lines[0]);
          strictEqual(await xdpAttached(t.dut, t.dutIf), false);
        }
        // A type error is refused (untyped parameters are fine: implicit any is allowed), and
        // --no-handler-check skips the check.
        const r = await cli([...i, "--handler", mistyped, "--duration", "1"], { ns: t.dut });
        strictEqual(r.code, 1, r.stderr);
        strictEqual(r.stderr.trim().split("\n").length, 1, r.stderr);
        ok(/does not type-check: .*string.*number/.test(r.stderr), r.stderr);
        const r2 = await cli(
          [...i, "--handler", mistyped, "--no-handler-check", "--duration", "1"],
          { ns: t.dut },
        );
        strictEqual(r2.code, 0, r2.stderr);
      } finally {
        for (const f of [notHandler, badCounters, mistyped]) await removeFile(f);
      }
    }),
);
