import assert from "node:assert/strict";
import { type ClaimInput, holmVerdicts, judgeClaim, judgeClaims } from "../lib/report/verdict.ts";
import { twoSidedPValue } from "../lib/report/stats.ts";

const greater: ClaimInput = { kind: "greater", id: "g", text: "a beats b", metric: "acc", a: "a", b: "b" };
const best: ClaimInput = {
  kind: "best-in-group",
  id: "best",
  text: "x is best",
  metric: "acc",
  best: "x",
  rows: ["x", "y", "z"],
};

function near(actual: number, expected: number, eps = 1e-6): void {
  assert(Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);
}

Deno.test("verdict: clear win is reproduced, with delta and hand-checked CI", () => {
  // a − b: means 11 − 1 = 10; equal variances 1, n = 3 → df 4, half width t(0.975,4)·√(2/3).
  const v = judgeClaim(greater, { a: [10, 11, 12], b: [0, 1, 2] });
  assert.equal(v.outcome, "reproduced");
  near(v.delta, 10);
  assert(v.ci);
  near(v.ci[0], 10 - 2.776445 * Math.sqrt(2 / 3), 1e-5);
  near(v.ci[1], 10 + 2.776445 * Math.sqrt(2 / 3), 1e-5);
  assert.match(v.rule, /CI/);
  assert.deepEqual(v.rows.a, { mean: 11, n: 3 });
});

Deno.test("verdict: clear loss is not reproduced", () => {
  const v = judgeClaim(greater, { a: [0, 1, 2], b: [10, 11, 12] });
  assert.equal(v.outcome, "not reproduced");
  near(v.delta, -10);
  assert(v.ci && v.ci[1] < 0);
});

Deno.test("verdict: overlapping results are inconclusive", () => {
  const v = judgeClaim(greater, { a: [1, 3, 5], b: [0, 2, 4] });
  assert.equal(v.outcome, "inconclusive");
  near(v.delta, 1);
  assert(v.ci && v.ci[0] < 0 && v.ci[1] > 0);
});

Deno.test("verdict: a single seed is inconclusive, even with a large point difference", () => {
  const v = judgeClaim(greater, { a: [90], b: [10] });
  assert.equal(v.outcome, "inconclusive");
  near(v.delta, 80);
  assert.equal(v.ci, null);
  assert.match(v.rule, /fewer than 2 seeds/);
  assert.match(v.detail, /in the claimed direction/);
});

Deno.test("verdict: deterministic metrics compare single measurements", () => {
  assert.equal(judgeClaim(greater, { a: [1.1], b: [1.0] }, { exact: true }).outcome, "reproduced");
  assert.equal(judgeClaim(greater, { a: [1.0], b: [1.0] }, { exact: true }).outcome, "not reproduced");
  const equal: ClaimInput = {
    kind: "equal",
    id: "e",
    text: "same",
    metric: "p",
    a: "a",
    b: "b",
    tolerance: 0,
  };
  assert.equal(judgeClaim(equal, { a: [5], b: [5] }, { exact: true }).outcome, "reproduced");
  assert.equal(judgeClaim(equal, { a: [6], b: [5] }, { exact: true }).outcome, "not reproduced");
});

Deno.test("verdict: equality with tolerance on noisy results", () => {
  const equal: ClaimInput = {
    kind: "equal",
    id: "e",
    text: "same",
    metric: "p",
    a: "a",
    b: "b",
    tolerance: 5,
  };
  assert.equal(judgeClaim(equal, { a: [10, 10.1, 9.9], b: [10, 10.2, 9.8] }).outcome, "reproduced");
  assert.equal(judgeClaim(equal, { a: [30, 30.1, 29.9], b: [10, 10.2, 9.8] }).outcome, "not reproduced");
  assert.equal(judgeClaim(equal, { a: [0, 10, 20], b: [10, 10.2, 9.8] }).outcome, "inconclusive");
});

