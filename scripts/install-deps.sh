#!/usr/bin/env bash
# Install what byPassRT needs on a fresh Debian/Ubuntu machine (run as root). Idempotent and quiet
# when everything is already there. Deno is pinned and comes from npm (the deno package ships the
# binary), then Deno caches every entry point's dependencies. Set BYPASSRT_BENCH_DEPS=1 to add
# the benchmark contenders (DPDK testpmd, perf).
set -euo pipefail
DENO_VERSION="${DENO_VERSION:-2.9.6}"
pkgs=(libxdp-dev libbpf-dev libxdp1 libbpf1 clang llvm gcc libc6-dev iproute2 iputils-ping ethtool procps
  python3 bpftool tmux tcpdump ca-certificates)
# The --metrics tests: promtool (Debian ships it in prometheus) checks /metrics, and a headless
# chromium (driven by npm puppeteer-core, cached below) opens the live page.
pkgs+=(prometheus chromium)
if [ "${BYPASSRT_BENCH_DEPS:-0}" = 1 ]; then
  pkgs+=(dpdk dpdk-dev librte-net-af-xdp23 linux-perf)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # We want promtool, not a Prometheus server: when this installs the prometheus package, its
  # daemon is neither started (policy-rc.d) nor enabled at boot. An existing install is untouched.
  fresh_prometheus=0
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ ! -e /usr/sbin/policy-rc.d ]; then
    fresh_prometheus=1
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$fresh_prometheus" = 1 ]; then
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
    if command -v systemctl >/dev/null 2>&1; then systemctl disable prometheus >/dev/null 2>&1 || true; fi
  fi
fi
if ! deno --version 2>/dev/null | head -1 | grep -q "deno ${DENO_VERSION} "; then
  echo "install-deps: installing deno ${DENO_VERSION} from npm"
  npm install -g --silent "deno@${DENO_VERSION}" >/dev/null 2>&1
  deno --version | head -1
fi
# Cache the npm packages (and their registry metadata) of every entry point: the CLI, the polling
# Worker, the library, tests, benchmark and examples. Without this the first `deno run` of each
# entry point fetches them and prints Deno's own "Download ..." lines (a cold-cache machine).
cd "$(dirname "$0")/.."
mapfile -t entries < <(find . -name '*.ts' -not -path './build/*' -not -path './node_modules/*' \
  -not -path './.git/*' | sort)
deno install --frozen -q --entrypoint "${entries[@]}"
