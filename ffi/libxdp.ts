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
  xsk_socket__create_shared: {
    parameters: [
      "buffer",
      "buffer",
      "u32",
      "pointer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
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

/**
 * One struct's layout: `sizeof` and the byte offset of each field byPassRT touches, keyed by the C
 * field name.
 */
export type StructLayout = { readonly sizeof: number } & { readonly [field: string]: number };

/** Layouts of several structs, keyed by C struct name (without `struct`). */
export type XskLayout = { readonly [struct: string]: StructLayout };

/** `struct xsk_ring_prod` and `struct xsk_ring_cons`: four u32 then four pointers. */
const XSK_RING = {
  sizeof: 48,
  mask: 8,
  size: 12,
  producer: 16,
  consumer: 24,
  ring: 32,
  flags: 40,
} as const;

/**
 * The libxdp 1.3 struct layouts byPassRT relies on (x86-64/aarch64 LP64), the one place they are
 * written: engine/port.ts builds the structs it passes to `xsk_umem__create` and
 * `xsk_socket__create_shared` and reads the ring structs libxdp fills in from these offsets.
 * {@link xskLayoutMismatch} compares them with what the C helper was compiled against.
 *
 * @example
 * ```ts
 * import { XSK_LAYOUT } from "./libxdp.ts";
 * const cfg = new DataView(new ArrayBuffer(XSK_LAYOUT.xsk_socket_config.sizeof));
 * cfg.setUint16(XSK_LAYOUT.xsk_socket_config.bind_flags, 1 << 1, true); // XDP_COPY
 * ```
 */
export const XSK_LAYOUT = {
  xsk_ring_prod: XSK_RING,
  xsk_ring_cons: XSK_RING,
  /** fill_size, comp_size, frame_size, frame_headroom, flags: u32 each. */
  xsk_umem_config: {
    sizeof: 20,
    fill_size: 0,
    comp_size: 4,
    frame_size: 8,
    frame_headroom: 12,
    flags: 16,
  },
  /** rx_size, tx_size, libxdp_flags, xdp_flags: u32; bind_flags: u16 (2 bytes of padding). */
  xsk_socket_config: {
    sizeof: 20,
    rx_size: 0,
    tx_size: 4,
    libxdp_flags: 8,
    xdp_flags: 12,
    bind_flags: 16,
  },
} as const satisfies XskLayout;

/** The libxdp version whose layouts {@link XSK_LAYOUT} holds, for error messages. */
export const SUPPORTED_LIBXDP = "1.3.x";

/**
 * Compare the layouts byPassRT expects with the ones the C helper reports. Pure: no FFI.
 *
 * Returns `null` when every value matches, else ONE line naming the first difference (struct and
 * field, expected and actual value), how many more there are, and the fix. `actual` missing a
 * value means the helper does not know that name (a helper older than this code).
 *
 * @example
 * ```ts
 * import { XSK_LAYOUT, xskLayoutMismatch } from "./libxdp.ts";
 * xskLayoutMismatch(XSK_LAYOUT, XSK_LAYOUT); // null
 * const umem = { ...XSK_LAYOUT.xsk_umem_config, sizeof: 24 };
 * xskLayoutMismatch(XSK_LAYOUT, { ...XSK_LAYOUT, xsk_umem_config: umem });
 * // "libxdp ABI mismatch: sizeof(struct xsk_umem_config) is 24 in the <xdp/xsk.h> the helper ..."
 * ```
 */
export function xskLayoutMismatch(
  expected: XskLayout,
  actual: { readonly [struct: string]: { readonly [field: string]: number | undefined } },
): string | null {
  const diffs: string[] = [];
  let unknown = "";
  for (const [struct, fields] of Object.entries(expected)) {
    for (const [field, want] of Object.entries(fields)) {
      const what = field === "sizeof"
        ? `sizeof(struct ${struct})`
        : `offsetof(struct ${struct}, ${field})`;
      const got = actual[struct]?.[field];
      if (got === undefined || got < 0) unknown ||= what;
      else if (got !== want) {
        const where = "in the <xdp/xsk.h> the helper was built against";
        diffs.push(`${what} is ${got} ${where}, byPassRT expects ${want}`);
      }
    }
  }
  if (diffs.length > 0) {
    const more = diffs.length > 1 ? ` (and ${diffs.length - 1} more)` : "";
    return `libxdp ABI mismatch: ${diffs[0]}${more}: byPassRT supports libxdp ` +
      `${SUPPORTED_LIBXDP}; install its headers and library (e.g. Debian 12's libxdp-dev and ` +
      `libxdp1 1.3.1) and rebuild with 'deno task build'`;
  }
  if (unknown) {
    return `the helper library does not report ${unknown} (it is older than this code): ` +
      `rebuild it with 'deno task build'`;
  }
  return null;
}

/** libxdp flag: do not load libxdp's default XDP program (we attach our own). */
export const XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD = 1;
/** bind flag: force copy mode. */
export const XDP_COPY = 1 << 1;
/** bind flag: force zero-copy mode. */
export const XDP_ZEROCOPY = 1 << 2;
/** bind flag: the kernel sets XDP_RING_NEED_WAKEUP when it must be kicked. */
export const XDP_USE_NEED_WAKEUP = 1 << 3;
/**
 * Bind flag: multi-buffer socket (a frame longer than one UMEM chunk arrives and leaves as a
 * chain of descriptors). Kernel 6.6+; Debian 12's `linux/if_xdp.h` lacks the name.
 */
export const XDP_USE_SG = 1 << 4;
/** `xdp_desc.options` bit: the frame continues in the next descriptor (multi-buffer chain). */
export const XDP_PKT_CONTD = 1 << 0;
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