Deno.test("verdict: best-in-group — clear win, loss to another row, overlap, single seed", () => {
  const win = judgeClaim(best, { x: [10, 10.5, 11], y: [5, 5.5, 6], z: [7, 7.5, 8] });
  assert.equal(win.outcome, "reproduced");
  assert.deepEqual(win.compared, { a: "x", b: "z" }); // runner-up by mean
  near(win.delta, 3);

  const loss = judgeClaim(best, { x: [5, 5.5, 6], y: [10, 10.5, 11], z: [7, 7.5, 8] });
  assert.equal(loss.outcome, "not reproduced");
  assert.deepEqual(loss.compared, { a: "x", b: "y" });
  near(loss.delta, -5);
  assert(loss.ci && loss.ci[1] < 0);

  // x has the top mean but overlaps z.
  const overlap = judgeClaim(best, { x: [6, 8, 10], y: [0, 0.5, 1], z: [5, 7.5, 9] });
  assert.equal(overlap.outcome, "inconclusive");
  assert.deepEqual(overlap.compared, { a: "x", b: "z" });

  // z has the top mean but not significantly: inconclusive, not "not reproduced".
  const behind = judgeClaim(best, { x: [5, 7.5, 9], y: [0, 0.5, 1], z: [6, 8, 10] });
  assert.equal(behind.outcome, "inconclusive");
  assert(behind.delta < 0);

  const single = judgeClaim(best, { x: [10], y: [5], z: [7] });
  assert.equal(single.outcome, "inconclusive");
  assert.equal(single.ci, null);
});

Deno.test("verdict: missing rows are inconclusive; judgeClaims routes metrics", () => {
  const missing = judgeClaim(greater, { a: [1, 2] });
  assert.equal(missing.outcome, "inconclusive");
  assert.match(missing.detail, /no results for b/);
  const flopsClaim: ClaimInput = { kind: "greater", id: "f", text: "f", metric: "flops", a: "a", b: "b" };
  const verdicts = judgeClaims([greater, flopsClaim], {
    acc: { a: [10, 11, 12], b: [0, 1, 2] },
    flops: { a: [1.3], b: [1.1] },
  }, { exactMetrics: ["flops"] });
  assert.deepEqual(verdicts.map((v) => v.outcome), ["reproduced", "reproduced"]);
});

Deno.test("verdict: the paper module's claims are accepted as verdict input", async () => {
  const { PAPER_TABLES, claimRows, paperValue } = await import("../experiments/paper.ts");
  const claims: ClaimInput[] = PAPER_TABLES.flatMap((t) => t.claims);
  // Feeding each claim its own paper values (one "seed", flagged exact) must reproduce every claim.
  for (const table of PAPER_TABLES) {
    for (const claim of table.claims) {
      const results: Record<string, number[]> = {};
      for (const row of table.rows) results[row.key] = [row.cells[claim.metric] as number];
      // Rows a claim borrows from another table (Table 4's hard-vs-soft claims read Table 3's).
      for (const key of claimRows(claim)) results[key] ??= [paperValue(table.id, key, claim.metric)!];
      assert.equal(judgeClaim(claim, results, { exact: true }).outcome, "reproduced", claim.id);
    }
  }
  assert(claims.length > 0);
});

Deno.test("verdict: best-in-group needs a win over every row, not only over the runner-up by mean", () => {
  // x clearly beats y (the runner-up by mean), but z is so noisy that x vs z is far from significant.
  const v = judgeClaim(best, { x: [9.9, 10, 10.1], y: [8.9, 9, 9.1], z: [7, 13, 4] });
  assert.equal(v.outcome, "inconclusive");
  assert.deepEqual(v.compared, { a: "x", b: "z" });
  assert.match(v.detail, /not shown to beat z/);
  const win = judgeClaim(best, { x: [9.9, 10, 10.1], y: [8.9, 9, 9.1], z: [6.9, 7, 7.1] });
  assert.equal(win.outcome, "reproduced");
  assert.deepEqual(win.compared, { a: "x", b: "y" }, "the weakest win is shown");
});

