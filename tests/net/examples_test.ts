/**
 * The examples users copy from, run as a user would, with real frames across a real veth.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { argv, ourStderr, pktio, withTopology, xdpAttached } from "./_netns.ts";

const T = { sanitizeResources: false, sanitizeOps: false };
const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test(
  "examples/burst_api.ts (the README's burst-API example): 500 frames back byte-exact, audit balanced",
  T,
  () =>
    withTopology(async (t) => {
      const file = `${ROOT}examples/burst_api.ts`;
      // The README shows this file's code as it is (everything after the module comment).
      const body = (await Deno.readTextFile(file)).split(" */\n").slice(1).join(" */\n").trim();
      ok((await Deno.readTextFile(`${ROOT}README.md`)).includes(body), "README shows the example");
      const child = new Deno.Command("ip", {
        args: ["netns", "exec", t.dut, Deno.execPath(), "run", "-A", file, t.dutIf, "500"],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stdout = new Response(child.stdout).text();
      const err = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let stderr = "";
      while (!stderr.includes("serving UDP/9000")) {
        const { value, done } = await err.read();
        if (done) break;
        stderr += value;
      }
      ok(stderr.includes("serving UDP/9000"), ourStderr(stderr));
      const r = await pktio(
        t.peer,
        "echo",
        ...argv(`--iface ${t.peerIf} --dst-mac ${t.dutMac} --count 500 --port 9000 --seed 3`),
      );
      const rest = (async () => {
        for (let c = await err.read(); !c.done; c = await err.read()) stderr += c.value;
      })();
      const st = await child.status;
      await rest;
      strictEqual(st.code, 0, ourStderr(stderr));
      deepStrictEqual(r, {
        sent: 500,
        received: 500,
        matched: 500,
        mismatched: 0,
        duplicates: 0,
        unexpected: 0,
      });
      const res = JSON.parse(await stdout);
      strictEqual(res.counters.rxPackets, 500);
      strictEqual(res.counters.txPackets, 500);
      strictEqual(res.audit.balanced, true, JSON.stringify(res.audit));
      strictEqual(res.audit.inFlight, 0);
      strictEqual(await xdpAttached(t.dut, t.dutIf), false, "prog.close() detached");
    }),
);
