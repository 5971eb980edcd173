/**
 * libbpf bindings to look inside a BPF object before it is loaded: its programs (section, name,
 * type), its maps (type, size), which programs to load, and where the verifier writes its log.
 * Used for a user's own XDP object (`--xdp-prog`); setup path only.
 *
 * @module
 */

/** The libbpf symbols that inspect an opened object. */
export const LIBBPF_OBJECT_SYMBOLS = {
  /** (obj, prev or null) -> next program or null */
  bpf_object__next_program: { parameters: ["pointer", "pointer"], result: "pointer" },
  bpf_program__name: { parameters: ["pointer"], result: "pointer" },
  bpf_program__section_name: { parameters: ["pointer"], result: "pointer" },
  bpf_program__type: { parameters: ["pointer"], result: "i32" },
  bpf_program__set_type: { parameters: ["pointer", "i32"], result: "i32" },
  bpf_program__set_expected_attach_type: { parameters: ["pointer", "i32"], result: "i32" },
  bpf_program__set_autoload: { parameters: ["pointer", "bool"], result: "i32" },
  /** (prog, buf, size): the verifier log of a failed load lands in buf */
  bpf_program__set_log_buf: { parameters: ["pointer", "pointer", "usize"], result: "i32" },
  bpf_map__type: { parameters: ["pointer"], result: "i32" },
  bpf_map__max_entries: { parameters: ["pointer"], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The opened libbpf, object-inspection part. */
export type LibbpfObject = Deno.DynamicLibrary<typeof LIBBPF_OBJECT_SYMBOLS>;

/** Open libbpf's object-inspection symbols (Debian: libbpf1). */
export function openLibbpfObject(): LibbpfObject {
  try {
    return Deno.dlopen("libbpf.so.1", LIBBPF_OBJECT_SYMBOLS);
  } catch (e) {
    throw new Error(
      `cannot load libbpf.so.1 (${
        (e as Error).message
      }): install it with 'apt-get install libbpf1'`,
    );
  }
}

/** `enum bpf_prog_type` value of BPF_PROG_TYPE_XDP. */
export const BPF_PROG_TYPE_XDP = 6;
/** `enum bpf_map_type` value of BPF_MAP_TYPE_XSKMAP. */
export const BPF_MAP_TYPE_XSKMAP = 17;
