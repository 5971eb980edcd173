/**
 * Running system tools (ip, ethtool) for the setup commands, with one-line errors.
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

/** Run `cmd args...`; never throws for a non-zero exit (see {@link mustSh}). */
export async function sh(cmd: string, ...args: string[]): Promise<ShResult> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch {
    throw new BypassError(`${cmd} not found: install it (apt-get install iproute2 ethtool)`);
  }
}

/** Run and throw a one-line BypassError when it fails. */
export async function mustSh(cmd: string, ...args: string[]): Promise<string> {
  const r = await sh(cmd, ...args);
  if (r.code !== 0) {
    throw new BypassError(`'${cmd} ${args.join(" ")}' failed: ${r.stderr.trim().split("\n")[0]}`);
  }
  return r.stdout;
}
