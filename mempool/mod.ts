/**
 * mbuf-lite mempool and the frame audit.
 *
 * @module
 */
export * from "./mempool.ts";
export * from "./audit.ts";
