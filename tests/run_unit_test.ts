import assert from "node:assert/strict";
import { stepMs } from "../app/tables/run_unit.ts";
import { assembleReport } from "../app/tables/mod.ts";
import { tablePlans } from "../experiments/tables/mod.ts";
import { planContext } from "./fixtures.ts";
import { renderTableReport } from "../lib/report/markdown.ts";

const history = (rates: number[]) => ({ history: rates.map((imgPerSec) => ({ imgPerSec })) });

Deno.test("stepMs: batch over the median epoch throughput, in ms", () => {
  // Median of 50, 100, 200 img/s is 100: 128 images take 1280 ms.
  assert.deepEqual(stepMs(history([200, 50, 100]), 128), { pretrainStepMs: 1280 });
  // An even count averages the middle two: (100 + 300) / 2 = 200 img/s → 640 ms.
  assert.deepEqual(stepMs(history([300, 100]), 128), { pretrainStepMs: 640 });
  // Epochs without a rate do not count; none at all gives no value.
  assert.deepEqual(stepMs(history([0, 256]), 128), { pretrainStepMs: 500 });
  assert.deepEqual(stepMs(history([]), 128), {});
});

Deno.test("Table 9's report shows the measured step time per row and seed, in ms", () => {
  const ctx = planContext("smoke");
  const plan = tablePlans(ctx.profile).table9;
  const unit = (row: string, seed: number, ms: number) => ({
    row,
    seed,
    value: 17,
    pretrainHash: "",
    evalHash: "",
    cacheHits: 3,
    runs: 3,
    wallSeconds: 0,
    meta: { pretrainStepMs: ms, linprobeTop1: 19 },
    curves: { pretrainLoss: [], evalMetric: [] },
  });
  const results = [unit("mae", 0, 600), unit("mae", 1, 620), unit("gpa", 0, 1100), unit("gpa", 1, 1090)];
  const report = assembleReport(ctx, plan, results, {}, [0, 1], 0);
  const block = report.additionalMetrics!.find((m) => m.metric.key === "stepMs")!;
  assert.equal(block.metric.unit, "ms");
  assert.deepEqual(block.rows.find((r) => r.key === "gpa")!.perSeed, [1100, 1090]);
  assert.deepEqual(block.rows.find((r) => r.key === "hpm")!.perSeed, []);
  // The markdown shows it under its own heading, in whole milliseconds.
  const md = renderTableReport(report);
  assert.match(md, /## pre-training time per step, measured/);
  assert.match(md, /s0: 1100, s1: 1090/);
});