Deno.test("verdict: rows sharing seeds are compared per seed (paired), others by Welch; the test is named", () => {
  // A seed effect shared by both rows (10, 20, 30) hides a constant +1 from Welch but not from pairing.
  const results = { a: [11, 21, 31.2], b: [10, 20, 30] };
  const seeds = { a: [0, 1, 2], b: [0, 1, 2] };
  const welch = judgeClaim(greater, results);
  assert.equal(welch.method, "welch");
  assert.equal(welch.outcome, "inconclusive");
  const paired = judgeClaim(greater, results, { seeds, paired: true });
  assert.equal(paired.method, "paired");
  assert.equal(paired.n, "3 pairs");
  assert.equal(paired.outcome, "reproduced");
  // Differences 1, 1, 1.2: mean 1.0667, sd 0.11547, half width t(0.975, 2)·sd/√3 = 4.302653·0.066667.
  near(paired.delta, 3.2 / 3);
  near(paired.halfWidth, 4.302653 * 0.11547005 / Math.sqrt(3), 1e-5);
  near(paired.ci![0], 3.2 / 3 - paired.halfWidth);
  assert.match(paired.detail, /paired 95% CI/);
  // Only seeds present in both rows pair up; with fewer than two pairs the comparison falls back to Welch.
  const partial = judgeClaim(greater, { a: [11, 21, 31.2], b: [10, 20] }, {
    seeds: { a: [0, 1, 2], b: [0, 1] },
    paired: true,
  });
  assert.equal(partial.n, "2 pairs (1 unpaired seed value(s) left out)");
  const apart = judgeClaim(greater, results, { seeds: { a: [0, 1, 2], b: [3, 4, 5] }, paired: true });
  assert.equal(apart.method, "welch");
});

Deno.test("verdict: minimum detectable effect and the seeds that would resolve the paper's effect", () => {
  // Paired differences with sd 1 and a paper effect of 1 point: 10 seeds give 80 % power
  // ((t.975,9 + t.8,9)/√10 = (2.2622 + 0.8834)/3.1623 = 0.9947 ≤ 1; with 9: (2.3060 + 0.8889)/3 = 1.065).
  const d = [0, 1, 2, 1, 1]; // sd of these differences is √0.5; scale to sd 1 below
  const s = Math.sqrt(2);
  const a = d.map((x) => 10 + (x - 1) * s);
  const b = d.map(() => 10);
  const v = judgeClaim(greater, { a, b }, {
    seeds: { a: [0, 1, 2, 3, 4], b: [0, 1, 2, 3, 4] },
    paired: true,
    paperEffect: 1,
  });
  assert.equal(v.outcome, "inconclusive");
  near(v.halfWidth, 2.776445 * 1 / Math.sqrt(5), 1e-5);
  // MDE at 80 % power: (t.975,4 + t.8,4) · 1/√5 = (2.776445 + 0.940965)/2.236068.
  near(v.mde, (2.776445 + 0.940965) / Math.sqrt(5), 1e-5);
  assert.equal(v.seedsNeeded, 10);
  // The spread's 95 % interval from 4 df: sd ∈ [√(4/11.143287), √(4/0.484419)] = [0.5991, 2.8736]; at 0.5991
  // five seeds suffice ((2.7764 + 0.9410)·0.5991/√5 = 0.996; four: (3.1824 + 0.9785)·0.5991/2 = 1.246); at
  // 2.8736, 67 (seedsForPower's search at that sd).
  assert.deepEqual(v.seedsNeededRange, [5, 67]);
  // A decided verdict asks for no more seeds.
  assert.equal(judgeClaim(greater, { a: [10, 11, 12], b: [0, 1, 2] }, { paperEffect: 1 }).seedsNeeded, null);
});

