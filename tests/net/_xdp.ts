/**
 * XDP fixtures for the net tests: compile a BPF C file (tests/net/fixtures/) and attach an object
 * as a foreign program with iproute2, as another tool would.
 *
 * @module
 */
import { run } from "./_netns.ts";

/** The fixtures folder (tests/net/fixtures/), with a trailing slash. */
export const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

/** Compile the BPF C file `src` into the object `out` (clang -target bpf, with BTF). */
export async function compileBpf(src: string, out: string): Promise<void> {
  await run(
    "clang",
    "-O2",
    "-g",
    "-Wall",
    "-target",
    "bpf",
    "-I/usr/include/x86_64-linux-gnu",
    "-c",
    src,
    "-o",
    out,
  );
}

/** Attach the object `obj`'s section `xdp` to `dev` in namespace `ns`, generic mode (ip link). */
export async function attachGenericXdp(ns: string, dev: string, obj: string): Promise<void> {
  await run("ip", "-n", ns, "link", "set", "dev", dev, "xdpgeneric", "obj", obj, "sec", "xdp");
}
