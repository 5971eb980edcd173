/**
 * A capture session on the main thread: the pcapng file (Section Header, one Interface
 * Description per queue), one capture ring per queue that the polling Workers fill, and a timer
 * that drains the rings into the file every {@link DRAIN_MS} ms. At `maxBytes` it stops writing
 * (the Workers stop copying), says so once, and the run goes on. {@link CaptureSession.close}
 * drains what the Workers wrote before closing, so the file is complete after any stop.
 *
 * @module
 */
import { BypassError } from "../engine/errors.ts";
import { interfaceDescription, MAX_SNAPLEN, sectionHeader } from "./pcapng.ts";
import { CaptureConsumer, captureRingMemory, MAX_CAPTURE_RING, MIN_CAPTURE_RING } from "./ring.ts";

/** What to capture and where. */
export interface CaptureOptions {
  /** pcapng file to write (created, or truncated). */
  path: string;
  /** Capture the frames sent too, with the direction in each record (default false). */
  tx?: boolean;
  /** Bytes captured per frame at most, 1..262144 (default 262144). */
  snaplen?: number;
  /** Stop writing before the file would exceed this many bytes (default 0: no limit). */
  maxBytes?: number;
  /** Bytes of each queue's capture ring, a power of two (default 16 MiB). */
  ringBytes?: number;
}

/** What a Worker needs to fill its queue's capture ring. */
export interface CaptureProducerSpec {
  /** The ring. */
  ring: SharedArrayBuffer;
  /** pcapng interface id of the queue. */
  interfaceId: number;
  /** Bytes captured per frame at most. */
  snaplen: number;
  /** Capture sent frames too (and write directions). */
  tx: boolean;
}

/** How the capture went, as snapshots report it. */
export interface CaptureStatus {
  /** The file. */
  file: string;
  /** Frames written to the file. */
  frames: number;
  /** Bytes of the file. */
  bytes: number;
  /** Why writing stopped before the end ("" while writing): the size limit or a write error. */
  stopped: string;
}

/** Milliseconds between two drains of the rings. */
export const DRAIN_MS = 4;
/** Default bytes of each queue's capture ring. */
export const DEFAULT_CAPTURE_RING = 16 << 20;

/** Check capture options (one-line BypassError naming the flag and the fix). */
export function validateCaptureOptions(o: CaptureOptions): void {
  const snap = o.snaplen ?? MAX_SNAPLEN;
  if (!Number.isInteger(snap) || snap < 1 || snap > MAX_SNAPLEN) {
    throw new BypassError(
      `--pcap-snaplen ${snap} is invalid: give a whole number from 1 to ${MAX_SNAPLEN}`,
    );
  }
  const max = o.maxBytes ?? 0;
  if (!Number.isInteger(max) || max < 0) {
    throw new BypassError(`--pcap-max-mb is invalid: give a whole number of megabytes`);
  }
  if (!o.path) throw new BypassError("--pcap needs a file name: --pcap FILE");
  const ring = o.ringBytes ?? DEFAULT_CAPTURE_RING;
  if (
    !Number.isInteger(ring) || ring < MIN_CAPTURE_RING || ring > MAX_CAPTURE_RING ||
    (ring & (ring - 1)) !== 0
  ) {
    throw new BypassError(
      `capture ring of ${ring} bytes is invalid: give a power of two from ${MIN_CAPTURE_RING} ` +
        `to ${MAX_CAPTURE_RING}`,
    );
  }
}

/** The main thread's side of a capture (see the module doc). */
export class CaptureSession {
  /** One ring per queue, in queue order. */
  readonly rings: SharedArrayBuffer[];
  readonly #consumers: CaptureConsumer[];
  readonly #file: Deno.FsFile;
  readonly #opts: CaptureOptions;
  readonly #onStop: (message: string) => void;
  readonly #take: (chunk: Uint8Array, blocks: number) => number;
  #timer?: ReturnType<typeof setInterval>;
  #frames = 0;
  #bytes = 0;
  #stopped = "";
  #closed = false;

