/**
 * Type-checking a handler file before it is loaded (at start and on reload), when the engine runs
 * from source under `deno`: `deno check` of a small wrapper that assigns the file's default export
 * to a {@link Handler}. Implicit `any` is allowed (a plain handler file has no type annotations);
 * anything else TypeScript finds is reported as one line. Under the compiled binary there is no
 * `deno` to run: the check is skipped (the contract is still checked when the module loads).
 *
 * @module
 */
import { HandlerError } from "./handler.ts";

const HANDLER_TYPES = new URL("./handler.ts", import.meta.url).href;

/** True when this process is the `deno` CLI (so `deno check` can run). */
export function canTypeCheck(): boolean {
  return /(^|\/)deno$/.test(Deno.execPath());
}

/**
 * Type-check the handler at `url` (`.ts`, `.mts`, `.tsx` files; others are not checked). Throws a
 * {@link HandlerError} whose message is the first error TypeScript reports.
 */
export async function typeCheckHandler(url: string): Promise<void> {
  const path = decodeURIComponent(new URL(url).pathname);
  if (!/\.(ts|mts|tsx)$/.test(path) || !canTypeCheck()) return;
  const dir = await Deno.makeTempDir({ prefix: "bypassrt-check-" });
  try {
    const wrapper = `${dir}/check.ts`;
    await Deno.writeTextFile(
      wrapper,
      `import handler from ${JSON.stringify(new URL(url).href)};\n` +
        `import type { Handler } from ${JSON.stringify(HANDLER_TYPES)};\n` +
        `export const checked: Handler = handler;\n`,
    );
    const config = `${dir}/deno.json`;
    await Deno.writeTextFile(config, JSON.stringify({ compilerOptions: { noImplicitAny: false } }));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "-q", "--config", config, "--no-lock", wrapper],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (out.code !== 0) {
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      // deno-lint-ignore no-control-regex
      const lines = text.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim());
      const err = lines.find((l) => /^TS\d+|error:/.test(l)) ?? lines.find((l) => l) ?? "";
      // Where, when it is in the handler's own file (not in the wrapper).
      const at = lines.find((l) => l.startsWith("at file://") && !l.includes(wrapper)) ?? "";
      const what = err.replace(/^TS\d+ \[ERROR\]:\s*/, "").replace(/^error:\s*/, "");
      throw new HandlerError(
        `handler ${path} does not type-check: ${what}` +
          (at ? ` (${decodeURIComponent(at.replace(/^at file:\/\//, ""))})` : ""),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
