/**
 * Where the build outputs live: `build/` beside the sources, or `$BYPASSRT_BUILD_DIR` (the compiled
 * binary unpacks its embedded copies there).
 *
 * @module
 */

/** Directory holding `xdp_steer.o` and `libbypass_helper.so`. */
export function buildDir(): string {
  const env = Deno.env.get("BYPASSRT_BUILD_DIR");
  if (env) return env;
  return new URL("../build/", import.meta.url).pathname;
}

/** Path of the steering BPF object. */
export function bpfObjectPath(): string {
  return `${buildDir().replace(/\/$/, "")}/xdp_steer.o`;
}

/** Path of the helper shared library. */
export function helperPath(): string {
  return `${buildDir().replace(/\/$/, "")}/libbypass_helper.so`;
}