Deno.test("verdict: Holm's correction over a table's claims can turn marginal wins inconclusive", () => {
  const claims: ClaimInput[] = [
    { ...greater, id: "m1", a: "c" } as ClaimInput,
    { ...greater, id: "m2", a: "d" } as ClaimInput,
    { ...greater, id: "strong" } as ClaimInput,
  ];
  // c − b and d − b per seed: 0.5, 0.6, 0.9, 0.2, 0.1 → p ≈ 0.033 each; a − b is 10 on every seed (p = 0).
  // Holm: 0·3, then 0.033·2 = 0.066 for both marginal claims → inconclusive after correction.
  const b = [10, 11, 12, 13, 14];
  const c = [10.5, 11.6, 12.9, 13.2, 14.1];
  const acc = { a: b.map((x) => x + 10), b, c, d: c };
  const s = [0, 1, 2, 3, 4];
  const [m1, m2, strong] = judgeClaims(claims, { acc }, {
    seedsByMetric: { acc: { a: s, b: s, c: s, d: s } },
    paired: true,
  });
  assert.equal(strong.holm!.outcome, "reproduced");
  assert.equal(m1.outcome, "reproduced");
  assert.ok(m1.pValue < 0.05 && m1.pValue > 0.025, `p ${m1.pValue}`);
  near(m1.holm!.adjustedP, 2 * m1.pValue);
  assert.equal(m1.holm!.outcome, "inconclusive");
  assert.equal(m2.holm!.outcome, "inconclusive");
});

Deno.test("verdict edge cases (independent review): zero spread, NaN, seed lists, malformed claims", () => {
  const equal: ClaimInput = {
    kind: "equal",
    id: "e",
    text: "a equals b",
    metric: "acc",
    a: "a",
    b: "b",
    tolerance: 0.5,
  };
  // 1. A collapsed interval inside ±tol is a sure equivalence: p 0, and Holm keeps it.
  const [zero] = judgeClaims([equal], { acc: { a: [1, 1, 1], b: [1.2, 1.2, 1.2] } });
  assert.equal(zero.outcome, "reproduced");
  assert.equal(zero.pValue, 0);
  assert.equal(zero.holm!.outcome, "reproduced");
  // 2. A non-finite deterministic value is inconclusive, not "not reproduced".
  assert.equal(judgeClaim(greater, { a: [NaN], b: [1] }, { exact: true }).outcome, "inconclusive");
  assert.equal(judgeClaim(best, { x: [1], y: [NaN], z: [2] }, { exact: true }).outcome, "inconclusive");
  // 3. A paired comparison without an interval says so; seed lists must match their values and not repeat.
  const nan = judgeClaim(greater, { a: [5, NaN, 6], b: [1, 2, 3] }, {
    seeds: { a: [0, 1, 2], b: [0, 1, 2] },
    paired: true,
  });
  assert.equal(nan.method, "none");
  assert.throws(
    () =>
      judgeClaim(greater, { a: [10, 11], b: [1, 2, 3] }, {
        seeds: { a: [0, 1, 2], b: [0, 1, 2] },
        paired: true,
      }),
    /3 seeds for 2 values/,
  );
  assert.throws(
    () =>
      judgeClaim(greater, { a: [1, 2, 3], b: [1, 2] }, { seeds: { a: [0, 0, 1], b: [0, 1] }, paired: true }),
    /a seed appears twice/,
  );
  const partial = judgeClaim(greater, { a: [1, 2, 3, 4], b: [1, 2, 3, 4] }, {
    seeds: { a: [0, 1, 2, 3], b: [0, 1, 7, 8] },
    paired: true,
  });
  assert.match(partial.n, /2 pairs \(4 unpaired seed value\(s\) left out\)/);
  // 4. Malformed claims are rejected.
  assert.throws(() => judgeClaim({ ...best, rows: ["x"] } as ClaimInput, { x: [1, 2] }), /needs ≥ 2 rows/);
  assert.throws(() => judgeClaim({ ...best, best: "w" } as ClaimInput, { x: [1, 2] }), /including 'w'/);
  assert.throws(
    () => judgeClaim({ ...equal, tolerance: -1 } as ClaimInput, { a: [1, 2], b: [1, 2] }),
    /tolerance/,
  );
  // 5. No spread: no number of seeds to suggest.
  assert.equal(judgeClaim(greater, { a: [1, 1], b: [1, 1] }, { paperEffect: 0.5 }).seedsNeeded, null);
});

