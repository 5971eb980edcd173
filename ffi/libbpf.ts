/**
 * libbpf bindings: load our BPF object, reach its maps, attach it with a bpf_link, query what is
 * attached. Setup and statistics paths only.
 *
 * @module
 */

/** The libbpf symbols byPassRT calls. */
export const LIBBPF_SYMBOLS = {
  bpf_object__open_file: { parameters: ["buffer", "pointer"], result: "pointer" },
  bpf_object__load: { parameters: ["pointer"], result: "i32" },
  bpf_object__close: { parameters: ["pointer"], result: "void" },
  bpf_object__find_program_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_object__find_map_fd_by_name: { parameters: ["pointer", "buffer"], result: "i32" },
  bpf_program__fd: { parameters: ["pointer"], result: "i32" },
  bpf_map_update_elem: { parameters: ["i32", "buffer", "buffer", "u64"], result: "i32" },
  bpf_map_lookup_elem: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  bpf_map_delete_elem: { parameters: ["i32", "buffer"], result: "i32" },
  /** (fd, keys, values, count in/out, opts or null) */
  bpf_map_update_batch: {
    parameters: ["i32", "buffer", "buffer", "buffer", "pointer"],
    result: "i32",
  },
  /** (fd, in_batch or null, out_batch, keys, values, count in/out, opts or null) */
  bpf_map_lookup_batch: {
    parameters: ["i32", "buffer", "buffer", "buffer", "buffer", "buffer", "pointer"],
    result: "i32",
  },
  bpf_object__find_map_by_name: { parameters: ["pointer", "buffer"], result: "pointer" },
  bpf_map__set_max_entries: { parameters: ["pointer", "u32"], result: "i32" },
  bpf_map__value_size: { parameters: ["pointer"], result: "u32" },
  /** (map, data, size): the initial contents of a global-data map (.rodata), before load */
  bpf_map__set_initial_value: { parameters: ["pointer", "buffer", "usize"], result: "i32" },
  bpf_link_create: { parameters: ["i32", "i32", "u32", "buffer"], result: "i32" },
  bpf_xdp_query_id: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  bpf_prog_get_fd_by_id: { parameters: ["u32"], result: "i32" },
  bpf_xdp_detach: { parameters: ["i32", "u32", "pointer"], result: "i32" },
  bpf_obj_get_info_by_fd: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  libbpf_num_possible_cpus: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened libbpf. */
export type Libbpf = Deno.DynamicLibrary<typeof LIBBPF_SYMBOLS>;

/** Open libbpf (Debian: libbpf1). Throws a clear error when it is missing. */
export function openLibbpf(): Libbpf {
  try {
    return Deno.dlopen("libbpf.so.1", LIBBPF_SYMBOLS);
  } catch (e) {
    throw new Error(
      `cannot load libbpf.so.1 (${
        (e as Error).message
      }): install it with 'apt-get install libbpf1'`,
    );
  }
}

/** `enum bpf_attach_type` value of BPF_XDP. */
export const BPF_XDP = 37;
/** XDP attach flags (linux/if_link.h). */
export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
/** See {@link XDP_FLAGS_UPDATE_IF_NOEXIST}. */
export const XDP_FLAGS_SKB_MODE = 2;
/** See {@link XDP_FLAGS_UPDATE_IF_NOEXIST}. */
export const XDP_FLAGS_DRV_MODE = 4;
