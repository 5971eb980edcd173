#!/usr/bin/env bash
# Engine loop benchmark, TypeScript vs C, no NIC and no privileges needed. Four contenders over
# the same in-memory AF_XDP rings and the same fake kernel, all following the same need_wakeup
# protocol: the kernel delivers a burst in the FILL wake-up a poll makes when it finds RX empty,
# and transmits in the TX kick; with --protocol loaded (default: a forwarder under load) it also
# delivers the next burst in the kick, so RX is never empty; with --protocol wakeup it does not,
# and every burst costs an empty poll too. One fk_deliver and one fk_transmit per burst either way:
#   TS real     engine/loop.ts runLoop with handlers/l2fwd.ts (bench/engine_loop.ts real)
#   TS direct   rx burst -> MAC swap -> tx burst written out, no handler (engine_loop.ts direct)
#   C real      the same polling loop in C: handler through a function pointer, verdicts,
#               budget, counter publication (bench/engine_loop.c real, gcc -O2)
#   C direct    the direct loop in C (engine_loop.c direct)
# The fake kernel is C on every side: testing/fake_kernel.c built into build/libfakekernel.so,
# linked by the C program and called through Deno.dlopen (one FFI call per deliver/transmit) by
# the TS one, so the ratios compare the engines, not two fake kernels.
#
# usage: bench/engine.sh [--packets N] [--burst B] [--rounds R] [--protocol loaded|wakeup]
#                        [--cpu N|none] [--json FILE]
#   --packets N   packets per timed run (default 50000000); every run warms up first
#   --burst B     burst size (default 64)
#   --rounds R    rounds (default 5); each round runs all four, in the order C real, TS real,
#                 C direct, TS direct (reversed every other round): the machines are shared and
#                 single runs swing by +-30%, so only ratios within a round compare. Reported:
#                 each contender's median rate, and the median over rounds of each ratio.
#   --protocol P  loaded (default) or wakeup, as above
#   --cpu N       run every contender pinned to CPU N with taskset (default 1 when the machine
#                 has 2 CPUs or more, as bench/main.ts pins contenders; "none": not pinned)
#   --json FILE   also write the results to FILE: "ratio" (TS real / C real, the target),
#                 "ratio_direct" (TS direct / C direct), "real_vs_direct_ts", "real_vs_direct_c",
#                 "ratio_vs_c_direct" (TS real / C direct), "handler_ns_per_pkt_ts/_c" (real
#                 minus direct), "ts_mpps", "c_mpps", "ts_direct_mpps", "c_direct_mpps" (medians),
#                 "ts_gc_events", "ts_direct_gc_events", per-run lists and per-round ratios
#
# The TS runs are made with --v8-flags=--trace-gc; ts_gc_events counts the GC lines V8 printed
# between the script's "== measure begin" and "== measure end" markers (the timed sections).
set -euo pipefail
cd "$(dirname "$0")/.."

packets=50000000
burst=64
rounds=5
json=""
cpu=""
proto=loaded
while [ $# -gt 0 ]; do
  case "$1" in
    --packets) packets="$2"; shift 2 ;;
    --burst) burst="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    --cpu) cpu="$2"; shift 2 ;;
    --protocol) proto="$2"; shift 2 ;;
    -h | --help) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-engine: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$packets$burst$rounds" in
  *[!0-9]* | "") echo "bench-engine: --packets/--burst/--rounds take integers" >&2; exit 2 ;;
esac
[ "$rounds" -ge 1 ] || { echo "bench-engine: --rounds must be at least 1" >&2; exit 2; }
case "$proto" in
  loaded) want="wakeups 0.000 kicks 1.000" ;;
  wakeup) want="wakeups 1.000 kicks 1.000" ;;
  *) echo "bench-engine: --protocol takes loaded or wakeup" >&2; exit 2 ;;
esac
for tool in gcc deno; do
  command -v "$tool" >/dev/null || { echo "bench-engine: $tool not found" >&2; exit 1; }
done
if [ -z "$cpu" ]; then
  cpu=none
  if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then cpu=1; fi
fi
pin=()
case "$cpu" in
  none) ;;
  *[!0-9]* | "") echo "bench-engine: --cpu takes a CPU number or none" >&2; exit 2 ;;
  *) command -v taskset >/dev/null || { echo "bench-engine: taskset not found" >&2; exit 1; }
     pin=(taskset -c "$cpu") ;;
esac

mkdir -p build
# Build to a temporary name and rename: a process using the old library keeps its copy.
gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o build/libfakekernel.so.$$ testing/fake_kernel.c
mv -f build/libfakekernel.so.$$ build/libfakekernel.so
gcc -O2 -Wall -Wextra -Werror -Itesting -o build/engine_loop.$$ bench/engine_loop.c -Lbuild \
  -lfakekernel '-Wl,-rpath,$ORIGIN'
mv -f build/engine_loop.$$ build/engine_loop

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
jlist() { echo "[$(echo $1 | tr ' ' ',')]"; }
ts_log=$(mktemp)
trap 'rm -f "$ts_log"' EXIT
# V8 prints the GC trace with C stdio: line-buffer it so it interleaves with our markers.
linebuf=()
if command -v stdbuf >/dev/null; then linebuf=(stdbuf -oL); fi
gc_re='^\[[0-9]+:0x[0-9a-f]+\] +[0-9.]+ ms: '

declare -A mpps ns gc gc_all
for k in c_real ts_real c_direct ts_direct; do mpps[$k]="" ns[$k]=""; gc[$k]=0 gc_all[$k]=0; done
r_real="" r_direct="" r_ts="" r_c="" r_vs_cd="" h_ts="" h_c=""

