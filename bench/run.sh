#!/usr/bin/env bash
# byPassRT benchmark (`deno task bench [options]`, see --help): builds byPassRT and the benchmark's
# own native parts into build/ (the live-frames generator and XDP_DROP programs, the C reference
# xsk_ref), then runs the orchestrator bench/main.ts. Needs root, clang, gcc, libbpf-dev,
# libxdp-dev; DPDK testpmd is optional (reported as skipped when missing). The namespaces it
# creates (bpb-<pid>-gen / bpb-<pid>-dut) are removed at exit, also on failure and Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
for a in "$@"; do
  if [ "$a" = -h ] || [ "$a" = --help ]; then exec deno run -A bench/main.ts --help; fi
done
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: needs root (network namespaces, XDP, AF_XDP)" >&2
  exit 1
fi
bash scripts/build.sh >/dev/null
arch_inc="/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
clang -O2 -g -Wall -Werror -target bpf -I"$arch_inc" -c bench/xdp_gen.c -o build/xdp_gen.o
clang -O2 -g -Wall -Werror -target bpf -I"$arch_inc" -c bench/xdp_drop.c -o build/xdp_drop.o
gcc -O2 -g -Wall -Wextra -Werror bench/xsk_ref.c -o build/xsk_ref -lxdp -lbpf

export BPB_TAG=$$
cleanup() {
  # The orchestrator removes these itself; this catches a killed orchestrator.
  for ns in "bpb-$BPB_TAG-gen" "bpb-$BPB_TAG-dut"; do
    if ip netns list | grep -q "^$ns\b"; then ip netns del "$ns" || true; fi
  done
}
trap cleanup EXIT
unset RUST_BACKTRACE
deno run -A bench/main.ts "$@"
