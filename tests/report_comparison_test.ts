/** One comparison of two rows (lib/report/comparison.ts) against hand-computed intervals. */
import assert from "node:assert/strict";
import { compare, fromComparison } from "../lib/report/comparison.ts";

const near = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

Deno.test("compare: paired per seed — differences [1, 1, 2], t(0.975, 2) = 4.302653", () => {
  const results = { a: [1, 2, 3], b: [0, 1, 1] };
  const seeds = { a: [0, 1, 2], b: [0, 1, 2] };
  const c = compare("a", "b", results, 0.95, { paired: true, seeds });
  assert.equal(c.method, "paired");
  assert.equal(c.n, "3 pairs");
  // mean 4/3, sd √(1/3), SE 1/3, half-width 4.302653 / 3.
  near(c.interval.estimate, 4 / 3);
  near(c.sd, Math.sqrt(1 / 3));
  near(c.interval.halfWidth, 4.302653 / 3);
  const f = fromComparison(c);
  near(f.ci![0], 4 / 3 - 4.302653 / 3);
  near(f.ci![1], 4 / 3 + 4.302653 / 3);
  assert.deepEqual(f.compared, { a: "a", b: "b" });
});

Deno.test("compare: seeds that do not pair fall back to Welch and say so", () => {
  const results = { a: [1, 2, 3], b: [0, 1, 1] };
  const c = compare("a", "b", results, 0.95, { paired: true, seeds: { a: [0, 1, 2], b: [5, 6, 7] } });
  assert.equal(c.method, "welch");
  assert.equal(c.n, "3/3 seeds");
  near(c.interval.estimate, 2 - 2 / 3);
  // A seed listed twice is an error, not a silent pairing.
  assert.throws(
    () => compare("a", "b", results, 0.95, { paired: true, seeds: { a: [0, 0, 2], b: [0, 1, 2] } }),
    /a seed appears twice/,
  );
});
