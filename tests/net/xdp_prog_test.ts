/**
 * `--xdp-prog`: a user's own XDP object instead of ours, on real veths. The fixture
 * (tests/net/fixtures/xdp_udp_subset.c) redirects UDP to ports 5000-5009 into `xsks_map`:
 * exactly those frames come back from l2fwd, byte-exact with the MACs swapped, the others are
 * not echoed; the program counters are n/a (null), never zeros; the object is gone after exit.
 * Each bad object (no xsks_map, wrong map type, verifier failure, two programs and no section)
 * gets one line, exit 1, nothing attached; flags that need our program are refused.
 *
 * Needs root, clang, bpftool, promtool, chromium.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import {
  argv,
  Bypassrt,
  cli,
  inNs,
  pktio,
  type Topology,
  withTopology,
  xdpAttached,
} from "./_netns.ts";
import { promtool } from "../../testing/promtool.ts";
import { chromiumIn } from "./_chromium.ts";
import { compileBpf, FIXTURES } from "./_xdp.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const FETCH = "import sys, urllib.request\n" +
  "sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())";

/** Fixtures built once per test, removed after it. */
async function withFixtures<R>(
  names: string[],
  fn: (objs: Record<string, string>) => Promise<R>,
): Promise<R> {
  const dir = await Deno.makeTempDir({ prefix: "bypassrt-xdp-prog-" });
  try {
    const objs: Record<string, string> = {};
    for (const n of names) {
      objs[n] = `${dir}/${n}.o`;
      await compileBpf(`${FIXTURES}${n}.c`, objs[n]);
    }
    return await fn(objs);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** pktio echo of `count` frames to UDP `port`: sent, received, matched (byte-exact, swapped). */
function echo(t: Topology, count: number, port: number, timeout: number, seed: number) {
  return pktio(
    t.peer,
    "echo",
    ...argv(
      `--iface ${t.peerIf} --dst-mac ${t.dutMac} --count ${count} --port ${port} ` +
        `--seed ${seed} --timeout ${timeout}`,
    ),
  );
}

/** ids of the maps program `id` uses (bpftool). */
async function mapIds(ns: string, id: number): Promise<number[]> {
  const p = JSON.parse(await inNs(ns, "bpftool", "-j", "prog", "show", "id", String(id)));
  return p.map_ids ?? [];
}

/** True while a BPF map with this id exists. */
async function mapExists(id: number): Promise<boolean> {
  const out = await new Deno.Command("bpftool", {
    args: ["map", "show", "id", String(id)],
    stdout: "null",
    stderr: "null",
  }).output();
  return out.code === 0;
}

/** Poll `exists` until it is false (true), or give up after 10 s (false). */
async function gone(exists: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (!(await exists())) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

Deno.test(
  "--xdp-prog with l2fwd: exactly the UDP subset the user's program redirects comes back",
  T,
  () =>
    withFixtures(["xdp_udp_subset"], ({ xdp_udp_subset: obj }) =>
      withTopology(async (t) => {
        const b = new Bypassrt(t.dut, [
          "--iface",
          t.dutIf,
          "--mode",
          "l2fwd",
          "--xdp-prog",
          obj,
          "--metrics",
          "127.0.0.1:0",
        ]);
        let maps: number[] = [];
        let progId = 0;
        try {
          await b.ready();
          const first = b.lines[0] as {
            program: unknown;
            blocklist: unknown;
            user_program: { file: string; section: string; name: string; id: number };
          };
          strictEqual(first.program, null, "program counters are n/a, not zeros");
          strictEqual(first.blocklist, null);
          deepStrictEqual(
            { ...first.user_program, id: 0 },
            { file: obj, section: "xdp", name: "udp_subset", id: 0 },
          );
          progId = first.user_program.id;

          // `status` reads the foreign program: attached, its name, its xsks_map.
          const st = await cli(["status", "--iface", t.dutIf, "--json"], { ns: t.dut });
          strictEqual(st.code, 0, st.stderr);
          const status = JSON.parse(st.stdout);
          strictEqual(status.prog_id, progId);
          strictEqual(status.prog_name, "udp_subset");
          strictEqual(status.ours, false);
          ok(status.maps.includes("xsks_map"), st.stdout);
          maps = await mapIds(t.dut, progId);
          ok(maps.length > 0);

          // In the subset (both ends of the range): every frame back, byte-exact, MACs swapped.
          const a = await echo(t, 150, 5000, 10, 1);
          const z = await echo(t, 150, 5009, 10, 2);
          for (const r of [a, z]) {
            deepStrictEqual(
              { sent: r.sent, received: r.received, matched: r.matched },
              { sent: 150, received: 150, matched: 150 },
              JSON.stringify(r),
            );
            strictEqual(r.mismatched + r.duplicates + r.unexpected, 0, JSON.stringify(r));
          }
          // Outside it (just below and just above): the kernel gets them, nothing is echoed.
          for (const [port, seed] of [[4999, 3], [5010, 4], [53, 5]]) {
            const r = await echo(t, 60, port, 1, seed);
            deepStrictEqual({ sent: r.sent, received: r.received }, { sent: 60, received: 0 });
          }

          // /metrics: valid exposition, no xdp_program series, no blocklist series.
          const base = /metrics on (http:\/\/\S+\/)metrics/.exec(b.stderr)?.[1];
          ok(base, b.stderr);
          const text = await inNs(t.dut, "python3", "-c", FETCH, `${base}metrics`);
          const check = await promtool(text);
          strictEqual(check.code, 0, check.out);
          ok(!text.includes("bypassrt_xdp_program_"), "no program series");
          ok(!text.includes("bypassrt_blocklist_"), "no blocklist series");
          ok(/^bypassrt_rx_packets_total\{[^}]*\} 300$/m.test(text), text);

          // The live page: the program's table says n/a and has no figure of ours.
          const dir = await Deno.makeTempDir({ prefix: "bypassrt-xdp-prog-page-" });
          const browser = await chromiumIn(t.dut, dir);
          try {
            const page = await browser.newPage();
            await page.goto(base);
            await page.waitForFunction(
              `document.querySelector("#program")?.textContent.includes("n/a")`,
              { timeout: 30_000 },
            );
            const figures = await page.evaluate(
              `[...document.querySelectorAll("[data-metric^='program.'], [data-metric^='blocklist.']")].length`,
            );
            strictEqual(figures, 0);
            ok(
              ((await page.evaluate(`document.querySelector("#program").textContent`)) as string)
                .includes("the XDP program is yours (--xdp-prog)"),
            );
          } finally {
            await browser.close();
            await Deno.remove(dir, { recursive: true });
          }
        } finally {
          const st = await b.stop("SIGINT");
          strictEqual(st.code, 0, b.stderr);
        }
        const f = b.final();
        strictEqual(f.total.rx_packets, 300, "rx == the frames in the subset, exactly");
        strictEqual(f.total.tx_packets, 300);
        strictEqual(f.program, null);
        // Your program does not stamp frames: the clock is "not available", never zeros.
        const latency = (f as unknown as { latency: { enabled: boolean; reason: string } }).latency;
        strictEqual(latency.enabled, false);
        ok(latency.reason.startsWith("not available"), latency.reason);
        strictEqual(f.balanced, true);
        // After exit: nothing attached, and the object (xsks_map with it) is unloaded.
        strictEqual(await xdpAttached(t.dut, t.dutIf), false);
        // The kernel frees a program's maps after an RCU grace period and a deferred work item:
        // wait for that (bounded), a map that stays is a leak.
        for (const id of maps) ok(await gone(() => mapExists(id)), `map ${id} still exists`);
      })),
);

Deno.test(
  "--xdp-prog: a bad object gets one line naming the problem, exit 1, nothing attached",
  T,
  () =>
    withFixtures(
      [
        "xdp_no_xsks_map",
        "xdp_wrong_map_type",
        "xdp_unverifiable",
        "xdp_two_programs",
        "xdp_one_entry",
      ],
      (objs) =>
        withTopology(async (t) => {
          const cases: [string[], RegExp][] = [
            [["--xdp-prog", objs.xdp_no_xsks_map], /has no map named xsks_map/],
            [
              ["--xdp-prog", objs.xdp_wrong_map_type],
              /map xsks_map is a BPF_MAP_TYPE_ARRAY \(2\), not a BPF_MAP_TYPE_XSKMAP/,
            ],
            [
              ["--xdp-prog", objs.xdp_unverifiable],
              /verifier rejected unchecked_read \(section xdp\) of .*: .*(invalid access to packet|outside of the packet)/,
            ],
            [
              ["--xdp-prog", objs.xdp_two_programs],
              /has 2 XDP programs \(sections xdp\/all, xdp\/pass\): choose one with --xdp-section/,
            ],
            [
              ["--xdp-prog", objs.xdp_two_programs, "--xdp-section", "xdp/nope"],
              /no XDP program in section "xdp\/nope": its XDP sections are xdp\/all, xdp\/pass/,
            ],
            [
              ["--xdp-prog", objs.xdp_one_entry, "--queue", "0,1"],
              /map xsks_map has 1 entry, queue 1 needs at least 2: raise its max_entries/,
            ],
            [
              ["--xdp-prog", "/nonexistent/prog.o"],
              /--xdp-prog \/nonexistent\/prog.o: no such file/,
            ],
            [
              ["--xdp-prog", objs.xdp_two_programs, "--steer", "udp:5000"],
              /--steer does not go with --xdp-prog/,
            ],
            [
              ["--xdp-prog", objs.xdp_two_programs, "--block-file", "/dev/null"],
              /--block-file does not go with --xdp-prog/,
            ],
            [["--xdp-section", "xdp"], /--xdp-section goes with --xdp-prog/],
          ];
          for (const [args, want] of cases) {
            const r = await cli(
              ["--iface", t.dutIf, "--mode", "l2fwd", "--duration", "1", ...args],
              { ns: t.dut },
            );
            strictEqual(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
            const lines = r.stderr.trim().split("\n");
            strictEqual(lines.length, 1, r.stderr);
            ok(want.test(lines[0]), `${args.join(" ")}: ${lines[0]}`);
            strictEqual(await xdpAttached(t.dut, t.dutIf), false, args.join(" "));
          }
        }),
    ),
);

Deno.test(
  "--xdp-section picks one program of several; ctl block/steer answer why not",
  T,
  () =>
    withFixtures(["xdp_two_programs"], ({ xdp_two_programs: obj }) =>
      withTopology(async (t) => {
        const b = new Bypassrt(t.dut, [
          "--iface",
          t.dutIf,
          "--mode",
          "l2fwd",
          "--xdp-prog",
          obj,
          "--xdp-section",
          "xdp/pass",
        ]);
        try {
          await b.ready();
          const up = b.lines[0] as { user_program: { section: string; name: string } };
          strictEqual(up.user_program.section, "xdp/pass");
          strictEqual(up.user_program.name, "pass_all");
          const st = await cli(["status", "--iface", t.dutIf, "--json"], { ns: t.dut });
          strictEqual(JSON.parse(st.stdout).prog_name, "pass_all", st.stdout);
          // A second byPassRT (even with --force, past the control socket) cannot take over.
          for (const extra of [[], ["--force", "--no-control"]]) {
            const second = await cli([
              "--iface",
              t.dutIf,
              "--xdp-prog",
              obj,
              "--xdp-section",
              "xdp/all",
              "--duration",
              "1",
              ...extra,
            ], { ns: t.dut });
            strictEqual(second.code, 1, second.stderr);
            strictEqual(second.stderr.trim().split("\n").length, 1, second.stderr);
          }
          const still = await cli(["status", "--iface", t.dutIf, "--json"], { ns: t.dut });
          strictEqual(JSON.parse(still.stdout).prog_name, "pass_all", still.stdout);
          // This program passes everything: nothing is echoed.
          const r = await echo(t, 40, 5000, 1, 7);
          strictEqual(r.received, 0);
          for (
            const [args, why] of [
              [["block", "add", "10.0.0.2"], "no blocklist"],
              [["block", "list"], "no blocklist"],
              [["steer", "add", "udp:5000"], "no steering map"],
              [["steer", "list"], "no steering map"],
            ] as const
          ) {
            const c = await cli(["ctl", "--iface", t.dutIf, ...args]);
            strictEqual(c.code, 1, c.stderr);
            ok(c.stderr.includes("the XDP program is the user's (--xdp-prog)"), c.stderr);
            ok(c.stderr.includes(why), c.stderr);
          }
          const stats = await cli(["ctl", "--iface", t.dutIf, "stats"]);
          strictEqual(stats.code, 0, stats.stderr);
          ok(/XDP program: yours .*counters n\/a/.test(stats.stdout), stats.stdout);
        } finally {
          strictEqual((await b.stop("SIGINT")).code, 0, b.stderr);
        }
        strictEqual(b.final().total.rx_packets, 0);
        strictEqual(await xdpAttached(t.dut, t.dutIf), false);
      })),
);
