import assert from "node:assert/strict";
import { readingsByMetric } from "../lib/report/readings.ts";
import type { ClaimInput } from "../lib/report/verdict_types.ts";
import type { MetricBlock } from "../lib/report/report_model.ts";

const claims: ClaimInput[] = [
  { kind: "greater", id: "x-oracle", text: "oracle > mae", metric: "finetune", a: "oracle", b: "mae" },
  { kind: "greater", id: "x-knn-only", text: "on k-NN", metric: "knn", a: "oracle", b: "mae" },
];

function block(key: string, rows: Record<string, [number[], number[]]>): MetricBlock {
  return {
    metric: { key, label: key },
    rows: Object.entries(rows).map(([k, [perSeed, seeds]]) => ({
      key: k,
      label: k,
      paper: null,
      perSeed,
      seeds,
    })),
    baseline: "mae",
  };
}

Deno.test("readingsByMetric: the main metric's claims judged on a side metric, paired by seed", () => {
  const out = readingsByMetric(claims, "finetune", [
    block("finetune", { mae: [[1, 2], [0, 1]], oracle: [[2, 3], [0, 1]] }),
    // Seeds listed out of order on one row: pairing follows the seeds, not the positions.
    block("linprobe", { mae: [[10, 11, 12], [0, 1, 2]], oracle: [[11.5, 10.5, 12.5], [1, 0, 2]] }),
    block("empty", { mae: [[], []], oracle: [[], []] }),
  ]);
  assert.deepEqual(Object.keys(out), ["linprobe"]);
  const [v] = out.linprobe;
  assert.equal(v.claimId, "x-oracle");
  assert.equal(v.metric, "linprobe");
  // Per-seed differences by seed: s0 10.5 − 10, s1 11.5 − 11, s2 12.5 − 12 → +0.5 each, no spread.
  assert.equal(v.delta, 0.5);
  assert.equal(v.method, "paired");
  // Paired by position the differences would be +1.5, −0.5, +0.5: an interval around 0.5, not a point.
  assert.deepEqual(v.ci?.map((x) => Math.round(x * 1e9) / 1e9), [0.5, 0.5]);
  assert.equal(out.linprobe.length, 1, "claims on other metrics are left out");
});
