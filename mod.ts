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
 * Packet helpers (parsers, checksums, the ARP/ICMP responder, a UDP frame builder) work on the
 * UMEM in place and never allocate.
 *
 * @example Your own loop: swap the MACs of UDP/9000 frames and send them back.
 * ```ts ignore
 * import { loadXdpProgram, macSwap, openPort } from "./mod.ts";
 *
 * const iface = "veth-bypass";
 * const prog = loadXdpProgram({ iface, steering: { all: false, udpPorts: [9000], respondIp: 0 } });
 * // xsksMapFd: the socket goes into the program's map, so frames of queue 0 reach it.
 * const port = openPort({ iface, queue: 0, xsksMapFd: prog.xsksMapFd });
 * const addrs = new Uint32Array(64), lens = new Uint32Array(64); // allocated once
 * for (let i = 0; i < 1e6; i++) {
 *   const n = port.rxBurst(addrs, lens, 64); // frames 0..n-1 are now yours
 *   for (let j = 0; j < n; j++) macSwap(port.umem, addrs[j]);
 *   const sent = port.txBurst(addrs, lens, n); // 0..sent-1 now belong to the port
 *   port.free(addrs, sent, n - sent); // whatever did not fit the TX ring
 * }
 * // Stop steering, let redirects in flight land, take back the RX ring, finish TX: then every
 * // frame is in exactly one place and the audit can prove it.
 * port.unsteer();
 * await new Promise((r) => setTimeout(r, 20));
 * port.drainRx();
 * port.drainTx(200);
 * console.log(port.counters, port.audit());
 * port.close();
 * prog.close();
 * ```
 *
 * @module
 */
export { openPort } from "./engine/open_port.ts";
export type { Port } from "./engine/port.ts";
export type { BindMode, PortOptions, ResolvedPortOptions } from "./engine/options.ts";
export { MAX_SEGMENTS } from "./engine/chains.ts";
export type { MultiBuffer, MultiBufferMode } from "./engine/multi_buffer.ts";
export {
  type CounterDef,
  LOOP_COUNTERS,
  PORT_COUNTERS,
  type PortCounterName,
  type PortCounters,
  QUEUE_COUNTERS,
  type QueueCounterKey,
  type QueueCounterName,
  type QueueCounters,
  type SnakeCase,
} from "./engine/counters.ts";
export type { AttachedProgram } from "./engine/attached_program.ts";
export {
  loadXdpProgram,
  type ProgramCounters,
  type Steering,
  type XdpMode,
  type XdpProgram,
  type XdpProgramOptions,
} from "./engine/xdp_program.ts";
export {
  loadUserXdpProgram,
  type UserProgramInfo,
  type UserXdpProgram,
  type UserXdpProgramOptions,
  XSKS_MAP,
} from "./engine/user_xdp_program.ts";
export {
  describeEvent,
  Engine,
  type EngineEvent,
  type EngineOptions,
  type EngineReport,
  type EngineSnapshot,
  type QueueSnapshot,
} from "./engine/runtime.ts";
export { PROMETHEUS_CONTENT_TYPE, prometheusText } from "./engine/metrics.ts";
export type { LatencyPair, LatencySnapshot } from "./engine/latency_report.ts";
export type { LatencySummary } from "./engine/latency_histogram.ts";
export type { LoopExit, LoopOptions } from "./engine/loop.ts";
export type { InterfaceSnapshot } from "./engine/more_ports.ts";
export { builtinHandler, type HandlerSpec, type Mode, MODES } from "./engine/modes.ts";
export {
  type Burst,
  type Handler,
  type HandlerContext,
  HandlerError,
  type HandlerOptions,
  MAX_HANDLER_COUNTERS,
} from "./engine/handler.ts";
export type { XdpStatistics } from "./engine/xdp_stats.ts";
export {
  type BlockEntry,
  type Cidr,
  formatCidr,
  parseBlockText,
  parseCidr,
  readBlockFile,
} from "./engine/blocklist.ts";
export type { BlockMaps } from "./engine/block_maps.ts";
export { ControlServer, type ControlServerOptions } from "./engine/control_server.ts";
export { ControlClient } from "./engine/control_client.ts";
export {
  CONTROL_COMMANDS,
  type ControlCommand,
  type ControlTarget,
  type ServerInfo,
  type SteerState,
  withReload,
} from "./engine/control_commands.ts";
export {
  type ControlReply,
  type ControlRequest,
  controlSocketPath,
  PROTOCOL_VERSION,
  type RequestId,
} from "./engine/control_protocol.ts";
export { type KernelSink, openReinjection, type Reinjection, TapSink } from "./engine/to_kernel.ts";
export { BypassError } from "./engine/errors.ts";
export { type FrameAudit, FrameOwnershipError, Mempool } from "./mempool/mod.ts";
export { spscBytes, SpscRing } from "./ring/spsc.ts";
export * from "./packet/mod.ts";
export {
  type CaptureOptions,
  type CaptureStatus,
  type InterfaceDescription,
  type Pcapng,
  type PcapngPacket,
  readPcapng,
} from "./capture/mod.ts";
