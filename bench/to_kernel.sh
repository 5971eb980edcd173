#!/usr/bin/env bash
# What handing frames back to the kernel costs (deno task bench:to-kernel), in two namespaces of
# its own (bpk-<pid>-dut owns 10.0.0.1, bpk-<pid>-peer is 10.0.0.2), removed at exit:
#  1. ns per frame of the reinjection path alone (bench/to_kernel.ts: TapSink.flush, bursts of 64),
#     to a closed UDP port, into the TAP alone (no redirect), and to a UDP socket (nobody reads);
#  2. ping -f round trip from the peer to the dut kernel: the kernel alone, then through
#     --mode inspect --steer all (every frame to user space and back), then through the kernel
#     again: what the detour adds per packet.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "bench/to_kernel.sh: needs root (network namespaces, XDP, AF_XDP)" >&2
  exit 1
fi
bash scripts/build.sh >/dev/null
unset RUST_BACKTRACE
dut="bpk-$$-dut" peer="bpk-$$-peer"
cleanup() {
  for ns in "$dut" "$peer"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
ip netns add "$dut"
ip netns add "$peer"
ip link add bpk-d type veth peer name bpk-p
ip link set bpk-d netns "$dut"
ip link set bpk-p netns "$peer"
for ns in "$dut" "$peer"; do ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
ip -n "$dut" addr add 10.0.0.1/24 dev bpk-d
ip -n "$peer" addr add 10.0.0.2/24 dev bpk-p
ip -n "$dut" link set bpk-d up
ip -n "$peer" link set bpk-p up

echo "== reinjection path alone (ns per frame): closed UDP port, the TAP alone, an open UDP port"
ip netns exec "$dut" python3 -c "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('10.0.0.1', 9000)); time.sleep(3600)" &
holder=$!
for v in closed tap port=9000; do
  BENCH_VARIANT=$v ip netns exec "$dut" deno run -A bench/to_kernel.ts bpk-d "${ROUNDS:-5}" 200000
done
kill "$holder"

flood() { # $1: label
  local out
  out=$(ip netns exec "$peer" ping -f -c "${PINGS:-20000}" -q 10.0.0.1)
  echo "$1: $(echo "$out" | grep -E 'received|rtt' | tr '\n' ' ')"
}
echo "== ping -f round trip, ${PINGS:-20000} pings"
flood "kernel alone          "
ip netns exec "$dut" deno run -A cli/main.ts --iface bpk-d --mode inspect --steer all \
  --no-control >/dev/null 2>&1 &
pid=$!
sleep 3
flood "through --mode inspect"
kill -INT "$pid"
wait "$pid" || true
flood "kernel alone again    "
