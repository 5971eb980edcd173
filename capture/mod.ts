/**
 * Capture (`--pcap`): the pcapng format, the per-queue capture ring between a polling Worker and
 * the main thread, and the session that writes the file.
 *
 * @module
 */
export * from "./pcapng.ts";
export * from "./ring.ts";
export * from "./session.ts";
