#!/usr/bin/env bash
# byPassRT benchmark (`deno task bench [options]`, see --help): builds byPassRT and the benchmark's
# own native parts into build/ (the live-frames generator and XDP_DROP programs, the C reference
# xsk_ref, the latency probe rtt_probe), then runs the orchestrator bench/main.ts. Needs root, clang, gcc, libbpf-dev,
# libxdp-dev; DPDK testpmd is optional (reported as skipped when missing). The namespaces it
# creates (bpb-<pid>-gen / bpb-<pid>-dut) are removed at exit, also on failure and Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
for a in "$@"; do
  if [ "$a" = -h ] || [ "$a" = --help ]; then exec deno run -A bench/main.ts --help; fi
done
source bench/_live.sh
bench_live_prelude bench
gcc -O2 -g -Wall -Wextra -Werror bench/xsk_ref.c -o build/xsk_ref -lxdp -lbpf
gcc -O2 -g -Wall -Wextra -Werror bench/rtt_probe.c -o build/rtt_probe
deno run -A bench/main.ts "$@"
