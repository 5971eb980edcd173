/**
 * Running system tools (ip, bpftool) for the status command, with one-line errors.
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