  private constructor(
    file: Deno.FsFile,
    opts: CaptureOptions,
    queues: number,
    onStop: (message: string) => void,
  ) {
    this.#file = file;
    this.#opts = opts;
    this.#onStop = onStop;
    this.rings = Array.from(
      { length: queues },
      () => captureRingMemory(opts.ringBytes ?? DEFAULT_CAPTURE_RING),
    );
    this.#consumers = this.rings.map((r) => new CaptureConsumer(r));
    this.#take = (chunk, blocks) => this.#write(chunk, blocks);
  }

  /**
   * Create (or truncate) the file and write its header: one interface per queue of `iface`.
   * `onStop` gets one line when writing stops early (size limit, write error).
   */
  static open(
    o: CaptureOptions,
    iface: string,
    queues: number[],
    onStop: (message: string) => void,
  ): CaptureSession {
    validateCaptureOptions(o);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(o.path, { write: true, create: true, truncate: true });
    } catch (e) {
      throw new BypassError(
        `--pcap ${o.path}: cannot create the file (${
          (e as Error).message.split(":")[0]
        }): give a writable path`,
      );
    }
    const s = new CaptureSession(file, o, queues.length, onStop);
    const snaplen = o.snaplen ?? MAX_SNAPLEN;
    s.#writeAll(sectionHeader("byPassRT"));
    for (const q of queues) {
      s.#writeAll(interfaceDescription({ name: iface, description: `queue ${q}`, snaplen }));
    }
    return s;
  }

  /** What the Worker of the `i`-th queue needs. */
  producer(i: number): CaptureProducerSpec {
    return {
      ring: this.rings[i],
      interfaceId: i,
      snaplen: this.#opts.snaplen ?? MAX_SNAPLEN,
      tx: this.#opts.tx ?? false,
    };
  }

  /** Start draining every {@link DRAIN_MS} ms. */
  start(): void {
    this.#timer ??= setInterval(() => this.drain(), DRAIN_MS);
  }

  /** Write what the Workers put in the rings since the last drain. */
  drain(): void {
    for (const c of this.#consumers) c.drain(this.#take);
  }

  /** Drain once more (after the Workers stopped), stop the timer and close the file. */
  close(): CaptureStatus {
    if (!this.#closed) {
      this.#closed = true;
      clearInterval(this.#timer);
      this.drain();
      this.#file.close();
    }
    return this.status();
  }

  /** Frames and bytes written so far. */
  status(): CaptureStatus {
    return {
      file: this.#opts.path,
      frames: this.#frames,
      bytes: this.#bytes,
      stopped: this.#stopped,
    };
  }

  /** Write a chunk of whole blocks, or as many as fit under the size limit. */
  #write(chunk: Uint8Array, blocks: number): number {
    if (this.#stopped) return 0;
    const max = this.#opts.maxBytes ?? 0;
    let len = chunk.length, n = blocks;
    if (max > 0 && this.#bytes + len > max) {
      // Only the blocks that fit (the limit is reached once: the allocation is fine here).
      const words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 2);
      len = 0;
      n = 0;
      while (n < blocks && this.#bytes + len + words[(len >>> 2) + 1] <= max) {
        len += words[(len >>> 2) + 1];
        n++;
      }
    }
    try {
      this.#writeAll(len === chunk.length ? chunk : chunk.subarray(0, len));
    } catch (e) {
      this.#stop(`writing ${this.#opts.path} failed (${(e as Error).message}): capture stopped`);
      return 0;
    }
    this.#frames += n;
    if (n < blocks) {
      this.#stop(
        `--pcap-max-mb reached: stopped writing ${this.#opts.path} at ${this.#frames} frames ` +
          `(${this.#bytes} bytes); the run goes on`,
      );
    }
    return n;
  }

  #stop(message: string): void {
    this.#stopped = message;
    for (const c of this.#consumers) c.stop();
    this.#onStop(message);
  }

  #writeAll(b: Uint8Array): void {
    let o = 0;
    while (o < b.length) o += this.#file.writeSync(o === 0 ? b : b.subarray(o));
    this.#bytes += b.length;
  }
}
