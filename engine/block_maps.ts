/**
 * The blocklist in the kernel: the XDP program's two LPM tries (`block_v4`, `block_v6`: source
 * prefix -> counter slot) and its per-CPU counter array (`block_counts`). This module owns the
 * slots (a free list; a reused slot's counters are zeroed first) and keeps the prefix -> slot
 * index, so adding, deleting and listing never scan the tries. Setup and control paths only.
 *
 * @module
 */
import type { Libbpf } from "../ffi/libbpf.ts";
import { type BlockEntry, type Cidr, compareCidr } from "./blocklist.ts";
import { BypassError } from "./errors.ts";

/** Prefixes per batch system call (bounds the key/value buffers). */
const BATCH = 65536;

/** The kernel side of the blocklist of one loaded program. */
export class BlockMaps {
  /** Most prefixes the maps hold (IPv4 and IPv6 together). */
  readonly capacity: number;
  readonly #bpf: Libbpf;
  readonly #v4Fd: number;
  readonly #v6Fd: number;
  readonly #countsFd: number;
  readonly #ncpus: number;
  /** Canonical prefix -> its slot. */
  readonly #slots = new Map<string, number>();
  /** Slot -> its prefix (undefined: free). */
  readonly #cidrs: (Cidr | undefined)[] = [];
  /** Slots freed by deletions (their counters are zeroed on reuse). */
  readonly #free: number[] = [];
  /** Slots from here on were never used (their counters are zero). */
  #next = 0;
  /** false once the kernel refused a batch update: one update per prefix from then on. */
  #batchOk = true;

  /** `fd`s of the loaded maps; `capacity` = max_entries of `block_counts`. */
  constructor(
    bpf: Libbpf,
    fds: { v4: number; v6: number; counts: number },
    capacity: number,
  ) {
    this.#bpf = bpf;
    this.#v4Fd = fds.v4;
    this.#v6Fd = fds.v6;
    this.#countsFd = fds.counts;
    this.capacity = capacity;
    this.#ncpus = bpf.symbols.libbpf_num_possible_cpus();
  }

  /** Prefixes in the list. */
  get size(): number {
    return this.#slots.size;
  }

  /** true if `cidr` is in the list. */
  has(cidr: Cidr): boolean {
    return this.#slots.has(cidr.prefix);
  }

