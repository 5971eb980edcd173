#!/usr/bin/env bash
# Blocklist benchmark (`deno task bench:blocklist [--reps N] [--seconds S] [--json FILE]`): builds
# byPassRT, a reference build of its XDP program without the blocklist check, and the benchmark's
# generator and XDP_DROP programs, then runs bench/blocklist.ts. Needs root, clang, gcc,
# libbpf-dev. The namespaces it creates (bpb-<pid>-gen / bpb-<pid>-dut) are removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/_live.sh
bench_live_prelude bench:blocklist
clang -O2 -g -Wall -Werror -target bpf -I"$arch_inc" -DBYPASS_NO_BLOCKLIST -Wno-unused-function \
  -c bpf/xdp_steer.c -o build/xdp_steer_noblock.o
deno run -A bench/blocklist.ts "$@"
