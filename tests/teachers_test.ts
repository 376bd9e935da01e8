import assert from "node:assert/strict";
import { ladderDiscussion, plan, planLong } from "../experiments/tables/teachers.ts";
import { getProfile } from "../experiments/profiles.ts";
import type { Verdict } from "../lib/report/verdict.ts";
import { verdictFixture } from "./fixtures.ts";

function verdict(id: string, delta: number, ci: [number, number] | null, mde = 1): Verdict {
  return verdictFixture({
    claimId: `tt-${id}`,
    text: id,
    outcome: ci && ci[0] > 0 ? "reproduced" : ci && ci[1] < 0 ? "not reproduced" : "inconclusive",
    compared: { a: "a", b: "b" },
    delta,
    ci,
    method: ci ? "paired" : "none",
    n: "3 pairs",
    mde,
    halfWidth: NaN,
    pValue: NaN,
    paperEffect: null,
    seedsNeeded: null,
  });
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

Deno.test("ladderDiscussion: a second reading is one line of its intervals, named by its metric", () => {
  const vs = [
    verdict("mae-beats-random", 2, [1, 3]),
    verdict("oracle-beats-mae", 0.2, [-0.5, 0.9]),
    verdict("gpa-beats-mean", 0.1, [-0.3, 0.5]),
  ];
  const line = ladderDiscussion(vs, "tt", "k-NN", { short: true });
  assert.equal(
    line,
    "Read by k-NN: MAE − random init +2.00 [+1.00, +3.00]; oracle − MAE +0.20 [−0.50, +0.90] (at most 45 % " +
      "of pre-training's gain on this reading); GPA − mean map +0.10 [−0.30, +0.50].",
  );
  assert.match(ladderDiscussion([], "tt", "k-NN", { short: true }), /not enough paired seeds/);
  // The main reading names its metric after the prefix, so a re-judge still finds and replaces it.
  assert.match(ladderDiscussion(vs, "tt", "linear probe"), /^Discussion \(linear probe\) \(written/);
});

Deno.test("teachers plans: six rows, one random-init floor, the long arm 4× the epochs, probe + k-NN", () => {
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
  assert.equal(long.metric.evaluation, "linprobe");
  assert.deepEqual(long.sideMetrics, ["knn"]);
  assert.deepEqual(arm.sideMetrics, ["knn", "linprobe"]);
  // Co-primary: the ladder's claims on both metrics, so Holm runs over all twelve.
  assert.deepEqual([...new Set(long.own!.claims.map((c) => c.metric))], ["linprobe", "knn"]);
  assert.equal(long.own!.claims.length, 12);
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

Deno.test("report header: the long arm's epochs are its own (4×) and its evaluation the probe", async () => {
  const { epochsLabel } = await import("../app/tables/report.ts");
  const cpu = getProfile("cpu");
  const ctx = { profile: cpu } as Parameters<typeof epochsLabel>[0];
  assert.equal(epochsLabel(ctx, "linprobe", planLong(cpu)), "16 pre-train + 20 linear probe");
  assert.equal(epochsLabel(ctx, "finetune", plan(cpu)), "4 pre-train + 4 fine-tune");
});

Deno.test("side metrics: k-NN and the probe are per-seed blocks, paired, and the long arm judges both", async () => {
  const { assembleReport } = await import("../app/tables/mod.ts");
  const { tableReportJson } = await import("../lib/report/markdown.ts");
  const { rejudgeReport } = await import("../lib/report/rejudge.ts");
  const { planContext } = await import("./fixtures.ts");
  const ctx = planContext("smoke");
  const unit = (row: string, seed: number, value: number, knn: number) => ({
    row,
    seed,
    value,
    pretrainHash: "",
    evalHash: "",
    cacheHits: 2,
    runs: 2,
    wallSeconds: 0,
    meta: { knnTop1: knn, linprobeTop1: value },
    curves: { pretrainLoss: [], evalMetric: [] },
  });
  // MAE's k-NN beats random init by 2 ± 0.1 at every seed; its probe by an amount that changes sign.
  const units = [0, 1, 2].flatMap((s) => [
    unit("random-init", s, 10 + s, 5 + s),
    unit("mae", s, 10 + s + [0.5, -0.5, 0.2][s], 7 + s + 0.1 * (s - 1)),
  ]);
  const long = planLong(ctx.profile);
  const report = assembleReport(ctx, long, units, {}, [0, 1, 2], 0);
  const v = Object.fromEntries(report.verdicts.map((x) => [x.claimId, x]));
  assert.equal(v["tlk-mae-beats-random"].outcome, "reproduced", v["tlk-mae-beats-random"].detail);
  assert.equal(v["tlk-mae-beats-random"].n, "3 pairs");
  assert.ok(Math.abs(v["tlk-mae-beats-random"].delta - 2) < 1e-9);
  assert.equal(v["tl-mae-beats-random"].outcome, "inconclusive");
  const knn = report.additionalMetrics!.find((b) => b.metric.key === "knn")!;
  assert.deepEqual(knn.rows.find((r) => r.key === "mae")!.seeds, [0, 1, 2]);
  // The blocks survive the JSON: a re-judge from the file gives the same verdicts.
  const again = rejudgeReport(JSON.parse(JSON.stringify(tableReportJson(report))), {
    commit: "test",
    date: "2026-12-07",
  });
  const w = Object.fromEntries(again.verdicts.map((x) => [x.claimId, x]));
  assert.equal(w["tlk-mae-beats-random"].outcome, "reproduced");
  assert.ok(Math.abs(w["tlk-mae-beats-random"].delta - 2) < 1e-9);
  // The table arm shows both beside fine-tuning and judges neither.
  const arm = assembleReport(ctx, plan(ctx.profile), units, {}, [0, 1, 2], 0);
  assert.deepEqual(arm.additionalMetrics!.map((b) => b.metric.key), ["knn", "linprobe"]);
  assert.ok(arm.verdicts.every((x) => x.metric === "finetune"));
});

Deno.test("share of pre-training's gain: each co-primary metric's Δ over its own floor gain", async () => {
  const { assembleReport } = await import("../app/tables/mod.ts");
  const { tableReportJson } = await import("../lib/report/markdown.ts");
  const { planContext } = await import("./fixtures.ts");
  const ctx = planContext("smoke");
  const unit = (row: string, seed: number, probe: number, knn: number) => ({
    row,
    seed,
    value: probe,
    pretrainHash: "",
    evalHash: "",
    cacheHits: 1,
    runs: 1,
    wallSeconds: 0,
    meta: { knnTop1: knn },
    curves: { pretrainLoss: [], evalMetric: [] },
  });
  // Probe: MAE − random = 4, oracle − MAE = 1 (25 %). k-NN: MAE − random = 2, oracle − MAE = 1 (50 %).
  const units = [0, 1].flatMap((s) => [
    unit("random-init", s, 10 + s, 20 + s),
    unit("mae", s, 14 + s, 22 + s),
    unit("oracle-box", s, 15 + s, 23 + s),
  ]);
  const json = tableReportJson(assembleReport(ctx, planLong(ctx.profile), units, {}, [0, 1], 0));
  const verdicts = json.verdicts as { claimId: string; shareOfGain: number }[];
  const share = (id: string) => verdicts.find((v) => v.claimId === id)!.shareOfGain;
  assert.ok(Math.abs(share("tl-oracle-beats-mae") - 0.25) < 1e-9);
  assert.ok(Math.abs(share("tlk-oracle-beats-mae") - 0.5) < 1e-9);
});

Deno.test("ladderDiscussion: an interval that excludes 0 only before Holm's correction is called a hint, not a finding", () => {
  const holm = (v: Verdict, outcome: Verdict["outcome"]): Verdict => ({
    ...v,
    holm: { adjustedP: 0.1, outcome },
  });
  const rows = (gpaMeanHolm: Verdict["outcome"]) => [
    verdict("mae-beats-random", 1.2, [0.6, 1.9]),
    verdict("oracle-beats-mae", 0.3, [-0.1, 0.8]),
    holm(verdict("gpa-beats-mean", 0.34, [0.03, 0.65]), gpaMeanHolm),
    verdict("gpa-beats-centre", 0.46, [0.05, 0.87]),
  ];
  const hint = ladderDiscussion(rows("inconclusive"), "tt");
  assert.match(hint, /a hint that the teacher's per-image content adds something/);
  assert.match(hint, /not after Holm's correction/);
  assert.doesNotMatch(hint, /— the teacher's per-image content adds/);
  const holds = ladderDiscussion(rows("reproduced"), "tt");
  assert.match(holds, /— the teacher's per-image content adds something beyond its positional prior\./);
  // An oracle gain that Holm's correction does not keep says so.
  const oracle = ladderDiscussion([
    verdict("mae-beats-random", 1.2, [0.6, 1.9]),
    holm(verdict("oracle-beats-mae", 0.5, [0.1, 0.9]), "inconclusive"),
  ], "tt");
  assert.match(
    oracle,
    /A hint that masking the annotated object helps: oracle − MAE \+0\.50 \[\+0\.10, \+0\.90\].*\(before Holm's correction/,
  );
  assert.doesNotMatch(oracle, /Masking the annotated object helps/);
});

Deno.test("ladderDiscussion: a side reading gives the oracle's bound as a share of pre-training's gain on it", () => {
  const text = ladderDiscussion(
    [
      verdict("mae-beats-random", 4, [3, 5]),
      verdict("oracle-beats-mae", -0.15, [-0.5, 0.2]),
    ],
    "tt",
    "linear probe, beside (not judged)",
    { short: true },
  );
  // 0.2 of a 4-point gain: 5 %.
  assert.match(
    text,
    /^Read by linear probe, beside \(not judged\): MAE − random init \+4\.00 \[\+3\.00, \+5\.00\]; oracle − MAE −0\.15 \[−0\.50, \+0\.20\] \(at most 5 % of pre-training's gain on this reading\)\.$/,
  );
});

Deno.test("teachers-long: its claims on the probe and on k-NN do not read alike", () => {
  const claims = planLong(getProfile("cpu")).own!.claims;
  assert.equal(new Set(claims.map((c) => c.text)).size, claims.length);
  assert.match(claims.find((c) => c.id === "tlk-oracle-beats-mae")!.text, /\(k-NN\)$/);
  assert.match(claims.find((c) => c.id === "tl-oracle-beats-mae")!.text, /\(linear probe\)$/);
});
