/**
 * The frame audit: every UMEM frame must be in exactly one place.
 *
 * @module
 */

/** Where frames were found; `balanced` is true when each frame was seen exactly once. */
export interface FrameAudit {
  /** Frames in the UMEM. */
  total: number;
  /** In the mempool. */
  pool: number;
  /** Posted to the FILL ring, not yet used by the kernel. */
  fill: number;
  /** Received into the RX ring, not yet taken by the application. */
  rx: number;
  /** Held by the application (taken by rxBurst/alloc, not yet sent or freed). */
  app: number;
  /** Queued on the TX ring, not yet consumed by the kernel. */
  tx: number;
  /** On the COMPLETION ring, not yet reclaimed. */
  completion: number;
  /** With the kernel between rings (taken from FILL/TX, not yet on RX/COMPLETION). */
  inFlight: number;
  /** Frames seen in more than one place. */
  duplicates: number;
  /** True when pool + fill + rx + app + tx + completion + inFlight == total and no duplicates. */
  balanced: boolean;
}

/**
 * Marks frames as seen and counts duplicates; one instance per audit.
 *
 * @example
 * ```ts
 * import { FrameTally } from "./audit.ts";
 * const t = new FrameTally(4);
 * t.see(0); t.see(1); t.see(1);
 * t.duplicates; // 1
 * ```
 */
export class FrameTally {
  /** Frames seen twice or more. */
  duplicates = 0;
  /** Distinct frames seen. */
  distinct = 0;
  private readonly seen: Uint8Array;

  /** A tally over `frames` frames, none seen yet. */
  constructor(frames: number) {
    this.seen = new Uint8Array(frames);
  }

  /** Mark one frame index. Out-of-range indices count as duplicates (they are corrupt). */
  see(frame: number): void {
    if (frame >= this.seen.length || this.seen[frame] !== 0) {
      this.duplicates++;
      return;
    }
    this.seen[frame] = 1;
    this.distinct++;
  }
}
