/**
 * The real Prometheus parser on our exposition: `promtool check metrics` (Debian's `prometheus`
 * package) must accept it, lint included, and must reject a bad family (so the check can fail).
 * Needs `--allow-run=promtool`: part of `deno task test`, not of `deno test --allow-ffi`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { prometheusText } from "../../engine/metrics.ts";
import { fixture } from "../unit/_metrics_fixture.ts";
import { promtool } from "../../testing/promtool.ts";

Deno.test("promtool check metrics accepts the exposition (lint included)", async () => {
  const r = await promtool(prometheusText(fixture()));
  assert.equal(r.code, 0, r.out);
  // The checker can fail: a counter without _total is reported.
  const bad = await promtool("# HELP x_bytes b\n# TYPE x_bytes counter\nx_bytes 1\n");
  assert.notEqual(bad.code, 0, bad.out);
});
