# Sourced by the live-frame benchmarks (bench/run.sh, bench/blocklist.sh): check root, build
# byPassRT and the benchmark's XDP programs (the generator and XDP_DROP) into build/, and remove
# the namespaces the benchmark creates (bpb-<pid>-gen / bpb-<pid>-dut) at exit, also on failure
# and Ctrl-C. $1: the benchmark's name, for the messages. Sets $arch_inc (clang's include dir).
bench_live_prelude() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "$1: needs root (network namespaces, XDP, AF_XDP)" >&2
    exit 1
  fi
  bash scripts/build.sh >/dev/null
  arch_inc="/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
  clang -O2 -g -Wall -Werror -target bpf -I"$arch_inc" -c bench/xdp_gen.c -o build/xdp_gen.o
  clang -O2 -g -Wall -Werror -target bpf -I"$arch_inc" -c bench/xdp_drop.c -o build/xdp_drop.o
  export BPB_TAG=$$
  trap bench_live_cleanup EXIT
  unset RUST_BACKTRACE
}

# The orchestrator removes its namespaces itself; this catches a killed orchestrator.
bench_live_cleanup() {
  for ns in "bpb-$BPB_TAG-gen" "bpb-$BPB_TAG-dut"; do
    if ip netns list | grep -q "^$ns\b"; then ip netns del "$ns" || true; fi
  done
}
