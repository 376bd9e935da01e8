import assert from "node:assert/strict";
import { ladderDiscussion, plan, planLong } from "../experiments/tables/teachers.ts";
import { getProfile } from "../experiments/profiles.ts";
import type { Verdict } from "../lib/report/verdict.ts";

function verdict(id: string, delta: number, ci: [number, number] | null, mde = 1): Verdict {
  return {
    claimId: `tt-${id}`,
    text: id,
    kind: "greater",
    metric: "finetune",
    outcome: ci && ci[0] > 0 ? "reproduced" : ci && ci[1] < 0 ? "not reproduced" : "inconclusive",
    vsPaper: null,
    rule: "",
    compared: { a: "a", b: "b" },
    delta,
    ci,
    level: 0.95,
    method: ci ? "paired" : "none",
    n: "3 pairs",
    mde,
    halfWidth: NaN,
    pValue: NaN,
    paperEffect: null,
    seedsNeeded: null,
    seedsNeededRange: null,
    rows: {},
    detail: "",
  };
}

Deno.test("ladderDiscussion: pre-training helps, the oracle does not — explanation 3, with its bound", () => {
  const text = ladderDiscussion([
    verdict("mae-beats-random", 1, [0.5, 1.5]),
    verdict("oracle-beats-mae", 0.1, [-0.3, 0.4], 0.62),
    verdict("gpa-beats-mean", 0, [-0.4, 0.4]),
    verdict("gpa-beats-centre", 0.1, [-0.2, 0.4]),
    verdict("gpa-beats-mae", 0.2, [-0.1, 0.5]),
  ], "tt");
  assert.match(text, /Pre-training is worth \+1\.00 \[\+0\.50, \+1\.50\] points/);
  assert.match(
    text,
    /at most \+0\.40 points \(40 % of pre-training's gain\) at 95 % \(MDE at 80 % power 0\.62\)/,
  );
  assert.match(text, /explanation 3/);
  assert.match(text, /no measurable value of the teacher's per-image content/);
});

Deno.test("ladderDiscussion: an oracle gain the teacher lacks names the teacher; no pre-training gain names length", () => {
  const teacher = ladderDiscussion([
    verdict("mae-beats-random", 1, [0.5, 1.5]),
    verdict("oracle-beats-mae", 0.8, [0.2, 1.4]),
    verdict("gpa-beats-mae", 0.1, [-0.2, 0.4]),
  ], "tt");
  assert.match(
    teacher,
    /oracle box beats MAE by \+0\.80 \[\+0\.20, \+1\.40\] \(80 % of pre-training's gain\)/,
  );
  assert.match(teacher, /consistent with explanation 1, the teacher as the bottleneck/);
  const short = ladderDiscussion([
    verdict("mae-beats-random", 0.2, [-0.5, 0.9]),
    verdict("oracle-beats-mae", 0, [-0.4, 0.4]),
  ], "tt");
  assert.match(short, /explanation 2/);
  const hurts = ladderDiscussion([
    verdict("mae-beats-random", 1, [0.5, 1.5]),
    verdict("oracle-beats-mae", -0.8, [-1.2, -0.4]),
  ], "tt");
  assert.match(hurts, /hurts at this scale/);
  // A bound as wide as half of pre-training's gain separates nothing.
  const wide = ladderDiscussion([
    verdict("mae-beats-random", 1.47, [0.06, 2.88]),
    verdict("oracle-beats-mae", 0.35, [-0.88, 1.57]),
  ], "tt");
  assert.match(wide, /too wide to tell the explanations apart/);
  assert.doesNotMatch(wide, /explanation 3/);
  // Too few seeds: no interval, no explanation picked.
  assert.match(ladderDiscussion([verdict("mae-beats-random", 1, null)], "tt"), /not enough have run/);
});

Deno.test("teachers plans: six rows, one random-init floor, the long arm 4× the epochs and read by k-NN", () => {
  const cpu = getProfile("cpu");
  const arm = plan(cpu), long = planLong(cpu);
  assert.deepEqual(arm.rows.map((r) => r.key), [
    "random-init",
    "mae",
    "centre",
    "mean-map",
    "gpa",
    "oracle-box",
  ]);
  assert.equal(arm.metric.evaluation, "finetune");
  assert.equal(long.metric.evaluation, "knn");
  assert.ok(long.rows.filter((r) => r.request).every((r) => r.epochsScale === 4));
  assert.deepEqual(arm.own!.claims.map((c) => c.id).slice(0, 2), [
    "tt-mae-beats-random",
    "tt-oracle-beats-mae",
  ]);
});

Deno.test("mapSourcesNote: gpa-recall's mask-source measures as one line; null for an older file", async () => {
  const { mapSourcesNote } = await import("../experiments/tables/teachers.ts");
  const line = mapSourcesNote({
    images: 2500,
    positionVsContent: [
      {
        source: "gpa",
        k: 16,
        recall: 0.379,
        correlationWithMean: 0.79,
        topKOverlapWithMean: 0.61,
        chance: 0.25,
      },
      {
        source: "centre",
        k: 16,
        recall: 0.426,
        correlationWithMean: 1,
        topKOverlapWithMean: 1,
        chance: 0.25,
      },
    ],
  });
  assert.match(line!, /on 2500 held-out images/);
  assert.match(
    line!,
    /top-16 \(chance 0\.25\): gpa recall 0\.379, correlation with its mean map 0\.79, top-k overlap/,
  );
  assert.equal(mapSourcesNote({ recall: 0.86 }), null);
});

Deno.test("report header: the long arm's epochs are its own (4×) and its evaluation is k-NN", async () => {
  const { epochsLabel } = await import("../app/tables/report.ts");
  const cpu = getProfile("cpu");
  const ctx = { profile: cpu } as Parameters<typeof epochsLabel>[0];
  assert.equal(epochsLabel(ctx, "knn", planLong(cpu)), "16 pre-train + k-NN on the frozen encoder");
  assert.equal(epochsLabel(ctx, "finetune", plan(cpu)), "4 pre-train + 4 fine-tune");
});