run_one() { # $1 = c_real | ts_real | c_direct | ts_direct; sets mpps/ns/gc, prints the line
  local key=$1 lang=${1%%_*} variant=${1#*_} line
  if [ "$lang" = c ]; then
    line=$("${pin[@]}" build/engine_loop "$packets" "$burst" "$variant" "$proto" | grep '^c: ')
  else
    "${pin[@]}" "${linebuf[@]}" deno run -A --v8-flags=--trace-gc bench/engine_loop.ts "$packets" \
      "$burst" "$variant" "$proto" >"$ts_log"
    line=$(grep '^ts: ' "$ts_log")
    local n
    n=$(awk -v re="$gc_re" '/^== measure begin/ { on = 1; next } /^== measure end/ { on = 0 }
      on && $0 ~ re { n++ } END { print n + 0 }' "$ts_log")
    gc[$key]=$((gc[$key] + n))
    gc_all[$key]=$((gc_all[$key] + $(grep -cE "$gc_re" "$ts_log" || true)))
  fi
  echo "round $r $line"
  # Every side must follow the same protocol: one TX kick per burst, and one FILL wake-up per
  # burst (wakeup) or none after the first burst (loaded).
  local p="wakeups $(field wakeups_per_burst "$line") kicks $(field kicks_per_burst "$line")"
  if [ "$p" != "$want" ]; then
    echo "bench-engine: $key made $p per burst; expected $want" >&2
    exit 1
  fi
  mpps[$key]="${mpps[$key]} $(field mpps "$line")"
  ns[$key]="${ns[$key]} $(field ns_per_pkt "$line")"
}

last() { echo "$1" | awk '{ print $NF }'; }
for r in $(seq 1 "$rounds"); do
  order="c_real ts_real c_direct ts_direct"
  if [ $((r % 2)) -eq 0 ]; then order="ts_direct c_direct ts_real c_real"; fi
  for key in $order; do run_one "$key"; done
  tr_=$(last "${mpps[ts_real]}") cr=$(last "${mpps[c_real]}")
  td=$(last "${mpps[ts_direct]}") cd=$(last "${mpps[c_direct]}")
  r_real="$r_real $(div "$tr_" "$cr")"
  r_direct="$r_direct $(div "$td" "$cd")"
  r_ts="$r_ts $(div "$tr_" "$td")"
  r_c="$r_c $(div "$cr" "$cd")"
  r_vs_cd="$r_vs_cd $(div "$tr_" "$cd")"
  h_ts="$h_ts $(sub "$(last "${ns[ts_real]}")" "$(last "${ns[ts_direct]}")")"
  h_c="$h_c $(sub "$(last "${ns[c_real]}")" "$(last "${ns[c_direct]}")")"
  echo "round $r ratios: TS real / C real $(last "$r_real"), TS direct / C direct" \
    "$(last "$r_direct"), real / direct: TS $(last "$r_ts"), C $(last "$r_c")"
done

med() { median <<<"$1"; }
ratio=$(med "$r_real")
[ -n "$ratio" ] || { echo "bench-engine: could not parse results" >&2; exit 1; }
echo "ts: GC events in the timed sections: real loop ${gc[ts_real]}, direct ${gc[ts_direct]}" \
  "(whole processes: ${gc_all[ts_real]}, ${gc_all[ts_direct]})"

if [ -n "$json" ]; then
  cat >"$json" <<EOF
{"ratio": $ratio, "ratio_direct": $(med "$r_direct"), "real_vs_direct_ts": $(med "$r_ts"),
 "real_vs_direct_c": $(med "$r_c"), "ratio_vs_c_direct": $(med "$r_vs_cd"),
 "handler_ns_per_pkt_ts": $(med "$h_ts"), "handler_ns_per_pkt_c": $(med "$h_c"),
 "ts_mpps": $(med "${mpps[ts_real]}"), "c_mpps": $(med "${mpps[c_real]}"),
 "ts_direct_mpps": $(med "${mpps[ts_direct]}"), "c_direct_mpps": $(med "${mpps[c_direct]}"),
 "ts_gc_events": ${gc[ts_real]}, "ts_direct_gc_events": ${gc[ts_direct]},
 "rounds": $rounds, "packets": $packets, "burst": $burst, "cpu": "$cpu",
 "protocol": "$proto",
 "ts_runs": $(jlist "${mpps[ts_real]}"), "c_runs": $(jlist "${mpps[c_real]}"),
 "ts_direct_runs": $(jlist "${mpps[ts_direct]}"), "c_direct_runs": $(jlist "${mpps[c_direct]}"),
 "round_ratios": {"ts_real_vs_c_real": $(jlist "$r_real"), "ts_direct_vs_c_direct": $(jlist "$r_direct"),
   "ts_real_vs_ts_direct": $(jlist "$r_ts"), "c_real_vs_c_direct": $(jlist "$r_c"),
   "ts_real_vs_c_direct": $(jlist "$r_vs_cd")}}
EOF
fi
echo "engine loop, protocol $proto (medians of $rounds rounds): TS real $(med "${mpps[ts_real]}") Mpps, C real" \
  "$(med "${mpps[c_real]}"), TS direct $(med "${mpps[ts_direct]}"), C direct" \
  "$(med "${mpps[c_direct]}")"
echo "ratios (median of per-round ratios): TS real / C real = $ratio (target >= 0.6)," \
  "TS direct / C direct = $(med "$r_direct"), TS real / C direct = $(med "$r_vs_cd")"
echo "handler indirection: real / direct TS $(med "$r_ts"), C $(med "$r_c");" \
  "ns/pkt added TS $(med "$h_ts"), C $(med "$h_c")"
