#!/usr/bin/env bash
# The capture's cost (`bash bench/pcap.sh [bench options]`, root): byPassRT rxdrop without and
# with --pcap, side by side on the same generator, alternating rounds (3 x 5 s by default), then
# the --trace-gc run with --pcap; prints the ratio and the copies the writer could not keep up
# with. The capture file goes to BPB_PCAP_DIR (default /tmp) and is removed after each run.
# Extra options go to bench/run.sh (e.g. --reps 5 --duration 10 --json FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
out=""
prev=""
for a in "$@"; do
  if [ "$prev" = --json ]; then out="$a"; fi
  prev="$a"
done
if [ -z "$out" ]; then
  out=$(mktemp --suffix .json)
  trap 'rm -f "$out"' EXIT
  set -- "$@" --json "$out"
fi
bash bench/run.sh --only bypassrt,pcap --modes rxdrop --reps 3 --duration 5 --no-latency \
  --no-engine "$@"
deno run -A bench/pcap_report.ts "$out"
