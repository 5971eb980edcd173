#!/usr/bin/env bash
# The one test command (README, and .ci/run): install what is missing, build the BPF object and
# the helper, check formatting/lint/types, run every test. Needs root (namespaces, XDP).
set -euo pipefail
cd "$(dirname "$0")/.."
unset RUST_BACKTRACE
bash scripts/install-deps.sh
deno task build
deno task check
deno task test
