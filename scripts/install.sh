#!/usr/bin/env bash
# Put `bypassrt` on PATH from this checkout (what `deno task install` / `deno task uninstall` run).
#
#   bash scripts/install.sh [--root DIR]              install or reinstall
#   bash scripts/install.sh --uninstall [--root DIR]  remove it again
#
# `deno install --global` writes a small shim, ROOT/bin/bypassrt, that runs this checkout's
# cli/main.ts (so engine/worker.ts and build/ are found beside it) with `--quiet` and a copy of
# this deno.json's imports (npm packages installed under ROOT/bin/.bypassrt), from any directory.
# ROOT is --root DIR, else $DENO_INSTALL_ROOT, else $HOME/.deno. Source edits take effect at once;
# after changing dependencies in deno.json, install again. The shim runs `deno` from PATH.
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
# `deno task` runs in the project directory; a relative --root means the caller's directory.
cd "${INIT_CWD:-$PWD}"

uninstall=0
if [ "${1:-}" = "--uninstall" ]; then
  uninstall=1
  shift
fi
root="${DENO_INSTALL_ROOT:-$HOME/.deno}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --root) root="${args[i + 1]:-}" ;;
    --root=*) root="${args[i]#--root=}" ;;
  esac
done

if [ "$uninstall" = 1 ]; then
  deno uninstall --global -q "$@" bypassrt
  echo "removed $(cd "$root" && pwd)/bin/bypassrt"
  exit 0
fi

# The shim runs the native parts from build/: build them when missing or older than their source.
if [ ! -f "$src/build/xdp_steer.o" ] || [ "$src/bpf/xdp_steer.c" -nt "$src/build/xdp_steer.o" ] ||
  [ ! -f "$src/build/libbypass_helper.so" ] ||
  [ "$src/ffi/helper.c" -nt "$src/build/libbypass_helper.so" ]; then
  bash "$src/scripts/build.sh"
fi
# V8 tiering flags for the polling loop: the same string as BYPASSRT_V8_FLAGS in
# engine/v8_flags.ts (tests/unit/v8_flags_test.ts checks they agree).
v8_flags="--invocation-count-for-maglev=50,--invocation-count-for-turbofan=200,--minimum-invocations-after-ic-update=20"
# Options before the script path: anything after it would be baked into the shim as arguments.
deno install --global -A -f -q -n bypassrt --config "$src/deno.json" --v8-flags="$v8_flags" "$@" \
  "$src/cli/main.ts"
root="$(cd "$root" && pwd)"
echo "installed $root/bin/bypassrt (runs $src/cli/main.ts)"
if [ "$(command -v bypassrt || true)" != "$root/bin/bypassrt" ]; then
  echo "add it to PATH: export PATH=\"$root/bin:\$PATH\""
fi