  /**
   * Add prefixes (duplicates, in the list or in `cidrs`, are skipped); returns how many were
   * new. All or nothing: a full list or a kernel error adds none of them.
   */
  addMany(cidrs: Cidr[]): number {
    // Claim the new prefixes in the index first (slot -1), so duplicates within `cidrs` are
    // seen; undone below if they do not fit or the kernel refuses.
    const fresh: Cidr[] = [];
    let v4 = 0;
    for (const c of cidrs) {
      if (this.#slots.has(c.prefix)) continue;
      this.#slots.set(c.prefix, -1);
      fresh.push(c);
      if (c.family === 4) v4++;
    }
    if (fresh.length === 0) return 0;
    if (this.#slots.size > this.capacity) {
      for (const c of fresh) this.#slots.delete(c.prefix);
      const before = this.#slots.size;
      throw new BypassError(
        `the blocklist is full: ${before} of ${this.capacity} prefixes in use, ` +
          `${fresh.length} more asked for: delete some or start with a larger --block-max`,
      );
    }
    const keys4 = new Uint8Array(v4 * 8), vals4 = new Uint32Array(v4);
    const keys6 = new Uint8Array((fresh.length - v4) * 20);
    const vals6 = new Uint32Array(fresh.length - v4);
    const reused: number[] = [];
    let i4 = 0, i6 = 0;
    for (const c of fresh) {
      let slot: number;
      if (this.#free.length > 0) reused.push(slot = this.#free.pop()!);
      else slot = this.#next++;
      this.#slots.set(c.prefix, slot);
      this.#cidrs[slot] = c;
      const a = c.addr;
      if (c.family === 4) {
        const k = i4 * 8;
        keys4[k] = c.len; // prefixlen: u32, host order (little-endian here)
        keys4[k + 4] = a[0], keys4[k + 5] = a[1], keys4[k + 6] = a[2], keys4[k + 7] = a[3];
        vals4[i4++] = slot;
      } else {
        const k = i6 * 20;
        keys6[k] = c.len;
        for (let b = 0; b < 16; b++) keys6[k + 4 + b] = a[b];
        vals6[i6++] = slot;
      }
    }
    try {
      this.#zero(reused);
      this.#insert(this.#v4Fd, keys4, vals4, 8);
      this.#insert(this.#v6Fd, keys6, vals6, 20);
    } catch (e) {
      for (const c of fresh) {
        this.#trieDelete(c);
        const slot = this.#slots.get(c.prefix)!;
        this.#slots.delete(c.prefix);
        this.#cidrs[slot] = undefined;
        this.#free.push(slot);
      }
      throw e;
    }
    return fresh.length;
  }

  /** Remove a prefix; false when it was not in the list. */
  delete(cidr: Cidr): boolean {
    const slot = this.#slots.get(cidr.prefix);
    if (slot === undefined) return false;
    this.#trieDelete(cidr);
    this.#slots.delete(cidr.prefix);
    this.#cidrs[slot] = undefined;
    this.#free.push(slot);
    return true;
  }

  /** Every prefix with the frames it dropped (per-CPU counters summed), in address order. */
  list(): BlockEntry[] {
    const sums = this.#readCounts();
    const slots: number[] = [];
    this.#cidrs.forEach((c, slot) => c && slots.push(slot));
    const cidrs = this.#cidrs as Cidr[];
    slots.sort((a, b) => compareCidr(cidrs[a], cidrs[b]));
    return slots.map((slot) => ({ prefix: cidrs[slot].prefix, packets: sums[slot] }));
  }

  /**
   * Write keys (`keySize` bytes each) and values (slots) into a trie: batches of {@link BATCH},
   * or one update per prefix where the kernel has no batch update for LPM tries.
   */
  #insert(fd: number, keys: Uint8Array, values: Uint32Array, keySize: number): void {
    const s = this.#bpf.symbols;
    for (let at = 0; at < values.length; at += BATCH) {
      const n = Math.min(BATCH, values.length - at);
      const k = keys.subarray(at * keySize, (at + n) * keySize);
      const v = values.subarray(at, at + n);
      if (this.#batchOk) {
        const count = Uint32Array.of(n);
        const r = s.bpf_map_update_batch(fd, k, v, count, null);
        if (r === 0) continue;
        if (count[0] !== 0 || (r !== -22 && r !== -95 && r !== -524)) {
          throw new BypassError(`cannot add to the blocklist: errno ${-r} from the kernel`, -r);
        }
        this.#batchOk = false; // EINVAL / EOPNOTSUPP / ENOTSUPP: no batch ops on this map
      }
      for (let i = 0; i < n; i++) {
        const r = s.bpf_map_update_elem(
          fd,
          k.subarray(i * keySize, (i + 1) * keySize),
          v.subarray(i, i + 1),
          0n,
        );
        if (r !== 0) {
          throw new BypassError(`cannot add to the blocklist: errno ${-r} from the kernel`, -r);
        }
      }
    }
  }

  #trieDelete(cidr: Cidr): void {
    const key = new Uint8Array(4 + cidr.addr.length);
    new DataView(key.buffer).setUint32(0, cidr.len, true);
    key.set(cidr.addr, 4);
    this.#bpf.symbols.bpf_map_delete_elem(cidr.family === 4 ? this.#v4Fd : this.#v6Fd, key);
  }

  /** Zero the per-CPU counters of reused slots. */
  #zero(slots: number[]): void {
    const zeros = new BigUint64Array(this.#ncpus);
    for (const slot of slots) {
      const r = this.#bpf.symbols.bpf_map_update_elem(
        this.#countsFd,
        Uint32Array.of(slot),
        zeros,
        0n,
      );
      if (r !== 0) throw new BypassError(`cannot reset a blocklist counter: errno ${-r}`, -r);
    }
  }

  /** Sum over CPUs of every used slot's counter (index = slot). */
  #readCounts(): Float64Array {
    const n = this.#next;
    const sums = new Float64Array(n);
    if (n === 0) return sums;
    const s = this.#bpf.symbols;
    const chunk = Math.min(n, 4096);
    const keys = new Uint32Array(chunk);
    const values = new BigUint64Array(chunk * this.#ncpus);
    const inBatch = new Uint32Array(1), outBatch = new Uint32Array(1);
    let first = true;
    let done = 0;
    while (done < n) {
      const count = Uint32Array.of(chunk);
      const r = s.bpf_map_lookup_batch(
        this.#countsFd,
        first ? null : inBatch,
        outBatch,
        keys,
        values,
        count,
        null,
      );
      if (r !== 0 && r !== -2) return this.#readCountsOneByOne(sums);
      for (let i = 0; i < count[0]; i++) {
        const slot = keys[i];
        if (slot >= n) continue;
        let sum = 0;
        for (let c = 0; c < this.#ncpus; c++) sum += Number(values[i * this.#ncpus + c]);
        sums[slot] = sum;
      }
      done += count[0];
      if (r === -2 || count[0] === 0 || keys[count[0] - 1] >= n - 1) break;
      inBatch[0] = outBatch[0];
      first = false;
    }
    return sums;
  }

  #readCountsOneByOne(sums: Float64Array): Float64Array {
    const values = new BigUint64Array(this.#ncpus);
    const key = new Uint32Array(1);
    for (const slot of this.#slots.values()) {
      key[0] = slot;
      if (this.#bpf.symbols.bpf_map_lookup_elem(this.#countsFd, key, values) !== 0) continue;
      let sum = 0;
      for (const v of values) sum += Number(v);
      sums[slot] = sum;
    }
    return sums;
  }
}
