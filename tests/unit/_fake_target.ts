/**
 * Test helper: a {@link ControlTarget} without an engine. Keeps a blocklist and a port set in
 * memory, rejects what the Engine rejects (a bad CIDR, with the Engine's own parser; deleting a
 * port that is not steered) with the same kind of error, and records every call.
 *
 * @module
 */
import type { ControlTarget, SteerState } from "../../engine/control_commands.ts";
import { type BlockEntry, parseCidr } from "../../engine/blocklist.ts";
import { BypassError } from "../../engine/errors.ts";
import type { EngineSnapshot } from "../../engine/runtime.ts";

/** An in-memory control target. */
export class FakeTarget implements ControlTarget {
  /** Prefix -> frames dropped. */
  readonly blocks = new Map<string, number>();
  /** Steered UDP ports. */
  readonly ports = new Set<number>([4242]);
  /** Every call, as "method args". */
  readonly calls: string[] = [];
  /** What the next reload() answers. */
  reloadResult = { ok: true, message: "handler reloaded (generation 1)" };

  #cidr(c: string): string {
    return parseCidr(c).prefix; // the Engine's parser: its errors, its canonical form
  }

  blockAdd(cidr: string): string {
    this.calls.push(`blockAdd ${cidr}`);
    const p = this.#cidr(cidr);
    if (!this.blocks.has(p)) this.blocks.set(p, 0);
    return p;
  }

  blockAddMany(cidrs: string[]): number {
    this.calls.push(`blockAddMany ${cidrs.join(" ")}`);
    const ps = cidrs.map((c) => this.#cidr(c));
    const fresh = new Set(ps.filter((p) => !this.blocks.has(p)));
    for (const p of fresh) this.blocks.set(p, 0);
    return fresh.size;
  }

  blockDel(cidr: string): boolean {
    this.calls.push(`blockDel ${cidr}`);
    return this.blocks.delete(this.#cidr(cidr));
  }

  blockList(): BlockEntry[] {
    this.calls.push("blockList");
    return [...this.blocks].sort().map(([prefix, packets]) => ({ prefix, packets }));
  }

  steerAdd(ports: number[]): void {
    this.calls.push(`steerAdd ${ports.join(",")}`);
    for (const p of ports) this.ports.add(p);
  }

  steerDel(ports: number[]): void {
    this.calls.push(`steerDel ${ports.join(",")}`);
    const missing = ports.find((p) => !this.ports.has(p));
    if (missing !== undefined) {
      throw new BypassError(`UDP port ${missing} is not steered: see steer list`);
    }
    for (const p of ports) this.ports.delete(p);
  }

  steerList(): SteerState {
    this.calls.push("steerList");
    return { all: false, udpPorts: [...this.ports].sort((a, b) => a - b), respondIp: "10.0.0.1" };
  }

  snapshot(): EngineSnapshot {
    this.calls.push("snapshot");
    return {
      iface: "fake0",
      queues: [{ queue: 0, rx_packets: 5 }, { queue: 1, rx_packets: 7 }],
      total: { rx_packets: 12 },
    } as unknown as EngineSnapshot;
  }

  reload(): Promise<{ ok: boolean; message: string }> {
    this.calls.push("reload");
    return Promise.resolve(this.reloadResult);
  }
}
