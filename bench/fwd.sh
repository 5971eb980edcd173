#!/usr/bin/env bash
# Forwarding benchmark: byPassRT --iface d0,d1 --mode fwd against DPDK testpmd io forwarding
# between two AF_XDP vdevs, same generator, same run (bench/fwd.ts; options: --rounds,
# --warmup, --duration, --json FILE). Needs root, clang, and dpdk-testpmd.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/_live.sh
bench_live_prelude fwd
deno run -A bench/fwd.ts "$@"
