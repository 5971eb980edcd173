/**
 * Headless chromium (Debian's /usr/bin/chromium, driven by npm puppeteer-core) run inside a test
 * namespace, for the live page tests: the metrics server listens on that namespace's loopback.
 *
 * @module
 */
import puppeteer, { type Browser } from "puppeteer-core";

const CHROMIUM = "/usr/bin/chromium";

/** Headless chromium inside namespace `ns`, driven over a pipe. */
export async function chromiumIn(ns: string, dir: string): Promise<Browser> {
  const wrapper = `${dir}/chromium-in-ns`;
  await Deno.writeTextFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} ${CHROMIUM} "$@"\n`);
  await Deno.chmod(wrapper, 0o755);
  return await puppeteer.launch({
    executablePath: wrapper,
    pipe: true,
    headless: true,
    userDataDir: `${dir}/profile`,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
