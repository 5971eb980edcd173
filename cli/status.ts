/**
 * The status command: what XDP program is attached to an interface, in which mode, through
 * which link, with which maps; and whether it is ours.
 *
 * @module
 */
import { BypassError } from "../engine/errors.ts";
import { sh } from "./sh.ts";

/** Print the XDP state of `iface`. */
export async function statusCommand(o: { iface: string; json?: boolean }): Promise<void> {
  const link = await sh("ip", "-j", "-d", "link", "show", "dev", o.iface);
  if (link.code !== 0) {
    throw new BypassError(`interface ${o.iface} not found: check the name with 'ip link'`);
  }
  const info = JSON.parse(link.stdout)[0] ?? {};
  const xdp = info.xdp as { mode?: number; prog?: { id: number } } | undefined;
  const modes: Record<number, string> = { 1: "native", 2: "skb", 3: "hw", 4: "multi" };
  const out: Record<string, unknown> = {
    iface: o.iface,
    ifindex: info.ifindex,
    attached: Boolean(xdp),
    mode: xdp?.mode !== undefined ? modes[xdp.mode] ?? String(xdp.mode) : null,
    prog_id: xdp?.prog?.id ?? null,
  };
  if (xdp?.prog?.id) {
    const prog = await sh("bpftool", "-j", "prog", "show", "id", String(xdp.prog.id));
    if (prog.code === 0) {
      const p = JSON.parse(prog.stdout);
      out.prog_name = p.name;
      out.ours = p.name === "bypass_steer";
      const maps = await Promise.all(
        ((p.map_ids ?? []) as number[]).map(async (id) => {
          const m = await sh("bpftool", "-j", "map", "show", "id", String(id));
          return m.code === 0 ? JSON.parse(m.stdout).name : `id ${id}`;
        }),
      );
      out.maps = maps;
    }
    const links = await sh("bpftool", "-j", "link", "show");
    if (links.code === 0) {
      const l = (JSON.parse(links.stdout) as { id: number; prog_id: number; type: string }[])
        .find((x) => x.prog_id === xdp.prog!.id);
      out.link_id = l?.id ?? null;
    }
    const socks = await sh("ss", "-a", "-0", "-p");
    out.note = "AF_XDP sockets are bound per queue; byPassRT holds one per served queue";
    if (socks.code === 0) {
      out.xdp_socket_lines = socks.stdout.split("\n").filter((l) => /xdp/i.test(l)).length;
    }
  }
  if (o.json) {
    console.log(JSON.stringify(out));
    return;
  }
  if (!out.attached) {
    console.log(`${o.iface}: no XDP program attached`);
    return;
  }
  console.log(
    `${o.iface}: XDP program ${out.prog_name ?? "?"} (id ${out.prog_id}${
      out.ours ? ", byPassRT" : ""
    }) ` +
      `attached in ${out.mode} mode${
        out.link_id ? ` via bpf_link ${out.link_id}` : " (no bpf_link: legacy attach)"
      }; ` +
      `maps: ${((out.maps as string[]) ?? []).join(", ") || "none"}`,
  );
}
