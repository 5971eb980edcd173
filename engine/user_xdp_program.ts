/**
 * A user's own XDP program (`--xdp-prog FILE.o [--xdp-section NAME]`) instead of ours: load the
 * object with libbpf, pick its XDP program, check the contract (a map named `xsks_map` of type
 * BPF_MAP_TYPE_XSKMAP with an entry per RX queue served), attach it as we attach ours. byPassRT
 * then inserts its sockets into `xsks_map`; what goes to user space is that program's choice, so
 * there are no program counters, no steering map and no blocklist.
 *
 * @module
 */
import { fragsProblem } from "./multi_buffer.ts";
import { ifIndex } from "./_sys.ts";
import { AttachedProgram, type AttachedProgramParts } from "./attached_program.ts";
import { BPF_XDP, openLibbpf } from "../ffi/libbpf.ts";
import {
  BPF_MAP_TYPE_XSKMAP,
  BPF_PROG_TYPE_XDP,
  type LibbpfObject,
  openLibbpfObject,
} from "../ffi/libbpf_object.ts";
import { lastLibLog, openHelper } from "../ffi/helper.ts";
import { cstr, Errno } from "../ffi/libc.ts";
import { BypassError, PRIVILEGE_HINT } from "./errors.ts";
import { helperPath } from "./paths.ts";
import { attachLink, claimInterface, programId, type XdpMode } from "./xdp_attach.ts";

/** The map a user's program must have: byPassRT puts its sockets there, keyed by RX queue. */
export const XSKS_MAP = "xsks_map";

/** Options of {@link loadUserXdpProgram}. */
export interface UserXdpProgramOptions {
  /** Interface to attach to. */
  iface: string;
  /** Path of the compiled BPF object (clang -target bpf). */
  path: string;
  /**
   * ELF section of the program to attach (e.g. `xdp` or `xdp/foo`); default: the object's only
   * XDP program.
   */
  section?: string;
  /** RX queues that will be served: `xsks_map` needs an entry for each. */
  queues: number[];
  /** Attach mode (default auto: native, else skb). */
  mode?: XdpMode;
  /** Replace an XDP program someone else attached (default false: refuse). */
  force?: boolean;
}

/** What the snapshot says about a user's program (`user_program`). */
export interface UserProgramInfo {
  /** The object file, as given. */
  file: string;
  /** ELF section of the attached program. */
  section: string;
  /** The program's (function's) name. */
  name: string;
  /** Its id in the kernel. */
  id: number;
}

/** A user's XDP program, loaded and attached (its XSKMAP is `xsks_map`). */
export class UserXdpProgram extends AttachedProgram {
  /** File, section, name and id, as the snapshot reports them. */
  readonly info: UserProgramInfo;

  /** @internal Use {@link loadUserXdpProgram}. */
  constructor(p: Omit<AttachedProgramParts, "progId"> & { info: UserProgramInfo }) {
    super({ ...p, progId: p.info.id });
    this.info = p.info;
  }
}

/**
 * Throw a BypassError unless `path` is a readable file (checked before anything is attached).
 */
export function checkUserObjectFile(path: string): void {
  let isFile = false;
  try {
    isFile = Deno.statSync(path).isFile;
  } catch {
    // reported below
  }
  if (!isFile) {
    throw new BypassError(
      `--xdp-prog ${path}: no such file: give a compiled XDP object (clang -O2 -target bpf -c)`,
    );
  }
}

const VERIFIER_LOG_SIZE = 1 << 20;
let verifierLog: Uint8Array | undefined;

/**
 * Load the user's object at `o.path`, check the `xsks_map` contract and attach the chosen XDP
 * program to `o.iface`. Every refusal is one line naming the problem; nothing stays attached or
 * loaded then.
 *
 * @example
 * ```ts ignore
 * import { loadUserXdpProgram } from "./user_xdp_program.ts";
 * const prog = loadUserXdpProgram({ iface: "veth-bypass", path: "my_xdp.o", queues: [0] });
 * console.log(prog.info, prog.mode);
 * prog.close();
 * ```
 */
