#!/usr/bin/env bash
# Engine loop benchmark, TypeScript vs C, no NIC and no privileges needed: the same
# rx -> macSwap -> tx -> complete loop over in-memory AF_XDP-style rings and a fake kernel
# (bench/engine_loop.ts on testing/fake_kernel.ts, bench/engine_loop.c built with gcc -O2).
# The fake kernel is C on both sides: testing/fake_kernel.c built into build/libfakekernel.so,
# linked by the C loop and called through Deno.dlopen (one FFI call per deliver/transmit) by the
# TS loop, so the ratio compares the engines, not two fake kernels.
#
# usage: bench/engine.sh [--packets N] [--burst B] [--json FILE]
#   --packets N   packets per timed run (default 50000000); both sides warm up first
#   --burst B     burst size (default 64)
#   --rounds R    alternate C and TS runs R times (default 3) and report each side's median:
#                 the machines are shared, single runs swing by +-30%
#   --json FILE   also write {"ts_mpps", "c_mpps", "ratio", "ts_gc_events", "rounds",
#                 "ts_runs", "c_runs"} to FILE
#
# The TS run is made with --v8-flags=--trace-gc; ts_gc_events counts the GC lines V8 printed
# between the script's "== measure begin" and "== measure end" markers (the timed section).
set -euo pipefail
cd "$(dirname "$0")/.."

packets=50000000
burst=64
rounds=3
json=""
while [ $# -gt 0 ]; do
  case "$1" in
    --packets) packets="$2"; shift 2 ;;
    --burst) burst="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-engine: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$packets$burst$rounds" in *[!0-9]*) echo "bench-engine: --packets/--burst take integers" >&2; exit 2 ;; esac
for tool in gcc deno; do
  command -v "$tool" >/dev/null || { echo "bench-engine: $tool not found" >&2; exit 1; }
done

mkdir -p build
# Build to a temporary name and rename: a process using the old library keeps its copy.
gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o build/libfakekernel.so.$$ testing/fake_kernel.c
mv -f build/libfakekernel.so.$$ build/libfakekernel.so
gcc -O2 -Wall -Wextra -Werror -Itesting -o build/engine_loop bench/engine_loop.c -Lbuild -lfakekernel \
  '-Wl,-rpath,$ORIGIN'
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ts_log=$(mktemp)
trap 'rm -f "$ts_log"' EXIT
# V8 prints the GC trace with C stdio: line-buffer it so it interleaves with our markers.
linebuf=()
if command -v stdbuf >/dev/null; then linebuf=(stdbuf -oL); fi
gc_re='^\[[0-9]+:0x[0-9a-f]+\] +[0-9.]+ ms: '
c_runs="" ts_runs="" ts_gc=0 ts_gc_all=0
for r in $(seq 1 "$rounds"); do
  c_line=$(build/engine_loop "$packets" "$burst" | grep '^c: ')
  echo "round $r $c_line"
  "${linebuf[@]}" deno run -A --v8-flags=--trace-gc bench/engine_loop.ts "$packets" "$burst" \
    >"$ts_log"
  ts_line=$(grep '^ts: ' "$ts_log")
  echo "round $r $ts_line"
  gc=$(awk -v re="$gc_re" '/^== measure begin/ { on = 1; next } /^== measure end/ { on = 0 }
    on && $0 ~ re { n++ } END { print n + 0 }' "$ts_log")
  ts_gc=$((ts_gc + gc))
  ts_gc_all=$((ts_gc_all + $(grep -cE "$gc_re" "$ts_log" || true)))
  c_runs="$c_runs $(field mpps "$c_line")"
  ts_runs="$ts_runs $(field mpps "$ts_line")"
done
echo "ts: GC events in the timed sections: $ts_gc (whole processes: $ts_gc_all)"
ts_mpps=$(median <<<"$ts_runs")
c_mpps=$(median <<<"$c_runs")
[ -n "$ts_mpps" ] && [ -n "$c_mpps" ] || { echo "bench-engine: could not parse results" >&2; exit 1; }
ratio=$(awk -v t="$ts_mpps" -v c="$c_mpps" 'BEGIN { printf "%.3f", t / c }')

if [ -n "$json" ]; then
  jlist() { echo "[$(echo $1 | tr ' ' ',')]"; }
  printf '{"ts_mpps": %s, "c_mpps": %s, "ratio": %s, "ts_gc_events": %s, "rounds": %s, "ts_runs": %s, "c_runs": %s}\n' \
    "$ts_mpps" "$c_mpps" "$ratio" "$ts_gc" "$rounds" "$(jlist "$ts_runs")" "$(jlist "$c_runs")" >"$json"
fi
echo "engine loop (median of $rounds): TS $ts_mpps Mpps, C $c_mpps Mpps, ratio TS/C = $ratio"
