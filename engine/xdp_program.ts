/**
 * Our steering XDP program (`bpf/xdp_steer.c`): load it with libbpf, configure what it steers,
 * attach it with a bpf_link (the kernel detaches it when the last fd closes, also when the
 * process is killed), read its per-CPU counters, detach.
 *
 * @module
 */
import { ifIndex } from "./_sys.ts";
import { type Libbpf, openLibbpf } from "../ffi/libbpf.ts";
import { lastLibLog, openHelper } from "../ffi/helper.ts";
import { cstr, Errno } from "../ffi/libc.ts";
import { BypassError, PRIVILEGE_HINT } from "./errors.ts";
import { bpfObjectPath, helperPath } from "./paths.ts";
import { BlockMaps } from "./block_maps.ts";
import type { Cidr } from "./blocklist.ts";
import { formatIPv4, formatIPv6 } from "../packet/mod.ts";
import { attachLink, claimInterface, programId, type XdpMode } from "./xdp_attach.ts";
import { AttachedProgram, type AttachedProgramParts } from "./attached_program.ts";

export { attachedProgramId, programName, type XdpMode } from "./xdp_attach.ts";

/** What the program sends to user space; everything else goes to the kernel (XDP_PASS). */
export interface Steering {
  /** Redirect every frame. */
  all: boolean;
  /** UDP destination ports to redirect, over IPv4 and IPv6 (when `all` is false). */
  udpPorts: number[];
  /** Host-order IPv4 address to steer ARP and ICMP echo requests for (0: none). */
  respondIp: number;
  /**
   * IPv6 address (16 bytes) to steer Neighbor Solicitations and ICMPv6 echo requests for
   * (default: none).
   */
  respondIp6?: Uint8Array;
  /** Steer 802.1Q/802.1ad-tagged frames (one tag, any VLAN id) by their inner header [false]. */
  vlan?: boolean;
}

/** The program's counters, summed over CPUs. */
export interface ProgramCounters {
  /** Frames redirected to an AF_XDP socket. */
  redirected: number;
  /** Frames left to the kernel stack (XDP_PASS). */
  passed: number;
  /** Frames meant for user space but dropped: no socket on their queue. */
  dropped: number;
  /** Frames dropped because their source address is in the blocklist. */
  blocked: number;
}

/** sizeof(struct bypass_config) in bpf/xdp_steer.c. */
const CONFIG_SIZE = 32;

/** Default blocklist capacity (prefixes, IPv4 and IPv6 together). */
export const DEFAULT_BLOCK_MAX = 1 << 20;
/** Largest --block-max accepted. */
export const MAX_BLOCK_MAX = 1 << 24;

/** Options of {@link loadXdpProgram}. */
export interface XdpProgramOptions {
  /** Interface to attach to. */
  iface: string;
  /** Attach mode (default auto: native, else skb). */
  mode?: XdpMode;
  /** What to steer to user space. */
  steering: Steering;
  /** Path of the BPF object (default: build/xdp_steer.o). */
  objectPath?: string;
  /** Replace an XDP program someone else attached (default false: refuse). */
  force?: boolean;
  /**
   * Blocklist capacity in prefixes (default {@link DEFAULT_BLOCK_MAX}). The per-CPU counter
   * array is allocated at load: capacity x (8 bytes x possible CPUs + 8).
   */
  blockMax?: number;
  /** Prefixes to block, written before the program is attached. */
  block?: Cidr[];
  /**
   * Stamp each redirected frame with bpf_ktime_get_ns() in 8 bytes of XDP metadata (default
   * true; false: the program carries no stamping code at all).
   */
  timestamps?: boolean;
}

/** A loaded and attached steering program. */
export class XdpProgram extends AttachedProgram {
  /** The blocklist maps (add, delete, list prefixes). */
  readonly blocklist: BlockMaps;
  readonly #bpf: Libbpf;
  readonly #countersFd: number;
  readonly #portsFd: number;
  readonly #ncpus: number;
  readonly #steering: Steering;
  readonly #ports: Set<number>;

  /** @internal Use {@link loadXdpProgram}. */
  constructor(
    p: AttachedProgramParts & {
      countersFd: number;
      portsFd: number;
      steering: Steering;
      blocklist: BlockMaps;
    },
  ) {
    super(p);
    this.#bpf = p.bpf;
    this.#countersFd = p.countersFd;
    this.#portsFd = p.portsFd;
    this.#steering = p.steering;
    this.#ports = new Set(p.steering.udpPorts);
    this.blocklist = p.blocklist;
    this.#ncpus = p.bpf.symbols.libbpf_num_possible_cpus();
  }

