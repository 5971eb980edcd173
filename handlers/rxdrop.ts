/**
 * Built-in `rxdrop`: count every frame and give it back to the pool (a receiver's ceiling).
 * `--mode rxdrop` loads this file.
 *
 * @module
 */
import type { Handler } from "../engine/handler.ts";

export default {
  burst(b) {
    const n = b.length;
    for (let i = 0; i < n; i++) b.drop(i);
  },
} satisfies Handler;
