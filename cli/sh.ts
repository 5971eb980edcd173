/**
 * Running system tools (ip, ethtool, bpftool) for the CLI and the topology builder, with
 * one-line errors.
 *
 * @module
 */
import { BypassError } from "../engine/errors.ts";

/** Result of a command. */
export interface ShResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `cmd args...`; never throws for a non-zero exit (the caller reads `code`). */
export async function sh(cmd: string, ...args: string[]): Promise<ShResult> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch {
    throw new BypassError(`${cmd} not found: install it (apt-get install iproute2 ethtool)`);
  }
}

/** Run `cmd args...`; a non-zero exit becomes a one-line BypassError naming the command. */
export async function mustSh(cmd: string, ...args: string[]): Promise<string> {
  const r = await sh(cmd, ...args);
  if (r.code !== 0) {
    throw new BypassError(`'${cmd} ${args.join(" ")}' failed: ${r.stderr.trim().split("\n")[0]}`);
  }
  return r.stdout;
}
