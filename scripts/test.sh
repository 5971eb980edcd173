#!/usr/bin/env bash
# The one test command (README, and .ci/run): install what is missing, build the BPF object and
# the helper, check formatting/lint/types, run every test. Needs root (namespaces, XDP).
set -euo pipefail
cd "$(dirname "$0")/.."
unset RUST_BACKTRACE
bash scripts/install-deps.sh
deno task build
deno task check
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
deno task test 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# A plain closing line for tools that read one: "tests: N passed, M failed".
counts=$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -oE '[0-9]+ passed \| [0-9]+ failed' | tail -1)
if [ -n "$counts" ]; then
  echo "tests: $(echo "$counts" | sed -E 's/([0-9]+) passed \| ([0-9]+) failed/\1 passed, \2 failed/')"
fi
exit "$rc"
