/**
 * byPassRT: kernel-bypass packet processing in TypeScript. An XDP program steers chosen frames
 * into AF_XDP sockets; the frames land in a UMEM shared with the kernel and a TypeScript polling
 * loop reads, processes and sends them through the FILL, RX, TX and COMPLETION rings, with no
 * system call and no allocation per packet.
 *
 * Two levels of API:
 * - {@link Engine}: attach the program, run a built-in mode (respond, l2fwd, rxdrop, txonly) in
 *   one Worker per queue, read counters, stop.
 * - {@link openPort} + {@link loadXdpProgram}: the DPDK-style burst API for your own loop:
 *   `rxBurst`, `txBurst`, `free`, with packet bytes in `port.umem`.
 *
 * @example A custom handler: swap MACs of UDP/9000 frames and send them back.
 * ```ts ignore
 * import { insertSocket, loadXdpProgram, macSwap, openLibbpf, openPort } from "./mod.ts";
 *
 * const iface = "veth-bypass";
 * const prog = loadXdpProgram({ iface, steering: { all: false, udpPorts: [9000], respondIp: 0 } });
 * const port = openPort({ iface, queue: 0 });
 * const bpf = openLibbpf();
 * insertSocket(bpf, prog.xsksMapFd, 0, port.fd);
 * const addrs = new Uint32Array(64), lens = new Uint32Array(64);
 * for (let i = 0; i < 1e6; i++) {
 *   const n = port.rxBurst(addrs, lens, 64);
 *   for (let j = 0; j < n; j++) macSwap(port.umem, addrs[j]);
 *   const sent = port.txBurst(addrs, lens, n);
 *   port.free(addrs, sent, n - sent); // whatever did not fit the TX ring
 * }
 * console.log(port.counters, port.audit());
 * prog.removeSocket(0);
 * port.close();
 * prog.close();
 * ```
 *
 * @module
 */
export { openPort, type Port, type PortCounters } from "./engine/port.ts";
export {
  type BindMode,
  type PortOptions,
  type ResolvedPortOptions,
  resolvePortOptions,
} from "./engine/options.ts";
export {
  attachedProgramId,
  insertSocket,
  loadXdpProgram,
  type ProgramCounters,
  type Steering,
  type XdpMode,
  type XdpProgram,
  type XdpProgramOptions,
} from "./engine/xdp_program.ts";
export {
  Engine,
  type EngineOptions,
  type EngineReport,
  type EngineSnapshot,
  type QueueSnapshot,
} from "./engine/runtime.ts";
export { type LoopOptions, type Mode, MODES, runLoop, type TxOnlyFrame } from "./engine/loop.ts";
export { newControlBlock, newStatsBlock, Slot } from "./engine/stats.ts";
export { readXdpStatistics, type XdpStatistics } from "./engine/xdp_stats.ts";
export { BypassError } from "./engine/errors.ts";
export { type Libbpf, LIBBPF_SYMBOLS, openLibbpf } from "./ffi/libbpf.ts";
export { type Libc, LIBC_SYMBOLS, type LibcHandle, openLibc } from "./ffi/libc.ts";
export * from "./ring/mod.ts";
export * from "./mempool/mod.ts";
export * from "./packet/mod.ts";