export function loadUserXdpProgram(o: UserXdpProgramOptions): UserXdpProgram {
  const mode = o.mode ?? "auto";
  if (!["auto", "native", "skb"].includes(mode)) {
    throw new BypassError(`XDP mode "${mode}" is invalid: --xdp-mode must be auto, native or skb`);
  }
  checkUserObjectFile(o.path);
  const ifindex = ifIndex(o.iface);
  if (ifindex === 0) {
    throw new BypassError(`interface ${o.iface} not found: check the name with 'ip link'`);
  }
  const helper = openHelper(helperPath());
  helper.symbols.bpx_log_capture(Deno.env.get("BYPASSRT_VERBOSE") ? 1 : 0);
  const bpf = openLibbpf();
  const lib = openLibbpfObject();
  const s = bpf.symbols;
  const release: (() => void)[] = [() => lib.close(), () => bpf.close(), () => helper.close()];
  const fail = (msg: string, errno = 0): never => {
    for (const f of release) f();
    throw new BypassError(msg, errno);
  };
  const file = o.path;

  const obj = s.bpf_object__open_file(cstr(file), null);
  if (!obj) {
    fail(`--xdp-prog ${file} is not a BPF object: ${lastLibLog(helper) || "cannot open it"}`);
  }
  release.unshift(() => s.bpf_object__close(obj));

  const prog = chooseProgram(lib, obj, file, o.section, fail);
  const section = cString(lib.symbols.bpf_program__section_name(prog));
  const name = cString(lib.symbols.bpf_program__name(prog));
  const frags = fragsProblem(file, section, o.iface, mode);
  if (frags) fail(frags);

  const map = s.bpf_object__find_map_by_name(obj, cstr(XSKS_MAP));
  if (!map) {
    fail(
      `${file} has no map named ${XSKS_MAP}: the contract is a BPF_MAP_TYPE_XSKMAP named ` +
        `${XSKS_MAP} keyed by RX queue (see README, "Your own XDP program")`,
    );
  }
  const type = lib.symbols.bpf_map__type(map);
  if (type !== BPF_MAP_TYPE_XSKMAP) {
    fail(
      `${file}: map ${XSKS_MAP} is a ${mapTypeName(type)}, not a BPF_MAP_TYPE_XSKMAP: ` +
        `declare it with __uint(type, BPF_MAP_TYPE_XSKMAP)`,
    );
  }
  const entries = lib.symbols.bpf_map__max_entries(map);
  const highest = Math.max(...o.queues);
  if (entries <= highest) {
    fail(
      `${file}: map ${XSKS_MAP} has ${entries} ${
        entries === 1 ? "entry" : "entries"
      }, queue ${highest} needs at least ` +
        `${highest + 1}: raise its max_entries`,
    );
  }

  // The verifier's log of a failed load lands here (the kernel keeps its tail when it is long).
  // Module-held: libbpf keeps the raw pointer, the buffer must outlive every load.
  const log = verifierLog ??= new Uint8Array(VERIFIER_LOG_SIZE);
  log.fill(0);
  lib.symbols.bpf_program__set_log_buf(prog, Deno.UnsafePointer.of(log), BigInt(log.length));
  helper.symbols.bpx_clear_log();
  const loaded = s.bpf_object__load(obj);
  if (loaded < 0) {
    if (loaded === -Errno.EPERM && !verifierSaid(log)) {
      fail(`cannot load ${file} into the kernel: ${PRIVILEGE_HINT}`, -loaded);
    }
    const why = lastVerifierLine(log);
    fail(
      why
        ? `the kernel's verifier rejected ${name} (section ${section}) of ${file}: ${why}`
        : `cannot load ${file} into the kernel: ${lastLibLog(helper) || `errno ${-loaded}`}`,
      -loaded,
    );
  }
  const progFd = s.bpf_program__fd(prog);
  const xsksMapFd = s.bpf_object__find_map_fd_by_name(obj, cstr(XSKS_MAP));
  if (progFd < 0 || xsksMapFd < 0) fail(`cannot reach the loaded program or map of ${file}`);

  let attached;
  try {
    claimInterface(bpf, ifindex, o.iface, o.force ?? false);
    attached = attachLink(bpf, progFd, ifindex, o.iface, mode);
  } catch (e) {
    fail((e as BypassError).message, (e as BypassError).errno ?? 0);
  }
  lib.close();
  return new UserXdpProgram({
    iface: o.iface,
    ifindex,
    mode: attached!.mode,
    nativeFallback: attached!.nativeFallback,
    xsksMapFd,
    linkFd: attached!.linkFd,
    info: { file, section, name, id: programId(bpf, progFd) },
    bpf,
    helper,
    obj,
  });
}

/**
 * The XDP program of `obj` to attach: the one in `section`, else the only one. Every other
 * program of the object is not loaded.
 */
