#!/usr/bin/env bash
# Build the single `bypassrt` binary: the CLI, the polling Worker, the BPF object and the helper
# .so in one file (deno compile --include). deno compile downloads a runtime (denort) the first
# time, so this needs a machine that can reach Deno's download server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
# V8 tiering flags for the polling loop: the same string as BYPASSRT_V8_FLAGS in
# engine/v8_flags.ts (tests/unit/v8_flags_test.ts checks they agree); the binary keeps them.
v8_flags="--invocation-count-for-maglev=50,--invocation-count-for-turbofan=200,--minimum-invocations-after-ic-update=20"
deno compile -A --no-check=remote --v8-flags="$v8_flags" \
  --include engine/worker.ts \
  --include build/xdp_steer.o \
  --include build/libbypass_helper.so \
  --output bypassrt cli/main.ts
echo "built ./bypassrt ($(du -h bypassrt | cut -f1))"
