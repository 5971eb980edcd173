/** The V8 flags are defined once (engine/v8_flags.ts); the launchers that repeat them agree. */
import { ok } from "node:assert/strict";
import { BYPASSRT_V8_FLAGS } from "../../engine/v8_flags.ts";

const root = new URL("../../", import.meta.url);

Deno.test("deno.json's start task runs cli/main.ts with BYPASSRT_V8_FLAGS", () => {
  const start = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root))).tasks.start;
  ok(start.includes(`--v8-flags=${BYPASSRT_V8_FLAGS} cli/main.ts`), start);
});

Deno.test("scripts/install.sh installs the shim with BYPASSRT_V8_FLAGS", () => {
  const sh = Deno.readTextFileSync(new URL("scripts/install.sh", root));
  ok(sh.includes(`v8_flags="${BYPASSRT_V8_FLAGS}"`), "install.sh v8_flags differs");
  ok(sh.includes(`--v8-flags="$v8_flags"`), "install.sh does not pass v8_flags");
});

Deno.test("scripts/compile.sh bakes BYPASSRT_V8_FLAGS into the binary", () => {
  const sh = Deno.readTextFileSync(new URL("scripts/compile.sh", root));
  ok(sh.includes(`v8_flags="${BYPASSRT_V8_FLAGS}"`), "compile.sh v8_flags differs");
  ok(sh.includes(`--v8-flags="$v8_flags"`), "compile.sh does not pass v8_flags");
});

Deno.test("every flag is one V8 knows (deno run rejects unknown ones)", async () => {
  const out = await new Deno.Command("deno", {
    args: ["eval", `--v8-flags=${BYPASSRT_V8_FLAGS}`, "1"],
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  ok(out.code === 0 && !/unrecognized|error/i.test(err), err);
});
