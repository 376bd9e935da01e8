import assert from "node:assert/strict";
import {
  mean,
  meanConfidenceInterval,
  normalCdf,
  normalQuantile,
  regularizedIncompleteBeta,
  sampleStd,
  studentTCdf,
  studentTQuantile,
  welchDifferenceInterval,
} from "../lib/report/stats.ts";

function near(actual: number, expected: number, eps: number, what = ""): void {
  assert(Math.abs(actual - expected) <= eps, `${what} expected ${expected} ± ${eps}, got ${actual}`);
}

Deno.test("stats: mean and sample std, hand-computed", () => {
  near(mean([2, 4, 4, 4, 5, 5, 7, 9]), 5, 1e-12);
  // Sum of squared deviations 32, n − 1 = 7.
  near(sampleStd([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7), 1e-12);
  assert(Number.isNaN(mean([])));
  assert(Number.isNaN(sampleStd([3])));
  near(sampleStd([1, 1, 1]), 0, 0);
});

Deno.test("stats: incomplete beta against closed forms", () => {
  // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b.
  near(regularizedIncompleteBeta(0.3, 1, 1), 0.3, 1e-12);
  near(regularizedIncompleteBeta(0.6, 3, 1), 0.216, 1e-12);
  near(regularizedIncompleteBeta(0.2, 1, 4), 1 - 0.8 ** 4, 1e-12);
  near(regularizedIncompleteBeta(0.5, 7.5, 7.5), 0.5, 1e-12);
});

Deno.test("stats: t CDF against closed forms for df 1 and 2", () => {
  for (const t of [-3, -0.7, 0.4, 1, 5]) {
    near(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-12, `df1 t=${t}`);
    near(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-12, `df2 t=${t}`);
  }
});

Deno.test("stats: t quantiles match published table values", () => {
  near(studentTQuantile(0.975, 1), Math.tan(0.475 * Math.PI), 1e-8, "df1");
  near(studentTQuantile(0.975, 2), 4.302653, 5e-6, "df2");
  near(studentTQuantile(0.975, 4), 2.776445, 5e-6, "df4");
  near(studentTQuantile(0.975, 10), 2.228139, 5e-6, "df10");
  near(studentTQuantile(0.975, 30), 2.042272, 5e-6, "df30");
  near(studentTQuantile(0.995, 5), 4.032143, 5e-6, "0.995 df5");
  near(studentTQuantile(0.95, 3), 2.353363, 5e-6, "0.95 df3");
  near(studentTQuantile(0.025, 4), -2.776445, 5e-6, "lower tail");
  near(studentTQuantile(0.975, 1e7), 1.959964, 5e-6, "huge df");
  // Fractional df sits between its integer neighbours.
  const q = studentTQuantile(0.975, 4.5);
  assert(q < studentTQuantile(0.975, 4) && q > studentTQuantile(0.975, 5));
});

Deno.test("stats: normal CDF and quantile", () => {
  near(normalCdf(0), 0.5, 1e-15);
  near(normalCdf(1.959963985), 0.975, 1e-9);
  near(normalCdf(-1), 0.158655254, 1e-9);
  near(normalQuantile(0.975), 1.959963985, 1e-8);
  near(normalQuantile(0.05), -1.644853627, 1e-8);
});

Deno.test("stats: CI of a mean, hand-computed", () => {
  // [1, 2, 3]: mean 2, s = 1, se = 1/√3, t(0.975, 2) = 4.302653.
  const ci = meanConfidenceInterval([1, 2, 3]);
  near(ci.estimate, 2, 1e-12);
  near(ci.halfWidth, 4.302653 / Math.sqrt(3), 1e-5);
  near(ci.lower, 2 - 4.302653 / Math.sqrt(3), 1e-5);
  assert.equal(ci.df, 2);
  const single = meanConfidenceInterval([5]);
  assert(Number.isNaN(single.lower) && single.estimate === 5);
});

Deno.test("stats: Welch CI of a difference, hand-computed", () => {
  // Equal variances and sizes: df = 2(n − 1) = 4, se = √(1/3 + 1/3).
  const equal = welchDifferenceInterval([11, 12, 13], [1, 2, 3]);
  near(equal.estimate, 10, 1e-12);
  near(equal.df, 4, 1e-9);
  near(equal.halfWidth, 2.776445 * Math.sqrt(2 / 3), 1e-5);
  // Unequal: va = 1/3, vb = (5/3)/4; df = (va+vb)² / (va²/2 + vb²/3).
  const va = 1 / 3;
  const vb = 5 / 12;
  const unequal = welchDifferenceInterval([1, 2, 3], [4, 5, 6, 7]);
  near(unequal.estimate, -3.5, 1e-12);
  near(unequal.standardError, Math.sqrt(va + vb), 1e-12);
  near(unequal.df, (va + vb) ** 2 / (va * va / 2 + vb * vb / 3), 1e-9);
  assert(unequal.upper < 0);
  // Zero spread on both sides collapses the interval.
  const flat = welchDifferenceInterval([2, 2], [1, 1]);
  assert.equal(flat.lower, 1);
  assert.equal(flat.upper, 1);
  // One value on a side: no interval.
  assert(Number.isNaN(welchDifferenceInterval([1], [1, 2]).lower));
});

Deno.test("stats: paired interval, two-sided p, Holm adjustment and seeds for power, hand-computed", async () => {
  const { pairedDifferenceInterval, twoSidedPValue, holmAdjust, seedsForPower } = await import(
    "../lib/report/stats.ts"
  );
  // Differences 2, 4, 6: mean 4, sd 2, se 2/√3, t(0.975, 2) = 4.302653.
  const ci = pairedDifferenceInterval([3, 6, 9], [1, 2, 3]);
  assert.equal(ci.estimate, 4);
  assert.ok(Math.abs(ci.halfWidth - 4.302653 * 2 / Math.sqrt(3)) < 1e-5);
  assert.equal(ci.df, 2);
  assert.throws(() => pairedDifferenceInterval([1, 2], [1]), RangeError);
  // t = 2.262157 with 9 df is the 97.5 % quantile: two-sided p = 0.05.
  assert.ok(Math.abs(twoSidedPValue(2.262157, 1, 9) - 0.05) < 1e-6);
  assert.equal(twoSidedPValue(1, 0, 3), 0);
  // Holm: sorted 0.01·3, 0.03·2, then max(0.06, 0.04·1); NaN stays out of the family.
  const adj = holmAdjust([0.01, 0.04, 0.03, NaN]);
  assert.ok(
    Math.abs(adj[0] - 0.03) < 1e-12 && Math.abs(adj[1] - 0.06) < 1e-12 && Math.abs(adj[2] - 0.06) < 1e-12,
  );
  assert.ok(Number.isNaN(adj[3]));
  assert.equal(seedsForPower({ sd: 1, effect: 1, paired: true }), 10);
  // Unpaired, sd 1 per row, effect 1: n = 17 ((2.0369 + 0.8534)·√(2/17) = 0.9914; n = 16: 1.0226).
  assert.equal(seedsForPower({ sd: 1, effect: 1, paired: false }), 17);
  assert.equal(seedsForPower({ sd: 100, effect: 0.01, paired: true, max: 50 }), Infinity);
  assert.ok(Number.isNaN(seedsForPower({ sd: 1, effect: 0, paired: true })));
});

Deno.test("stats: chi-square quantiles against closed forms and table values; lower incomplete gamma", async () => {
  const { chiSquareQuantile, chiSquareCdf, regularizedLowerGamma } = await import("../lib/report/stats.ts");
  // P(1, x) = 1 − e^{−x}; P(1/2, x) = erf(√x), so χ²₁ CDF(3.841459) = 0.95.
  near(regularizedLowerGamma(1, 0.7), 1 - Math.exp(-0.7), 1e-12, "P(1, 0.7)");
  near(regularizedLowerGamma(1, 5), 1 - Math.exp(-5), 1e-12, "P(1, 5) (continued fraction)");
  near(chiSquareCdf(3.841459, 1), 0.95, 1e-6, "χ²₁");
  // Two degrees of freedom: the quantile is −2 ln(1 − p).
  near(chiSquareQuantile(0.025, 2), -2 * Math.log(0.975), 1e-9, "χ²₂ 2.5 %");
  near(chiSquareQuantile(0.975, 2), -2 * Math.log(0.025), 1e-9, "χ²₂ 97.5 %");
  // Published table values.
  near(chiSquareQuantile(0.025, 4), 0.484419, 5e-6, "χ²₄ 2.5 %");
  near(chiSquareQuantile(0.975, 4), 11.143287, 5e-6, "χ²₄ 97.5 %");
  near(chiSquareQuantile(0.5, 10), 9.341818, 5e-6, "χ²₁₀ median");
  near(chiSquareQuantile(0.99, 30), 50.892181, 5e-6, "χ²₃₀ 99 %");
});

Deno.test("stats: minimum detectable effect at 80 % power and the spread's chi-square interval, hand-computed", async () => {
  const { minimumDetectableEffect, pairedDifferenceInterval, sdConfidenceInterval } = await import(
    "../lib/report/stats.ts"
  );
  // Differences 1, 2, 4: mean 7/3, variance (16/9 + 1/9 + 25/9)/2 = 7/3, se = √(7/9) = 0.881917; df 2:
  // t.975 = 4.3027, t.8 = 1.0607 (closed form for df 2: (2p − 1)/√(2p(1 − p)) = 0.6/√0.32).
  const ci = pairedDifferenceInterval([1, 2, 4], [0, 0, 0]);
  near(ci.standardError, Math.sqrt(7 / 9), 1e-12, "se");
  near(ci.halfWidth, 4.302653 * 0.881917, 1e-5, "half-width");
  near(minimumDetectableEffect(ci), (4.3027 + 1.0607) * 0.881917, 2e-4, "MDE");
  near(minimumDetectableEffect(ci), (4.302653 + 0.6 / Math.sqrt(0.32)) * Math.sqrt(7 / 9), 1e-5, "MDE exact");
  assert(Number.isNaN(minimumDetectableEffect(pairedDifferenceInterval([1], [0]))));
  assert.equal(minimumDetectableEffect(pairedDifferenceInterval([1, 1], [0, 0])), 0);
  // sd 1 from df 2: [√(2/7.377759), √(2/0.0506356)] = [0.520654, 6.284622].
  const [lo, hi] = sdConfidenceInterval(1, 2);
  near(lo, Math.sqrt(2 / 7.377759), 1e-6, "sd lower");
  near(hi, Math.sqrt(2 / 0.0506356), 1e-5, "sd upper");
});
