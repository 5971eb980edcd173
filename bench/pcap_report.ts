/**
 * The capture's cost from a `bench/pcap.sh` JSON document: each round's rxdrop rate with and
 * without `--pcap` (the runs alternate, so round i of one pairs with round i of the other), the
 * ratio, the capture's own figures (frames written, copies dropped because the writer fell
 * behind), and the GC events of the `--pcap` run. The machines are shared: a round counts as
 * clean when other processes and steal took under {@link CLEAN} of the two vCPUs in both of
 * its runs; the median is given over all rounds and over the clean ones.
 *
 * @module
 */

interface Run {
  contender: string;
  mode: string;
  rx_mpps: number | null;
  cpu_ns_per_pkt: number | null;
  app_cpu_share: number | null;
  offered_mpps: number | null;
  foreign_cpu_share: number | null;
  steal_share: number | null;
  capture?: { frames: number; bytes: number; pcap_captured: number; pcap_dropped: number };
  error?: string;
}

const doc = JSON.parse(await Deno.readTextFile(Deno.args[0]));
const runs = (doc.runs as Run[]).filter((r) => r.mode === "rxdrop");
const plain = runs.filter((r) => r.contender === "byPassRT");
const pcap = runs.filter((r) => r.contender === "byPassRT --pcap");
/** Noise share (other processes + steal, of both vCPUs) under which a run counts as clean. */
const CLEAN = 0.1;
const noise = (r?: Run) => (r?.foreign_cpu_share ?? 1) + (r?.steal_share ?? 0);
const f = (v: number | null | undefined, d = 2) => v == null ? "-" : v.toFixed(d);
const median = (xs: number[]): number | null => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length === 0
    ? null
    : v.length % 2
    ? v[v.length >> 1]
    : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
console.log(
  "round | rxdrop Mpps | --pcap Mpps | ratio | app CPU plain / pcap | offered plain / pcap | " +
    "noise plain / pcap | written | dropped copies",
);
const ratios: number[] = [], clean: number[] = [];
for (let i = 0; i < Math.max(plain.length, pcap.length); i++) {
  const a = plain[i], b = pcap[i];
  const ratio = a?.rx_mpps && b?.rx_mpps ? b.rx_mpps / a.rx_mpps : null;
  if (ratio !== null) ratios.push(ratio);
  if (ratio !== null && noise(a) < CLEAN && noise(b) < CLEAN) clean.push(ratio);
  const c = b?.capture;
  const dropped = c
    ? `${c.pcap_dropped} (${
      f(100 * c.pcap_dropped / Math.max(1, c.pcap_captured + c.pcap_dropped), 3)
    }%)`
    : "-";
  console.log(
    `${i + 1} | ${f(a?.rx_mpps)} | ${f(b?.rx_mpps)} | ${f(ratio, 3)} | ` +
      `${f(a?.app_cpu_share)} / ${f(b?.app_cpu_share)} | ${f(a?.offered_mpps)} / ${
        f(b?.offered_mpps)
      } | ${f(100 * noise(a), 0)}% / ${f(100 * noise(b), 0)}% | ` +
      `${c ? `${c.frames} frames, ${(c.bytes / 1e9).toFixed(2)} GB` : "-"} | ${dropped}` +
      `${a?.error || b?.error ? ` | error: ${a?.error ?? ""} ${b?.error ?? ""}` : ""}`,
  );
}
console.log(
  `median ratio --pcap / plain: ${f(median(ratios), 3)} over ${ratios.length} rounds; ` +
    `${f(median(clean), 3)} over the ${clean.length} clean ones (noise < ${CLEAN * 100}%)`,
);
for (const [name, g] of [["plain", doc.gc], ["--pcap", doc.gc_pcap]] as const) {
  if (!g) continue;
  console.log(
    `gc ${name}: ${
      g.error ?? `${g.worker_steady_gc} polling-loop, ${g.main_steady_gc} main-thread ` +
          `GC events in steady state (${f(g.rx_mpps)} Mpps); per isolate: ${
            JSON.stringify(g.isolates)
          }`
    }`,
  );
}
