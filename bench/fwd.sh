#!/usr/bin/env bash
# Forwarding benchmark: byPassRT --iface d0,d1 --mode fwd against DPDK testpmd io forwarding
# between two AF_XDP vdevs, same generator, same run (bench/fwd.ts; options: --rounds,
# --warmup, --duration, --json FILE). Needs root, clang, and dpdk-testpmd.
# --jumbo [--size B]: jumbo frames at MTU 9000 instead, byPassRT against the kernel's bridge
# (bench/fwd_jumbo.ts; DPDK 22.11's AF_XDP driver has no multi-buffer).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/_live.sh
bench_live_prelude fwd
for arg in "$@"; do
  if [ "$arg" = "--jumbo" ]; then exec deno run -A bench/fwd_jumbo.ts "$@"; fi
done
deno run -A bench/fwd.ts "$@"
