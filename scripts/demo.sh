#!/usr/bin/env bash
# The demo, from nothing (run as root): install what is missing, build, make a veth pair between
# two namespaces of its own, run byPassRT answering ARP and ping for 10.0.0.1 in user space while
# the peer sends a ping flood and a UDP stream, show the live table, print the summary, clean up.
# Traffic stays between the two namespaces this script creates.
set -euo pipefail
cd "$(dirname "$0")/.."
unset RUST_BACKTRACE
SECONDS_TO_RUN="${DEMO_SECONDS:-12}"
bash scripts/install-deps.sh
deno task build >/dev/null
tag="$$"
DUT="bpdemo-${tag}-d" PEER="bpdemo-${tag}-p" DEV="veth-bypass" PEERDEV="veth-peer"
cleanup() {
  kill "${bg_pids[@]}" 2>/dev/null || true
  ip netns del "$DUT" 2>/dev/null || true
  ip netns del "$PEER" 2>/dev/null || true
}
bg_pids=()
trap cleanup EXIT INT TERM
deno run -A -q cli/main.ts setup-veth --dev "$DEV" --peer "$PEERDEV" --netns "$DUT,$PEER"
dutmac=$(ip netns exec "$DUT" cat "/sys/class/net/$DEV/address")
(
  sleep 2
  ip netns exec "$PEER" ping -f -c 20000 -W 1 10.0.0.1 | tail -3
  echo "--- UDP stream to port 9000 (counted by byPassRT, not answered) ---"
  ip netns exec "$PEER" python3 testing/pktio.py send --iface "$PEERDEV" --dst-mac "$dutmac" \
    --count 100000 --port 9000 --gap-us 50
) > /tmp/bypassrt-demo-$tag.log 2>&1 &
bg_pids+=($!)
ip netns exec "$DUT" deno run -A -q cli/main.ts --iface "$DEV" --mode respond --ip 10.0.0.1 \
  --steer udp:9000 --duration "$SECONDS_TO_RUN" || true
echo "--- the peer's side ---"
wait "${bg_pids[@]}" 2>/dev/null || true
cat /tmp/bypassrt-demo-$tag.log
rm -f /tmp/bypassrt-demo-$tag.log
echo "--- status after exit ---"
ip netns exec "$DUT" deno run -A -q cli/main.ts status --iface "$DEV"
