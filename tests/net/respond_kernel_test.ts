/**
 * `respond` next to the Linux kernel: on one interface byPassRT answers for its address while the
 * kernel keeps its own, and, frame for frame, respond answers what the kernel answers.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { argv, inNs, run, serve, withTopology } from "./_netns.ts";

const T = { sanitizeResources: false, sanitizeOps: false };

/** Ping `ip` from the peer; returns ping's output and whether every request got its reply. */
async function ping(ns: string, ip: string, count: number): Promise<[boolean, string]> {
  const out = await new Deno.Command("ip", {
    args: ["netns", "exec", ns, ...argv(`ping -c ${count} -i 0.05 -W 1 ${ip}`)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return [text.includes(`${count} packets transmitted, ${count} received`), text];
}

Deno.test(
  "respond next to the kernel: both answer on one interface, also after an ARP flush",
  T,
  () =>
    withTopology(async (t) => {
      // The dut kernel owns 10.0.0.3; byPassRT serves 10.0.0.1, which the kernel does not own.
      const addrs = await run("ip", "-n", t.dut, "-4", "-br", "addr", "show", "dev", t.dutIf);
      ok(addrs.includes("10.0.0.3/24") && !addrs.includes("10.0.0.1"), addrs);
      const b = await serve(t, "--mode respond --ip 10.0.0.1", async () => {
        for (const round of ["first", "after flush"]) {
          if (round === "after flush") {
            await run("ip", "-n", t.peer, "neigh", "flush", "dev", t.peerIf);
            // The dut kernel has to resolve the peer again too: its request and the peer's
            // reply (target 10.0.0.3) must reach the kernel, not user space.
            await run("ip", "-n", t.dut, "neigh", "flush", "dev", t.dutIf);
          }
          for (const ip of ["10.0.0.1", "10.0.0.3"]) {
            const [all, out] = await ping(t.peer, ip, 5);
            ok(all, `${round}: ping ${ip}\n${out}`);
          }
        }
        // The peer learnt both addresses at the dut's MAC: one from byPassRT, one from the kernel.
        const neigh = await inNs(t.peer, "ip", "-4", "neigh", "show", "dev", t.peerIf);
        for (const ip of ["10.0.0.1", "10.0.0.3"]) {
          ok(
            new RegExp(`^${ip.replaceAll(".", "\\.")} lladdr ${t.dutMac}\\b`, "m").test(neigh),
            neigh,
          );
        }
      });
      const f = b.final();
      // No ARP meant for the kernel reached user space; nothing else was dropped either.
      strictEqual(f.drop_reasons.arp_not_for_us, undefined, JSON.stringify(f.drop_reasons));
      deepStrictEqual(f.drop_reasons, {});
      // 10 echo requests and at least one ARP request per round for 10.0.0.1, all answered.
      ok(f.total.rx_packets >= 12, JSON.stringify(f.total));
      strictEqual(f.total.tx_packets, f.total.rx_packets);
      // The kernel's traffic (10 pings, its ARP) went past user space.
      ok(f.program.passed >= 12, JSON.stringify(f.program));
      strictEqual(f.balanced, true);
    }, { dutIp: "10.0.0.3/24" }),
);
