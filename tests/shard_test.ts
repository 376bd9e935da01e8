/**
 * A job array, simulated: N processes each run `--shard i/N` of a table on one shared cache at the same time,
 * then an un-sharded call writes the report. Every unit must be trained exactly once (runs several units
 * need — the GPA teacher — included), and the report must find every run in the cache.
 */
import assert from "node:assert/strict";
import { cli } from "./cli_run.ts";

Deno.test("a 3-task job array on one cache trains every unit once; the final call writes the report", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const common = ["--profile", "smoke", "--backend", "wasm", "--seeds", "2", "--cache-dir", `${dir}/cache`];
    const N = 3;
    const tasks = await Promise.all(
      Array.from({ length: N }, (_, i) => cli(["table", "9", ...common, "--shard", `${i}/${N}`])),
    );
    for (const t of tasks) assert.equal(t.code, 0, t.stderr.slice(-800));
    // Each training start logs "<kind> <hash>: …"; no hash may be trained twice across the array.
    const trained = tasks.flatMap((t) =>
      [...t.stderr.matchAll(/^(?:\[[^\]]*\] )?(pretrain|finetune) ([0-9a-f]{16}): (?:from|\S+ on) /gm)].map((
        m,
      ) => m[2])
    );
    assert.ok(trained.length >= 6, `units trained: ${trained.length}`);
    assert.equal(new Set(trained).size, trained.length, `a run was trained twice: ${trained.join(" ")}`);
    const report = await cli(["table", "9", ...common, "--reports-dir", `${dir}/reports`]);
    assert.equal(report.code, 0, report.stderr.slice(-800));
    assert.doesNotMatch(
      report.stderr,
      /^(pretrain|finetune) [0-9a-f]{16}: (?:from|\S+ on) /m,
      "nothing left to train",
    );
    const md = await Deno.readTextFile(`${dir}/reports/smoke/table9.md`);
    // 6 units × (pre-training, fine-tuning, the probe column's linear probe), all trained by the array.
    assert.match(md, /\| Cache hits \| 18 of 18 runs \|/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
