/**
 * Where the native build outputs live. From a source checkout: `build/` beside the sources, found
 * from this module's URL, not the working directory; the `bypassrt` that `deno task install` puts
 * on PATH runs the checkout's `cli/main.ts` by its file URL, so it finds them the same way. In
 * the single `bypassrt` binary (`deno compile --include build/...`) the files are embedded in
 * Deno's virtual file system, which libbpf and dlopen cannot read: they are copied once into a
 * private temporary directory (mode 0700), removed again at exit. `BYPASSRT_BUILD_DIR` overrides
 * both; `BYPASSRT_MATERIALIZE=1` forces the copy (to test that path without compiling).
 *
 * @module
 */

const FILES = ["xdp_steer.o", "libbypass_helper.so"] as const;
let resolved: string | undefined;

function embeddedDir(): string {
  return new URL("../build/", import.meta.url).pathname.replace(/\/$/, "");
}

/** True when running from a `deno compile` binary. */
export function isCompiled(): boolean {
  return Deno.mainModule.includes("/deno-compile-") || import.meta.url.includes("/deno-compile-");
}

function materialize(from: string): string {
  const dir = Deno.makeTempDirSync({ prefix: "bypassrt-" });
  Deno.chmodSync(dir, 0o700);
  for (const f of FILES) {
    try {
      Deno.writeFileSync(`${dir}/${f}`, Deno.readFileSync(`${from}/${f}`), { mode: 0o600 });
    } catch {
      // Missing file: the loader names it and the fix (deno task build).
    }
  }
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  });
  return dir;
}

/** Directory holding `xdp_steer.o` and `libbypass_helper.so`. */
export function buildDir(): string {
  if (resolved) return resolved;
  const env = Deno.env.get("BYPASSRT_BUILD_DIR");
  if (env) return resolved = env.replace(/\/$/, "");
  const dir = embeddedDir();
  const copy = isCompiled() || Deno.env.get("BYPASSRT_MATERIALIZE") === "1";
  return resolved = copy ? materialize(dir) : dir;
}

/** Path of the steering BPF object. */
export function bpfObjectPath(): string {
  return `${buildDir()}/xdp_steer.o`;
}

/** Path of the helper shared library. */
export function helperPath(): string {
  return `${buildDir()}/libbypass_helper.so`;
}
