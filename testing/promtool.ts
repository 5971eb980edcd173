/**
 * `promtool check metrics` (Debian's prometheus package) on a Prometheus text exposition: the
 * real parser's verdict, for the tests.
 *
 * @module
 */

/** Run `promtool check metrics` on `text`: its exit code and everything it printed. */
export async function promtool(text: string): Promise<{ code: number; out: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const r = await child.output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}
