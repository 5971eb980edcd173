#!/usr/bin/env bash
# Build the single `bypassrt` binary: the CLI, the polling Worker, the BPF object and the helper
# .so in one file (deno compile --include). deno compile downloads a runtime (denort) the first
# time, so this needs a machine that can reach Deno's download server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
deno compile -A --no-check=remote \
  --include engine/worker.ts \
  --include build/xdp_steer.o \
  --include build/libbypass_helper.so \
  --output bypassrt cli/main.ts
echo "built ./bypassrt ($(du -h bypassrt | cut -f1))"
