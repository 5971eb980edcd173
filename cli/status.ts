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
          return { id, name: m.code === 0 ? JSON.parse(m.stdout).name as string : `id ${id}` };
        }),
      );
      out.maps = maps.map((m) => m.name);
    }
    const links = await sh("bpftool", "-j", "link", "show");
    if (links.code === 0) {
      const l = (JSON.parse(links.stdout) as { id: number; prog_id: number; type: string }[])
        .find((x) => x.prog_id === xdp.prog!.id);
      out.link_id = l?.id ?? null;
      if (l) out.held_by = linkHolders(l.id);
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
      `maps: ${((out.maps as string[]) ?? []).join(", ") || "none"}` +
      (out.held_by
        ? `; held by ${
          (out.held_by as { pid: number; comm: string }[]).map((h) => `${h.comm}[${h.pid}]`)
            .join(", ")
        } (its AF_XDP sockets: one per served queue, listed in its own table/JSON)`
        : ""),
  );
}

/** Processes holding bpf_link `linkId` (found through /proc/PID/fdinfo; needs root). */
function linkHolders(linkId: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const proc of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(proc.name)) continue;
    try {
      for (const fd of Deno.readDirSync(`/proc/${proc.name}/fdinfo`)) {
        const info = Deno.readTextFileSync(`/proc/${proc.name}/fdinfo/${fd.name}`);
        if (new RegExp(`^link_id:\\s+${linkId}$`, "m").test(info)) {
          const comm = Deno.readTextFileSync(`/proc/${proc.name}/comm`).trim();
          out.push({ pid: Number(proc.name), comm });
          break;
        }
      }
    } catch { /* process gone or not ours to read */ }
  }
  return out;
}
