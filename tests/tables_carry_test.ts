import assert from "node:assert/strict";
import { carriedUnits } from "../app/tables/carry.ts";
import type { PlannedUnit } from "../app/tables/plan.ts";

Deno.test("carriedUnits: a recorded run's curves come back, an epoch with no metric (null in JSON) as NaN", () => {
  // As the report's JSON holds them: jsonSafe wrote the NaN of an epoch that logged no metric as null.
  const previous = JSON.parse(JSON.stringify({
    header: { commit: "abc1234 (dirty)", date: "2026-12-07T23:08:21.682Z", backend: "wasm" },
    metrics: [{ metric: { key: "finetune" }, rows: [{ key: "mae", seeds: [0, 1], perSeed: [17.5, 18] }] }],
    runs: [
      {
        row: "mae",
        seed: 0,
        pretrainHash: "p0",
        evalHash: "e0",
        curves: { pretrainLoss: [1.2, 0.9], evalMetric: [12, NaN, 17.5] },
      },
      // Recorded before reports kept curves: carried without one.
      { row: "mae", seed: 1, pretrainHash: "p1", evalHash: "e1" },
    ],
  }));
  assert.equal(previous.runs[0].curves.evalMetric[1], null);
  const planned = [0, 1].map((seed): PlannedUnit => ({
    row: "mae",
    seed,
    status: "missing",
    evalHash: `e${seed}`,
  }));
  const { results, from } = carriedUnits(previous, "/r/table4.json", "finetune", planned);
  assert.equal(from.commit, "abc1234");
  assert.deepEqual(results.map((r) => [r.seed, r.value, r.runs]), [[0, 17.5, 0], [1, 18, 0]]);
  assert.deepEqual(results[0].curves.pretrainLoss, [1.2, 0.9]);
  assert.equal(results[0].curves.evalMetric.length, 3);
  assert.ok(Number.isNaN(results[0].curves.evalMetric[1]), "null reads back as NaN, not 0");
  assert.deepEqual(results[1].curves, { pretrainLoss: [], evalMetric: [] });
});
