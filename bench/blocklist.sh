#!/usr/bin/env bash
# Blocklist benchmark (`deno task bench:blocklist [--reps N] [--seconds S] [--json FILE]`): builds
# byPassRT, a reference build of its XDP program without the blocklist check, and the benchmark's
# generator and XDP_DROP programs, then runs bench/blocklist.ts. Needs root, clang, gcc,
# libbpf-dev. The namespaces it creates (bpb-<pid>-gen / bpb-<pid>-dut) are removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "bench:blocklist: needs root (network namespaces, XDP)" >&2
  exit 1
fi
bash scripts/build.sh >/dev/null
arch_inc="/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
clang -O2 -g -Wall -Werror -target bpf -I"$arch_inc" -DBYPASS_NO_BLOCKLIST -Wno-unused-function \
  -c bpf/xdp_steer.c \
  -o build/xdp_steer_noblock.o
clang -O2 -g -Wall -Werror -target bpf -I"$arch_inc" -c bench/xdp_gen.c -o build/xdp_gen.o
clang -O2 -g -Wall -Werror -target bpf -I"$arch_inc" -c bench/xdp_drop.c -o build/xdp_drop.o
export BPB_TAG=$$
cleanup() {
  for ns in "bpb-$BPB_TAG-gen" "bpb-$BPB_TAG-dut"; do
    if ip netns list | grep -q "^$ns\b"; then ip netns del "$ns" || true; fi
  done
}
trap cleanup EXIT
unset RUST_BACKTRACE
deno run -A bench/blocklist.ts "$@"
