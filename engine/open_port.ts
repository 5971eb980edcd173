/**
 * Creating an AF_XDP port: map the UMEM, create it and the socket through libxdp (zero-copy with
 * a fallback to copy, a retry on a briefly busy queue), optionally insert the socket into the
 * steering program's XSKMAP, and turn every failure into one line that names the fix.
 *
 * @module
 */
import {
  cstr,
  Errno,
  getsockoptU32,
  MAP_ANONYMOUS,
  MAP_POPULATE,
  MAP_PRIVATE,
  openLibc,
  PROT_READ,
  PROT_WRITE,
} from "../ffi/libc.ts";
import { type Libbpf, openLibbpf } from "../ffi/libbpf.ts";
import {
  type Libxdp,
  openLibxdp,
  SOL_XDP,
  XDP_COPY,
  XDP_OPTIONS,
  XDP_OPTIONS_ZEROCOPY,
  XDP_USE_NEED_WAKEUP,
  XDP_USE_SG,
  XDP_ZEROCOPY,
  XSK_LAYOUT,
  XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
} from "../ffi/libxdp.ts";
import { ADDR_WORDS, DESC_WORDS, type RingMemory } from "../ring/mod.ts";
import { setBusyPoll } from "./busy_poll.ts";
import { BypassError, PRIVILEGE_HINT } from "./errors.ts";
import { type PortOptions, resolvePortOptions } from "./options.ts";
import { Port } from "./port.ts";
import { insertSocket } from "./xdp_program.ts";
import { checkXskLayout } from "./xsk_layout.ts";

const PROD = XSK_LAYOUT.xsk_ring_prod, CONS = XSK_LAYOUT.xsk_ring_cons;
const UMEM_CFG = XSK_LAYOUT.xsk_umem_config, SOCK_CFG = XSK_LAYOUT.xsk_socket_config;

/** The layout of the ring structs libxdp fills in (`struct xsk_ring_prod` / `xsk_ring_cons`). */
type RingLayout = typeof XSK_LAYOUT.xsk_ring_prod;

/**
 * Memory for one `struct xsk_ring_*` that libxdp keeps a pointer to (it reads it again when the
 * socket is deleted). Typed arrays of up to 64 bytes live inside V8's heap and may move, so each
 * struct gets its own larger, off-heap backing store, which never moves; the Port keeps it.
 */
function ringStruct(layout: RingLayout): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new ArrayBuffer(STABLE_BYTES), 0, layout.sizeof);
}

/** Bytes above V8's in-heap typed-array limit (64): such buffers are allocated off-heap. */
const STABLE_BYTES = 256;

function ringMemory(
  struct: Uint8Array<ArrayBuffer>,
  layout: RingLayout,
  words: number,
): RingMemory {
  const view = new Deno.UnsafePointerView(Deno.UnsafePointer.of(struct)!);
  const size = view.getUint32(layout.size);
  const buf = (off: number, len: number) =>
    Deno.UnsafePointerView.getArrayBuffer(view.getPointer(off)!, len);
  return {
    size,
    producer: buf(layout.producer, 4),
    consumer: buf(layout.consumer, 4),
    flags: buf(layout.flags, 4),
    ring: buf(layout.ring, size * words * 4),
  };
}

/**
 * Open an AF_XDP port on `iface`/`queue`. The XDP program that steers frames to it is separate
 * (see {@link loadXdpProgram}); pass its `xsksMapFd` to have the socket inserted into the
 * program's XSKMAP at key `queue` (removed again by {@link Port.unsteer} or {@link Port.close}).
 * With `shareWith`, the socket is created on that port's UMEM (libxdp's
 * `xsk_socket__create_shared`, with FILL and COMPLETION rings of its own) and shares its pool:
 * frames move between the two ports as descriptors; `shareWith` must be closed last.
 * The first call in an isolate checks libxdp's struct layouts against `XSK_LAYOUT` (see
 * `checkXskLayout`, which needs `build/libbypass_helper.so`) and throws a {@link BypassError} if
 * they differ.
 *
 * @example
 * ```ts ignore
 * import { openPort } from "./open_port.ts";
 * const port = openPort({ iface: "veth-bypass", frames: 4096 });
 * const addrs = new Uint32Array(64), lens = new Uint32Array(64);
 * const n = port.rxBurst(addrs, lens, 64);
 * port.free(addrs, 0, n);
 * port.close();
 * ```
 */
