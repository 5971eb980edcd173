#!/usr/bin/env bash
# Build byPassRT's native parts into build/: the XDP steering program (clang -target bpf), the
# small C helper library, and the fake AF_XDP kernel the unit tests and the engine benchmark use.
# Needs clang, gcc, libbpf-dev and libxdp-dev (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
arch_inc="/usr/include/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
clang -O2 -g -Wall -Werror -target bpf -I"$arch_inc" -c bpf/xdp_steer.c -o build/xdp_steer.o
gcc -O2 -Wall -Werror -shared -fPIC ffi/helper.c -o build/libbypass_helper.so -lbpf -lxdp
# Build to a temporary name and rename: a process using the old library keeps its copy.
gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o build/libfakekernel.so.$$ testing/fake_kernel.c
mv -f build/libfakekernel.so.$$ build/libfakekernel.so
echo "built build/xdp_steer.o build/libbypass_helper.so build/libfakekernel.so"
