/**
 * libxdp bindings: UMEM and AF_XDP socket creation. Only the setup calls are bound; the ring
 * helpers libxdp also exports are reimplemented in `ring/` over typed arrays.
 *
 * @module
 */

/** The libxdp symbols byPassRT calls. */
export const LIBXDP_SYMBOLS = {
  xsk_umem__create: {
    parameters: ["buffer", "pointer", "u64", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  xsk_umem__delete: { parameters: ["pointer"], result: "i32" },
  xsk_socket__create: {
    parameters: ["buffer", "buffer", "u32", "pointer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  xsk_socket__fd: { parameters: ["pointer"], result: "i32" },
  xsk_socket__delete: { parameters: ["pointer"], result: "void" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened libxdp. */
export type Libxdp = Deno.DynamicLibrary<typeof LIBXDP_SYMBOLS>;

/** Open libxdp (Debian: libxdp1). Throws a clear error when it is missing. */
export function openLibxdp(): Libxdp {
  try {
    return Deno.dlopen("libxdp.so.1", LIBXDP_SYMBOLS);
  } catch (e) {
    throw new Error(
      `cannot load libxdp.so.1 (${
        (e as Error).message
      }): install it with 'apt-get install libxdp1'`,
    );
  }
}

/** Size of `struct xsk_ring_prod` / `struct xsk_ring_cons` (both the same layout). */
export const XSK_RING_STRUCT_SIZE = 48;
/** Offsets inside `struct xsk_ring_*`: four u32 then four pointers. */
export const XSK_RING_OFF = { mask: 8, size: 12, producer: 16, consumer: 24, ring: 32, flags: 40 };
/** `struct xsk_umem_config`: fill_size, comp_size, frame_size, frame_headroom, flags (u32 each). */
export const XSK_UMEM_CONFIG_SIZE = 20;
/** `struct xsk_socket_config`: rx_size, tx_size, libxdp_flags, xdp_flags (u32), bind_flags (u16). */
export const XSK_SOCKET_CONFIG_SIZE = 20;
/** libxdp flag: do not load libxdp's default XDP program (we attach our own). */
export const XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD = 1;
/** bind flag: force copy mode. */
export const XDP_COPY = 1 << 1;
/** bind flag: force zero-copy mode. */
export const XDP_ZEROCOPY = 1 << 2;
/** bind flag: the kernel sets XDP_RING_NEED_WAKEUP when it must be kicked. */
export const XDP_USE_NEED_WAKEUP = 1 << 3;
/** Ring flag: kick me. */
export const XDP_RING_NEED_WAKEUP = 1;
/** Socket level of AF_XDP options. */
export const SOL_XDP = 283;
/** getsockopt: struct xdp_statistics. */
export const XDP_STATISTICS = 7;
/** getsockopt: struct xdp_options. */
export const XDP_OPTIONS = 8;
/** xdp_options flag: the socket is bound in zero-copy mode. */
export const XDP_OPTIONS_ZEROCOPY = 1;
/** Headroom the kernel keeps in front of each received frame in aligned mode. */
export const XDP_PACKET_HEADROOM = 256;