export function openPort(options: PortOptions, shareWith?: Port): Port {
  const opts = resolvePortOptions(options);
  // The structs below are built and read at XSK_LAYOUT's offsets: refuse a libxdp that differs.
  checkXskLayout();
  const libc = openLibc();
  const cleanup: (() => void)[] = [() => libc.close()];
  const fail = (msg: string, errno = 0): never => {
    for (const f of cleanup.reverse()) f();
    throw new BypassError(msg, errno);
  };
  const ifindex = libc.fn.if_nametoindex(cstr(opts.iface));
  if (ifindex === 0) {
    fail(`interface ${opts.iface} not found: check the name with 'ip link'`, Errno.ENODEV);
  }
  let xdp: Libxdp;
  try {
    xdp = openLibxdp();
  } catch (e) {
    return fail((e as Error).message);
  }
  cleanup.push(() => xdp.close());

  const umemBytes = opts.frames * opts.frameSize;
  const shared = shareWith?.sharedUmem;
  if (shareWith && shareWith.options.frames * shareWith.options.frameSize !== umemBytes) {
    fail(`a shared UMEM needs the same --frames and --frame-size on every interface`);
  }
  const umemPtr = shared ? shared.ptr : libc.fn.mmap(
    null,
    BigInt(umemBytes),
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
    -1,
    0n,
  );
  if (!umemPtr || Deno.UnsafePointer.value(umemPtr) === 0xffffffffffffffffn) {
    fail(`cannot map ${umemBytes} bytes of UMEM: lower --frames`, libc.errno());
  }
  if (!shared) cleanup.push(() => libc.fn.munmap(umemPtr, BigInt(umemBytes)));
  const umem = shared
    ? shared.umem
    : new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(umemPtr!, umemBytes));

  const errText = (r: number) => `${libc.strerror(-r)} (errno ${-r})`;
  const createUmem = () => {
    // A shared UMEM: its handle, and FILL/COMPLETION structs of this socket's own.
    if (shared) return { handle: shared.handle, fill: ringStruct(PROD), comp: ringStruct(CONS) };
    const handleOut = new BigUint64Array(1);
    const fill = ringStruct(PROD), comp = ringStruct(CONS);
    const cfg = new Uint8Array(UMEM_CFG.sizeof);
    const dv = new DataView(cfg.buffer);
    dv.setUint32(UMEM_CFG.fill_size, opts.rxSize, true);
    dv.setUint32(UMEM_CFG.comp_size, opts.txSize, true);
    dv.setUint32(UMEM_CFG.frame_size, opts.frameSize, true);
    dv.setUint32(UMEM_CFG.frame_headroom, 0, true);
    dv.setUint32(UMEM_CFG.flags, 0, true);
    const r = xdp.symbols.xsk_umem__create(handleOut, umemPtr, BigInt(umemBytes), fill, comp, cfg);
    if (r < 0) {
      const hint = r === -Errno.EPERM ? `: ${PRIVILEGE_HINT}` : "";
      fail(`cannot create the UMEM on ${opts.iface}: ${errText(r)}${hint}`, -r);
    }
    return { handle: Deno.UnsafePointer.create(handleOut[0]), fill, comp };
  };
  const deleteUmem = (h: Deno.PointerValue) => {
    if (!shared) xdp.symbols.xsk_umem__delete(h);
  };
  const createSocket = (
    umemHandle: Deno.PointerValue,
    bindFlags: number,
    fill: Uint8Array<ArrayBuffer>,
    comp: Uint8Array<ArrayBuffer>,
  ) => {
    const xskOut = new BigUint64Array(1);
    const rx = ringStruct(CONS), tx = ringStruct(PROD);
    const cfg = new Uint8Array(SOCK_CFG.sizeof);
    const dv = new DataView(cfg.buffer);
    dv.setUint32(SOCK_CFG.rx_size, opts.rxSize, true);
    dv.setUint32(SOCK_CFG.tx_size, opts.txSize, true);
    dv.setUint32(SOCK_CFG.libxdp_flags, XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, true);
    dv.setUint32(SOCK_CFG.xdp_flags, 0, true);
    // libxdp passes bind_flags to bind() unchecked: XDP_USE_SG works although it lacks the name.
    const sg = opts.multiBuffer ? XDP_USE_SG : 0;
    dv.setUint16(SOCK_CFG.bind_flags, bindFlags | XDP_USE_NEED_WAKEUP | sg, true);
    let r = 0;
    // A queue just released by another socket can report EBUSY for a few tens of ms.
    for (let attempt = 0; attempt < 20; attempt++) {
      // One call for both cases: xsk_socket__create is create_shared with the UMEM's own
      // FILL/COMPLETION structs, which is what `fill`/`comp` are for the UMEM's owner.
      r = xdp.symbols.xsk_socket__create_shared(
        xskOut,
        cstr(opts.iface),
        opts.queue,
        umemHandle,
        rx,
        tx,
        fill,
        comp,
        cfg,
      );
      if (r !== -Errno.EBUSY) break;
      const until = performance.now() + 10;
      while (performance.now() < until) { /* brief spin: setup path only */ }
    }
    return { r, xsk: r === 0 ? Deno.UnsafePointer.create(xskOut[0]) : null, rx, tx };
  };

  let umemParts = createUmem();
  let sock = createSocket(
    umemParts.handle,
    opts.bind === "copy" ? XDP_COPY : XDP_ZEROCOPY,
    umemParts.fill,
    umemParts.comp,
  );
  let zeroCopyFallback = "";
  if (sock.r < 0 && opts.bind === "auto") {
    zeroCopyFallback = `zero-copy bind failed: ${errText(sock.r)}`;
    deleteUmem(umemParts.handle);
    umemParts = createUmem();
    sock = createSocket(umemParts.handle, XDP_COPY, umemParts.fill, umemParts.comp);
  }
  if (sock.r < 0) {
    deleteUmem(umemParts.handle);
    const r = sock.r;
    const why = r === -Errno.EBUSY
      ? `queue ${opts.queue} of ${opts.iface} is already used by another AF_XDP socket (another byPassRT?): stop it or pick another --queue`
      : r === -Errno.EINVAL
      ? `queue ${opts.queue} may not exist on ${opts.iface} (see 'ethtool -l ${opts.iface}'), or the sizes are not accepted`
      : r === -Errno.EOPNOTSUPP && opts.multiBuffer
      ? `${opts.iface} does not support multi-buffer AF_XDP (XDP_USE_SG, kernel 6.6+) in ${opts.bind} mode: lower the MTU to fit one frame or use --multi-buffer off`
      : r === -Errno.EOPNOTSUPP
      ? `${opts.iface} does not support ${opts.bind} mode: use --bind copy or auto`
      : r === -Errno.EPERM
      ? PRIVILEGE_HINT
      : "see 'dmesg'";
    fail(
      `cannot bind an AF_XDP socket to ${opts.iface} queue ${opts.queue}: ${errText(r)}: ${why}`,
      -r,
    );
  }
  const fd = xdp.symbols.xsk_socket__fd(sock.xsk);
  cleanup.push(() => {
    xdp.symbols.xsk_socket__delete(sock.xsk);
    deleteUmem(umemParts.handle);
  });
  if (opts.busyPollUs > 0) {
    const why = setBusyPoll(libc, fd, { usec: opts.busyPollUs, budget: opts.busyPollBudget });
    if (why) fail(`--busy-poll on ${opts.iface} queue ${opts.queue}: ${why}`);
  }
  let steer: { bpf: Libbpf; mapFd: number } | undefined;
  if (opts.xsksMapFd >= 0) {
    const bpf = openLibbpf();
    const r = insertSocket(bpf, opts.xsksMapFd, opts.queue, fd);
    if (r !== 0) {
      bpf.close();
      fail(
        `cannot insert the socket of ${opts.iface} queue ${opts.queue} into the XSKMAP (fd ` +
          `${opts.xsksMapFd}): ${errText(r)}: pass the xsksMapFd of a loaded steering program`,
        -r,
      );
    }
    steer = { bpf, mapFd: opts.xsksMapFd };
  }
  const xdpOptions = getsockoptU32(libc, fd, SOL_XDP, XDP_OPTIONS);
  const zc = xdpOptions !== -1 && (xdpOptions & XDP_OPTIONS_ZEROCOPY) !== 0;
  return new Port(opts, {
    libc,
    xdp: xdp!,
    umemPtr,
    umem,
    umemHandle: umemParts.handle,
    xsk: sock.xsk,
    fd,
    ifindex,
    fill: ringMemory(umemParts.fill, PROD, ADDR_WORDS),
    comp: ringMemory(umemParts.comp, CONS, ADDR_WORDS),
    rx: ringMemory(sock.rx, CONS, DESC_WORDS),
    tx: ringMemory(sock.tx, PROD, DESC_WORDS),
    structs: [umemParts.fill, umemParts.comp, sock.rx, sock.tx],
    steer,
    bindMode: zc ? "zerocopy" : "copy",
    zeroCopyFallback,
    sharedPool: shareWith?.pool,
    sharedChains: shareWith?.chains,
  });
}