  /** Read the per-CPU counters and sum them. */
  counters(): ProgramCounters {
    const values = new BigUint64Array(this.#ncpus);
    const key = new Uint32Array(1);
    const sums = [0, 0, 0, 0];
    for (let k = 0; k < sums.length; k++) {
      key[0] = k;
      if (this.#bpf.symbols.bpf_map_lookup_elem(this.#countersFd, key, values) !== 0) continue;
      for (const v of values) sums[k] += Number(v);
    }
    return { redirected: sums[0], passed: sums[1], dropped: sums[2], blocked: sums[3] };
  }

  /**
   * What is steered now: UDP ports sorted, respond addresses as text ("" if none), whether tagged
   * frames are steered by their inner header.
   */
  steering(): {
    all: boolean;
    udpPorts: number[];
    respondIp: string;
    respondIp6: string;
    vlan: boolean;
  } {
    return {
      all: this.#steering.all,
      udpPorts: [...this.#ports].sort((a, b) => a - b),
      respondIp: this.#steering.respondIp ? formatIPv4(this.#steering.respondIp >>> 0) : "",
      respondIp6: this.#steering.respondIp6 ? formatIPv6(this.#steering.respondIp6) : "",
      vlan: this.#steering.vlan ?? false,
    };
  }

  /**
   * Steer UDP destination `ports` (1-65535) to user space too, in place: the program reads the
   * map per frame, so no frame is lost. Ports already steered are no error.
   */
  steerAdd(ports: number[]): void {
    this.#checkPorts(ports);
    if (this.#steering.all) {
      throw new BypassError(
        "steering is 'all': every frame already goes to user space; start with --steer none " +
          "or udp:PORT to steer single ports",
      );
    }
    for (const port of ports) {
      this.#setPort(port, 1);
      this.#ports.add(port);
    }
  }

  /** Stop steering UDP `ports`; throws (changing nothing) if one of them is not steered. */
  steerDel(ports: number[]): void {
    this.#checkPorts(ports);
    const missing = ports.find((p) => !this.#ports.has(p));
    if (missing !== undefined) {
      throw new BypassError(
        `UDP port ${missing} is not steered: steered ports are ${
          [...this.#ports].sort((a, b) => a - b).join(",") || "none"
        }`,
      );
    }
    for (const port of ports) {
      this.#setPort(port, 0);
      this.#ports.delete(port);
    }
  }

  #checkPorts(ports: number[]): void {
    const bad = ports.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
    if (bad !== undefined || ports.length === 0) {
      throw new BypassError(
        `UDP port ${
          bad ?? "list empty"
        } is invalid: give ports from 1 to 65535, e.g. udp:4242,4243`,
      );
    }
  }

  #setPort(port: number, on: number): void {
    const r = this.#bpf.symbols.bpf_map_update_elem(
      this.#portsFd,
      Uint32Array.of(port),
      Uint8Array.of(on),
      0n,
    );
    if (r !== 0) throw new BypassError(`cannot update the steering map: errno ${-r}`, -r);
  }
}

/** Put the XSKMAP fd `mapFd` entry `queue` to socket `fd`. */
export function insertSocket(bpf: Libbpf, mapFd: number, queue: number, fd: number): number {
  return bpf.symbols.bpf_map_update_elem(mapFd, Uint32Array.of(queue), Int32Array.of(fd), 0n);
}

/**
 * Load `bpf/xdp_steer.o`, configure its steering and attach it to `iface`.
 *
 * @example
 * ```ts ignore
 * import { loadXdpProgram } from "./xdp_program.ts";
 * const prog = loadXdpProgram({
 *   iface: "veth-bypass",
 *   steering: { all: true, udpPorts: [], respondIp: 0 },
 * });
 * console.log(prog.mode, prog.counters());
 * prog.close();
 * ```
 */
export function loadXdpProgram(o: XdpProgramOptions): XdpProgram {
  checkBlockMax(o.blockMax ?? DEFAULT_BLOCK_MAX);
  const mode = o.mode ?? "auto";
  if (!["auto", "native", "skb"].includes(mode)) {
    throw new BypassError(`XDP mode "${mode}" is invalid: --xdp-mode must be auto, native or skb`);
  }
  const ifindex = ifIndex(o.iface);
  if (ifindex === 0) {
    throw new BypassError(`interface ${o.iface} not found: check the name with 'ip link'`);
  }
  const path = o.objectPath ?? bpfObjectPath();
  try {
    Deno.statSync(path);
  } catch {
    throw new BypassError(`BPF object ${path} not found: run 'deno task build' first`);
  }
  const helper = openHelper(helperPath());
  helper.symbols.bpx_log_capture(Deno.env.get("BYPASSRT_VERBOSE") ? 1 : 0);
  const bpf = openLibbpf();
  const s = bpf.symbols;
  const release: (() => void)[] = [() => bpf.close(), () => helper.close()];
  const fail = (msg: string, errno = 0): never => {
    for (const f of release.reverse()) f();
    throw new BypassError(msg, errno);
  };

  try {
    claimInterface(bpf, ifindex, o.iface, o.force ?? false);
  } catch (e) {
    fail((e as BypassError).message, (e as BypassError).errno ?? 0);
  }

  const obj = s.bpf_object__open_file(cstr(path), null);
  if (!obj) fail(`cannot open BPF object ${path}: ${lastLibLog(helper) || "invalid ELF"}`);
  release.splice(1, 0, () => s.bpf_object__close(obj));
  const blockMax = o.blockMax ?? DEFAULT_BLOCK_MAX;
  for (const name of ["block_v4", "block_v6", "block_counts"]) {
    const map = s.bpf_object__find_map_by_name(obj, cstr(name));
    if (!map) fail(`${path} has no map ${name}: rebuild with 'deno task build'`);
    if (s.bpf_map__set_max_entries(map, blockMax) !== 0) {
      fail(`cannot size the blocklist map ${name} to ${blockMax} entries`);
    }
  }
  // struct bypass_config is written from TypeScript: an object built from older sources would
  // take the IPv6/VLAN fields silently as absent.
  const configMap = s.bpf_object__find_map_by_name(obj, cstr("config"));
  if (!configMap) fail(`${path} has no map config: rebuild with 'deno task build'`);
  const configSize = s.bpf_map__value_size(configMap);
  if (configSize !== CONFIG_SIZE) {
    fail(
      `${path}: its config map holds ${configSize} bytes, byPassRT writes ${CONFIG_SIZE}: ` +
        "the object is stale, rebuild with 'deno task build'",
    );
  }
  // The program's read-only data (const volatile stamp_frames), fixed before load.
  const rodata = s.bpf_object__find_map_by_name(obj, cstr(".rodata"));
  if (!rodata || s.bpf_map__value_size(rodata) !== 4) {
    fail(
      `${path} has no 4-byte .rodata (stamp_frames): the object is stale, rebuild with 'deno task build'`,
    );
  }
  const stampFrames = Uint32Array.of(o.timestamps === false ? 0 : 1);
  if (s.bpf_map__set_initial_value(rodata, stampFrames, 4n) !== 0) {
    fail("cannot set the XDP program's timestamp flag (.rodata)");
  }
  const loaded = s.bpf_object__load(obj);
  if (loaded < 0) {
    const hint = loaded === -Errno.EPERM || loaded === -Errno.EACCES
      ? PRIVILEGE_HINT
      : lastLibLog(helper) || `errno ${-loaded}`;
    fail(`cannot load the XDP program into the kernel: ${hint}`, -loaded);
  }
  const prog = s.bpf_object__find_program_by_name(obj, cstr("bypass_steer"));
  if (!prog) fail(`${path} has no program bypass_steer: rebuild with 'deno task build'`);
  const progFd = s.bpf_program__fd(prog);
  const mapFd = (name: string) => {
    const fd = s.bpf_object__find_map_fd_by_name(obj, cstr(name));
    if (fd < 0) fail(`${path} has no map ${name}: rebuild with 'deno task build'`);
    return fd;
  };
  const xsksMapFd = mapFd("xsks_map");
  const configFd = mapFd("config");
  const portsFd = mapFd("udp_ports");
  const countersFd = mapFd("counters");
  const blocklist = new BlockMaps(
    bpf,
    { v4: mapFd("block_v4"), v6: mapFd("block_v6"), counts: mapFd("block_counts") },
    blockMax,
  );
  if (o.block && o.block.length > 0) {
    try {
      blocklist.addMany(o.block);
    } catch (e) {
      fail((e as Error).message, (e as BypassError).errno ?? 0);
    }
  }

  // config (struct bypass_config): steer_all, respond_ip (network order), vlan, has_ip6,
  // respond_ip6 (network order).
  const ip = o.steering.respondIp >>> 0;
  const cfg = new Uint8Array(CONFIG_SIZE);
  const dv = new DataView(cfg.buffer);
  dv.setUint32(0, o.steering.all ? 1 : 0, true);
  dv.setUint32(4, ip, false);
  dv.setUint32(8, o.steering.vlan ? 1 : 0, true);
  if (o.steering.respondIp6) {
    dv.setUint32(12, 1, true);
    cfg.set(o.steering.respondIp6, 16);
  }
  if (s.bpf_map_update_elem(configFd, new Uint32Array(1), cfg, 0n) !== 0) {
    fail("cannot write the steering config map");
  }
  for (const port of o.steering.udpPorts) {
    s.bpf_map_update_elem(portsFd, Uint32Array.of(port), Uint8Array.of(1), 0n);
  }

  let attached;
  try {
    attached = attachLink(bpf, progFd, ifindex, o.iface, mode);
  } catch (e) {
    fail((e as BypassError).message, (e as BypassError).errno ?? 0);
  }
  const { linkFd, mode: used, nativeFallback } = attached!;
  const progId = programId(bpf, progFd);
  return new XdpProgram({
    iface: o.iface,
    ifindex,
    mode: used,
    nativeFallback,
    xsksMapFd,
    linkFd,
    progId,
    bpf,
    helper,
    obj,
    countersFd,
    portsFd,
    steering: { ...o.steering, udpPorts: [...o.steering.udpPorts] },
    blocklist,
  });
}

/** Throw a BypassError unless `n` is a valid blocklist capacity (1 to {@link MAX_BLOCK_MAX}). */
export function checkBlockMax(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_BLOCK_MAX) {
    throw new BypassError(
      `--block-max ${n} is invalid: give a whole number of prefixes from 1 to ${MAX_BLOCK_MAX}`,
    );
  }
}
