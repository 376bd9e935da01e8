import assert from "node:assert/strict";
import { type ClaimInput, judgeClaim, judgeClaims } from "../lib/report/verdict.ts";

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
  const { PAPER_TABLES } = await import("../experiments/paper.ts");
  const claims: ClaimInput[] = PAPER_TABLES.flatMap((t) => t.claims);
  // Feeding each claim its own paper values (one "seed", flagged exact) must reproduce every claim.
  for (const table of PAPER_TABLES) {
    for (const claim of table.claims) {
      const results: Record<string, number[]> = {};
      for (const row of table.rows) results[row.key] = [row.cells[claim.metric] as number];
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
  near(paired.mde, 4.302653 * 0.11547005 / Math.sqrt(3), 1e-5);
  near(paired.ci![0], 3.2 / 3 - paired.mde);
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
  near(v.mde, 2.776445 * 1 / Math.sqrt(5), 1e-5);
  assert.equal(v.seedsNeeded, 10);
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
