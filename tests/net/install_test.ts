/**
 * `deno task install`: the `bypassrt` shim it puts on PATH runs from any directory, finds the
 * polling Worker and build/ beside its sources, prints nothing of Deno's own, and serves a veth
 * in namespaces of our own; `deno task uninstall` removes it. Installs into a temporary root only.
 */
import { ok, strictEqual } from "node:assert/strict";
import { sendUdp, withTopology, xdpAttached } from "./_netns.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const MAIN = new URL("../../cli/main.ts", import.meta.url).href;
const VERSION: string = JSON.parse(Deno.readTextFileSync(CONFIG)).version;
const dec = new TextDecoder();

/** stderr lines without ANSI escapes, Deno's "Download ..." lines and deno task's "Task ..." line. */
function stderrLines(stderr: string): string[] {
  // deno-lint-ignore no-control-regex
  return stderr.replace(/\x1b\[[0-9;]*m/g, "").split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("Download ") && !l.startsWith("Task "));
}

/** The environment of a user with ROOT/bin and deno on PATH (no RUST_BACKTRACE). */
function userEnv(root: string): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.RUST_BACKTRACE;
  delete env.DENO_INSTALL_ROOT;
  const denoDir = Deno.execPath().replace(/\/[^/]+$/, "");
  env.PATH = `${root}/bin:${denoDir}:${env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`;
  return env;
}

/** Run `cmd args` from / (not the checkout) as that user. */
async function fromRoot(root: string, cmd: string, args: string[]) {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: "/",
    env: userEnv(root),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test(
  "deno task install: bypassrt on PATH works from /, serves a veth, uninstall removes it",
  T,
  async () => {
    const root = await Deno.makeTempDir({ prefix: "bpt-install-" });
    const shim = `${root}/bin/bypassrt`;
    try {
      // The task, as a user types it, from a directory outside the checkout.
      const inst = await fromRoot(root, "deno", [
        "task",
        "--config",
        CONFIG,
        "install",
        "--root",
        root,
      ]);
      strictEqual(inst.code, 0, inst.stderr);
      ok(inst.stdout.includes(`installed ${shim} (runs `), inst.stdout);
      const text = await Deno.readTextFile(shim);
      ok(text.includes(" --quiet ") && text.includes(`'${MAIN}'`), text);

      const help = await fromRoot(root, "bypassrt", ["--help"]);
      strictEqual(help.code, 0, help.stderr);
      ok(help.stdout.startsWith("Usage: bypassrt [options] [command]"), help.stdout);
      strictEqual(stderrLines(help.stderr).length, 0, help.stderr);

      const version = await fromRoot(root, "bypassrt", ["--version"]);
      strictEqual(version.code, 0, version.stderr);
      strictEqual(version.stdout, `${VERSION}\n`);
      strictEqual(stderrLines(version.stderr).length, 0, version.stderr);

      await withTopology(async (t) => {
        // The brief run: XDP program, Worker, helper and BPF object all found from the shim.
        const args = ["--iface", t.dutIf, "--mode", "rxdrop", "--duration", "1", "--json"];
        const r = await fromRoot(root, "ip", ["netns", "exec", t.dut, "bypassrt", ...args]);
        strictEqual(r.code, 0, r.stderr);
        strictEqual(stderrLines(r.stderr).length, 0, r.stderr);
        const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
        const final = lines[lines.length - 1];
        strictEqual(final.final, true, r.stdout);
        strictEqual(final.stop_reason, "duration");
        strictEqual(final.balanced, true, r.stdout);
        strictEqual(final.iface, t.dutIf);
        strictEqual(await xdpAttached(t.dut, t.dutIf), false, "detached at exit");

        // And it processes frames: exactly 100 UDP frames from the peer, then it stops by count.
        const child = new Deno.Command("ip", {
          args: [
            "netns",
            "exec",
            t.dut,
            "bypassrt",
            "--iface",
            t.dutIf,
            "--mode",
            "rxdrop",
            "--count",
            "100",
            "--duration",
            "30",
            "--interval",
            "0.2",
            "--json",
          ],
          cwd: "/",
          env: userEnv(root),
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let out = "";
        while (!out.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          out += value;
        }
        ok(out.includes("\n"), "no first JSON line: the engine did not start");
        await sendUdp(t, 100, 9000);
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          out += value;
        }
        const [status, errBytes] = await Promise.all([
          child.status,
          new Response(child.stderr).arrayBuffer(),
        ]);
        const err = dec.decode(errBytes);
        strictEqual(status.code, 0, err);
        strictEqual(stderrLines(err).length, 0, err);
        const last = JSON.parse(out.trim().split("\n").pop()!);
        strictEqual(last.final, true, out);
        strictEqual(last.stop_reason, "done", out); // the Worker reached --count
        strictEqual(last.total.rx_packets, 100, out);
        strictEqual(last.balanced, true, out);
      });

      const un = await fromRoot(root, "deno", [
        "task",
        "--config",
        CONFIG,
        "uninstall",
        "--root",
        root,
      ]);
      strictEqual(un.code, 0, un.stderr);
      ok(un.stdout.includes(`removed ${shim}`), un.stdout);
      strictEqual([...Deno.readDirSync(`${root}/bin`)].length, 0, "shim and .bypassrt removed");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
