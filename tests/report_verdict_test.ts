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