// Table 1 on the cpu profile (reports/cpu/table1.json): fine-tune top-1 per seed 0–4.
const T1 = {
  mae: [18.16, 16.64, 17.44, 16.52, 16.48],
  teacher: [18, 17.12, 17.68, 16.68, 16.8],
  full: [17.56, 17.32, 17.44, 17.08, 16.44],
};
const T1_SEEDS = { mae: [0, 1, 2, 3, 4], teacher: [0, 1, 2, 3, 4], full: [0, 1, 2, 3, 4] };
const t1 = (a: string, b: string, paperEffect: number | null) =>
  judgeClaim({ kind: "greater", id: `${a}-${b}`, text: "", metric: "acc", a, b }, T1, {
    seeds: T1_SEEDS,
    paired: true,
    paperEffect,
  });

Deno.test("verdict: a CI containing 0 wholly below the paper's Δ is 'smaller than the paper's' (Table 1)", () => {
  // GPA as teacher and feature − MAE per seed: −0.60, +0.68, 0, +0.56, −0.04: mean 0.12, Σ(x − m)² = 1.0656,
  // sd = √(1.0656/4) = 0.516140, se = 0.230825, t.975,4 = 2.776445 → [−0.5209, +0.7609]; paper +0.99.
  const full = t1("full", "mae", 83.22 - 82.23);
  near(full.delta, 0.12, 1e-9);
  near(full.ci![0], 0.12 - 2.776445 * 0.230825, 1e-5);
  near(full.ci![1], 0.12 + 2.776445 * 0.230825, 1e-5);
  assert.equal(full.outcome, "smaller than the paper's");
  assert.equal(full.vsPaper, "smaller");
  assert.equal(full.seedsNeeded, null, "the paper's Δ is already excluded: no seeds to suggest");
  assert.match(full.detail, /the paper's Δ 0\.99 lies above the interval/);
  assert.match(full.rule, /smaller than the paper's/);
  // MAM on top: teacher + feature − teacher: −0.44, +0.20, −0.24, +0.40, −0.36 → −0.088 [−0.545, +0.369];
  // paper +0.49 (83.22 − 82.73).
  const mam = t1("full", "teacher", 83.22 - 82.73);
  near(mam.delta, -0.088, 1e-9);
  assert.equal(mam.outcome, "smaller than the paper's");
  // GPA as teacher − MAE: −0.16, +0.48, +0.24, +0.16, +0.32 → 0.208 [−0.0867, +0.5027]: the upper end passes
  // the paper's +0.50, so it stays inconclusive.
  const teacher = t1("teacher", "mae", 0.5);
  near(teacher.ci![1], 0.5027, 1e-4);
  assert.equal(teacher.outcome, "inconclusive");
  assert.equal(teacher.vsPaper, null);
  assert.equal(teacher.seedsNeeded, 4);
  // Without a paper Δ the old rule holds.
  assert.equal(t1("full", "mae", null).outcome, "inconclusive");
  // The decision's p is the test against the paper's Δ: t = (0.12 − 0.99)/0.230825 = −3.769, df 4.
  near(full.pValue, twoSidedPValue(0.12 - 0.99, 0.230825, 4), 1e-4);
  assert(full.pValue < 0.05);
});

Deno.test("verdict: boundaries of the paper-Δ rule — equal is not below, the sign decides first", () => {
  const plain = t1("full", "mae", null);
  const [lo, hi] = plain.ci!;
  // Upper bound exactly the paper's Δ: the interval touches it, not wholly below → inconclusive.
  const touching = t1("full", "mae", hi);
  assert.deepEqual(touching.ci, plain.ci);
  assert.equal(touching.outcome, "inconclusive");
  assert.equal(touching.vsPaper, null);
  // Just above the upper bound → smaller; just below it (the interval covers it) → inconclusive.
  assert.equal(t1("full", "mae", hi + 1e-9).outcome, "smaller than the paper's");
  assert.equal(t1("full", "mae", hi - 1e-9).outcome, "inconclusive");
  // Mirror: the paper's Δ below the interval (only possible when it is negative, the interval containing 0).
  assert.equal(t1("full", "mae", lo).outcome, "inconclusive");
  const larger = t1("full", "mae", lo - 1e-9);
  assert.equal(larger.outcome, "larger than the paper's");
  assert.equal(larger.vsPaper, "larger");
  // Above 0 and wholly below the paper's Δ: reproduced, labelled smaller; wholly above it: labelled larger.
  const seeds = { a: [0, 1, 2], b: [0, 1, 2] };
  const up = { a: [11, 12.2, 13.1], b: [10, 11, 12] }; // differences 1, 1.2, 1.1: [0.85, 1.35]
  const win = judgeClaim(greater, up, { seeds, paired: true, paperEffect: 2 });
  assert.equal(win.outcome, "reproduced");
  assert.equal(win.vsPaper, "smaller");
  assert.equal(judgeClaim(greater, up, { seeds, paired: true, paperEffect: 0.5 }).vsPaper, "larger");
  assert.equal(judgeClaim(greater, up, { seeds, paired: true, paperEffect: 1 }).vsPaper, null);
  // A lower bound exactly 0 is not above 0: equal rows on every seed give the interval [0, 0], which lies
  // wholly below a paper Δ of +1 (smaller) and touches a paper Δ of 0 (inconclusive).
  const tie = { a: [10, 11, 12], b: [10, 11, 12] };
  const tied = judgeClaim(greater, tie, { seeds, paired: true, paperEffect: 1 });
  assert.deepEqual(tied.ci, [0, 0]);
  assert.equal(tied.outcome, "smaller than the paper's");
  assert.equal(judgeClaim(greater, tie, { seeds, paired: true, paperEffect: 0 }).outcome, "inconclusive");
  // Below 0: not reproduced, whatever the paper says (and labelled smaller in the data).
  const loss = judgeClaim(greater, { a: up.b, b: up.a }, { seeds, paired: true, paperEffect: 1 });
  assert.equal(loss.outcome, "not reproduced");
  assert.equal(loss.vsPaper, "smaller");
});

Deno.test("verdict: Holm keeps a 'smaller than the paper's' verdict only if its test against the paper's Δ survives", () => {
  // Table 1's three claims as a family: p of the two 'smaller' verdicts against the paper's Δ (≈ 0.020,
  // ≈ 0.025) and of the inconclusive one against 0 (0.12): Holm 3·0.020 = 0.059 ≥ 0.05 → inconclusive.
  const verdicts = holmVerdicts([
    t1("teacher", "mae", 0.5),
    t1("full", "mae", 0.99),
    t1("full", "teacher", 0.49),
  ]);
  assert.deepEqual(verdicts.map((v) => v.outcome), [
    "inconclusive",
    "smaller than the paper's",
    "smaller than the paper's",
  ]);
  assert.deepEqual(verdicts.map((v) => v.holm!.outcome), ["inconclusive", "inconclusive", "inconclusive"]);
  near(verdicts[1].holm!.adjustedP, 3 * verdicts[1].pValue, 1e-12);
  // Alone (a family of one) it keeps its outcome.
  assert.equal(holmVerdicts([t1("full", "mae", 0.99)])[0].holm!.outcome, "smaller than the paper's");
});

Deno.test("verdict: best-in-group's negative branch uses Bonferroni over the k − 1 comparisons (4 rows)", () => {
  const four: ClaimInput = { ...best, rows: ["x", "y", "z", "w"] } as ClaimInput;
  const seeds = { x: [0, 1, 2], y: [0, 1, 2], z: [0, 1, 2], w: [0, 1, 2] };
  // x − y per seed: −1.5, −2, −2.5 (mean −2, sd 0.5, se 0.288675). At 95 % (t.975,2 = 4.302653) the upper
  // bound is −2 + 1.242069 = −0.758 < 0: the old rule said "not reproduced". Bonferroni over 3 comparisons:
  // level 1 − 0.05/3, t.99167,2 = 0.983333/√(2·0.991667·0.008333) = 7.648804, upper −2 + 2.208020 = +0.208.
  const close = { x: [10, 10, 10], y: [11.5, 12, 12.5], z: [5, 5.5, 6], w: [6, 6.2, 6.4] };
  const v = judgeClaim(four, close, { seeds, paired: true });
  assert.equal(v.outcome, "inconclusive");
  assert.deepEqual(v.compared, { a: "x", b: "y" });
  near(v.ci![1], -2 + 4.302653 * 0.288675, 1e-5);
  assert.match(
    v.detail,
    /y is ahead at 95% \[.*\] but not at the Bonferroni level 98\.33% \[-4\.208, 0\.208\]/,
  );
  // x − y: −3.9, −4, −4.1 (se 0.057735): Bonferroni upper −4 + 7.648804·0.057735 = −3.5584 < 0.
  const clear = { ...close, y: [13.9, 14, 14.1] };
  const lost = judgeClaim(four, clear, { seeds, paired: true });
  assert.equal(lost.outcome, "not reproduced");
  assert.deepEqual(lost.bonferroni, { comparisons: 3, level: 1 - 0.05 / 3 });
  near(lost.ci![1], -4 + 7.648804 * 0.0577350, 1e-5);
  near(lost.halfWidth, 7.648804 * 0.0577350, 1e-5);
  assert.equal(lost.level, 0.95, "the verdict's nominal level is unchanged");
  // Its p is Bonferroni-adjusted (3 × the comparison's) for Holm's family.
  near(lost.pValue, Math.min(1, 3 * twoSidedPValue(-4, 0.1 / Math.sqrt(3), 2)), 1e-12);
  assert.match(lost.rule, /Bonferroni level 98\.33%/);
  // Two rows (k − 1 = 1): no correction, the 95 % interval decides as before.
  const pair: ClaimInput = { ...best, rows: ["x", "y"] } as ClaimInput;
  const two = judgeClaim(pair, close, { seeds, paired: true });
  assert.equal(two.outcome, "not reproduced");
  assert.equal(two.bonferroni, undefined);
});

Deno.test("verdict: 'slightly larger' on a deterministic quantity has an upper bound (atMost)", async () => {
  const slightly: ClaimInput = { ...greater, atMost: 0.25 } as ClaimInput;
  const within = judgeClaim(slightly, { a: [1.1], b: [1] }, { exact: true, paperEffect: 0.1 });
  assert.equal(within.outcome, "reproduced");
  const far = judgeClaim(slightly, { a: [2.01], b: [1] }, { exact: true, paperEffect: 0.1 });
  assert.equal(far.outcome, "not reproduced", "a plain '>' would call 2.01× 'slightly more'");
  assert.equal(far.atMost, 0.25);
  assert.match(far.detail, /larger than the 0\.25 that "slightly" allows; the paper's difference: 0\.1/);
  assert.equal(judgeClaim(slightly, { a: [0.9], b: [1] }, { exact: true }).outcome, "not reproduced");
  // A re-judged report keeps the bound: the claim is rebuilt from the verdict.
  const { claimOfVerdict } = await import("../lib/report/rejudge.ts");
  const back = claimOfVerdict(JSON.parse(JSON.stringify(far)), "v");
  assert.equal((back as { atMost?: number }).atMost, 0.25);
});
