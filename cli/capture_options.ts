/**
 * The capture flags of the run command (`--pcap FILE`, `--pcap-tx`, `--pcap-snaplen N`,
 * `--pcap-max-mb N`), validated before anything is attached, each failure one line.
 *
 * @module
 */
import { BypassError } from "../engine/errors.ts";
import { type CaptureOptions, MAX_SNAPLEN } from "../capture/mod.ts";

/** The capture flags as commander hands them over. */
export interface CaptureFlags {
  /** pcapng file to write. */
  pcap?: string;
  /** Capture sent frames too. */
  pcapTx?: boolean;
  /** Bytes per frame at most. */
  pcapSnaplen?: string;
  /** Stop writing at this many MB (10^6 bytes). */
  pcapMaxMb?: string;
}

/** Largest `--pcap-max-mb` (a petabyte: no real limit, but a number we can count exactly). */
const MAX_MB = 1e9;

/**
 * Capture options from the flags, or undefined without `--pcap`. Checks the path can be a file
 * (its directory exists; it is not a directory) without creating it: the engine creates it just
 * before attaching.
 */
export function captureFromFlags(f: CaptureFlags): CaptureOptions | undefined {
  if (f.pcap === undefined) {
    for (
      const [flag, v] of [["--pcap-tx", f.pcapTx], ["--pcap-snaplen", f.pcapSnaplen], [
        "--pcap-max-mb",
        f.pcapMaxMb,
      ]] as const
    ) {
      if (v !== undefined) throw new BypassError(`${flag} goes with --pcap FILE: add --pcap FILE`);
    }
    return undefined;
  }
  const path = f.pcap;
  if (path === "") throw new BypassError("--pcap needs a file name: --pcap FILE");
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  let isDir = false;
  try {
    isDir = Deno.statSync(dir).isDirectory;
  } catch { /* reported below */ }
  if (!isDir) {
    throw new BypassError(`--pcap ${path}: directory ${dir} does not exist: give a writable path`);
  }
  try {
    if (Deno.statSync(path).isDirectory) {
      throw new BypassError(`--pcap ${path} is a directory: give a file name`);
    }
  } catch (e) {
    if (e instanceof BypassError) throw e;
  }
  const num = (flag: string, v: string | undefined, min: number, max: number) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new BypassError(`${flag} "${v}" is invalid: give a whole number from ${min} to ${max}`);
    }
    return Number(v);
  };
  const snaplen = num("--pcap-snaplen", f.pcapSnaplen, 1, MAX_SNAPLEN);
  const mb = num("--pcap-max-mb", f.pcapMaxMb, 1, MAX_MB);
  return {
    path,
    tx: f.pcapTx ?? false,
    snaplen,
    maxBytes: mb === undefined ? 0 : mb * 1e6,
  };
}