function chooseProgram(
  lib: LibbpfObject,
  obj: Deno.PointerValue,
  file: string,
  section: string | undefined,
  fail: (msg: string) => never,
): Deno.PointerObject {
  const all: { prog: Deno.PointerObject; section: string; name: string; xdp: boolean }[] = [];
  for (
    let p = lib.symbols.bpf_object__next_program(obj, null);
    p;
    p = lib.symbols.bpf_object__next_program(obj, p)
  ) {
    const sec = cString(lib.symbols.bpf_program__section_name(p));
    all.push({
      prog: p,
      section: sec,
      name: cString(lib.symbols.bpf_program__name(p)),
      xdp: isXdpSection(sec, lib.symbols.bpf_program__type(p)),
    });
  }
  const xdp = all.filter((p) => p.xdp);
  const sections = xdp.map((p) => p.section).join(", ");
  if (xdp.length === 0) {
    fail(`${file} has no XDP program: put one in SEC("xdp") (or pass the right object)`);
  }
  const pick = section === undefined ? xdp : xdp.filter((p) => p.section === section);
  if (pick.length === 0) {
    fail(`${file} has no XDP program in section "${section}": its XDP sections are ${sections}`);
  }
  if (pick.length > 1) {
    fail(
      section === undefined
        ? `${file} has ${xdp.length} XDP programs (sections ${sections}): choose one with ` +
          `--xdp-section NAME`
        : `${file} has ${pick.length} XDP programs in section "${section}" ` +
          `(${
            pick.map((p) => p.name).join(", ")
          }): give each its own section, e.g. SEC("xdp/NAME")`,
    );
  }
  const chosen = pick[0];
  for (const p of all) lib.symbols.bpf_program__set_autoload(p.prog, p === chosen);
  // libbpf 1.x knows SEC("xdp") and SEC("xdp.frags") only: an SEC("xdp/NAME") program (the
  // older convention, and the way to have several in one object) is typed here.
  lib.symbols.bpf_program__set_type(chosen.prog, BPF_PROG_TYPE_XDP);
  lib.symbols.bpf_program__set_expected_attach_type(chosen.prog, BPF_XDP);
  return chosen.prog;
}

/**
 * Whether a program is an interface XDP program: libbpf typed it XDP, or its section is
 * `xdp/NAME` (which libbpf 1.x leaves untyped); devmap/cpumap programs are not.
 */
function isXdpSection(section: string, type: number): boolean {
  if (/^xdp(\.frags)?\/(devmap|cpumap)/.test(section)) return false;
  return type === BPF_PROG_TYPE_XDP || /^xdp(\.frags)?\/./.test(section);
}

const MAP_TYPES: Record<number, string> = {
  1: "HASH",
  2: "ARRAY",
  3: "PROG_ARRAY",
  5: "PERCPU_HASH",
  6: "PERCPU_ARRAY",
  9: "LRU_HASH",
  11: "LPM_TRIE",
  14: "DEVMAP",
  16: "CPUMAP",
  27: "RINGBUF",
};

function mapTypeName(type: number): string {
  return MAP_TYPES[type] ? `BPF_MAP_TYPE_${MAP_TYPES[type]} (${type})` : `map of type ${type}`;
}

function cString(p: Deno.PointerValue): string {
  return p ? Deno.UnsafePointerView.getCString(p) : "";
}

function logLines(log: Uint8Array): string[] {
  const end = log.indexOf(0);
  return new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end)).split("\n")
    .map((l) => l.trim()).filter((l) => l !== "");
}

function verifierSaid(log: Uint8Array): boolean {
  return logLines(log).length > 0;
}

/**
 * The verifier's last meaningful line (its statistics lines and the instruction dump skipped),
 * with the line before it when that is part of the same complaint.
 *
 * @example
 * ```ts
 * import { lastVerifierText } from "./user_xdp_program.ts";
 * lastVerifierText("2: (71) r0 = *(u8 *)(r2 +12)\ninvalid access to packet\nprocessed 3 insns");
 * // "invalid access to packet"
 * ```
 */
export function lastVerifierText(text: string): string {
  const stat = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|-- END)/;
  const insn = /^(\d+: |; |\d+: \(|from \d+ to \d+:)/;
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !stat.test(l));
  const last = lines.length - 1;
  if (last < 0) return "";
  const before = lines[last - 1];
  return before !== undefined && !insn.test(before) && !insn.test(lines[last])
    ? `${before}: ${lines[last]}`
    : lines[last];
}

function lastVerifierLine(log: Uint8Array): string {
  return lastVerifierText(logLines(log).join("\n"));
}
