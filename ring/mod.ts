/**
 * Rings: views of the kernel's AF_XDP rings and a software SPSC ring.
 *
 * @module
 */
export * from "./xsk_ring.ts";
export * from "./spsc.ts";
