/**
 * Interleaved A/B latency rounds at a low rate: UDP round trips through l2fwd (and, with
 * `--ping`, pings through respond) for byPassRT variants and the C reference, in alternating
 * order each round, on the benchmark's own topology. For investigating per-frame latency (the
 * full benchmark is `deno task bench`); prints one JSON line per measurement and a summary.
 *
 *   deno run -A bench/latency_ab.ts [--rounds 4] [--count 2000] [--ping]
 *     [--variant NAME=ARGS ...]   (byPassRT variants; ARGS go to BPB_BYPASSRT_ARGS, except
 *                                  words `v8:FLAG`, which replace byPassRT's V8 flags through
 *                                  BPB_V8_FLAGS; `v8:-` alone: V8's defaults)
 *
 * Without `--variant`: `bypassrt` (no extra args) and `c`. `--variant c` includes the C
 * reference next to named variants.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { bypassrt, type Contender, cref } from "./contenders.ts";
import { createTopology, deleteTopology, topologyTag } from "./topology.ts";
import { pingVia, type RttStats, udpRttVia } from "./latency.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "4" },
    count: { type: "string", default: "2000" },
    ping: { type: "boolean", default: false },
    variant: { type: "string", multiple: true },
  },
});
const rounds = Number(values.rounds), count = Number(values.count);
const variants: { name: string; c: Contender; args: string }[] = [];
for (const v of values.variant ?? ["bypassrt=", "c"]) {
  if (v === "c") variants.push({ name: "c", c: cref, args: "" });
  else {
    const eq = v.indexOf("=");
    variants.push({ name: v.slice(0, eq), c: bypassrt, args: v.slice(eq + 1) });
  }
}

const topo = await createTopology(topologyTag());
const results: Record<string, { udp: RttStats[]; ping: RttStats[] }> = {};
for (const v of variants) results[v.name] = { udp: [], ping: [] };
try {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) {
      const words = v.args.split(" ").filter((w) => w !== "");
      const v8 = words.filter((w) => w.startsWith("v8:")).map((w) => w.slice(3));
      Deno.env.set("BPB_BYPASSRT_ARGS", words.filter((w) => !w.startsWith("v8:")).join(" "));
      if (v8.length > 0) Deno.env.set("BPB_V8_FLAGS", v8.filter((f) => f !== "-").join(","));
      else Deno.env.delete("BPB_V8_FLAGS");
      const udp = await udpRttVia(v.c, topo, count);
      results[v.name].udp.push(udp);
      console.log(JSON.stringify({ round: r, variant: v.name, kind: "udp", ...udp }));
      if (values.ping) {
        const ping = await pingVia(v.c, topo, count);
        results[v.name].ping.push(ping);
        console.log(JSON.stringify({ round: r, variant: v.name, kind: "ping", ...ping }));
      }
    }
  }
} finally {
  await deleteTopology(topo);
}
const list = (xs: RttStats[], k: "p50_us" | "p99_us") => xs.map((x) => x[k] ?? NaN).join(" ");
for (const [name, r] of Object.entries(results)) {
  console.log(`${name.padEnd(12)} udp p50 ${list(r.udp, "p50_us")} | p99 ${list(r.udp, "p99_us")}`);
  if (values.ping) {
    console.log(
      `${name.padEnd(12)} ping p50 ${list(r.ping, "p50_us")} | p99 ${list(r.ping, "p99_us")}`,
    );
  }
}
