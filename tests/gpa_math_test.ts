import assert from "node:assert/strict";
import { gpaReference, minMaxScale, zNormalize } from "../lib/gpa_math.ts";
import { Rng } from "../lib/rng.ts";

function assertClose(actual: ArrayLike<number>, expected: number[], tol = 1e-6, msg = ""): void {
  assert.equal(actual.length, expected.length, `${msg} length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${msg}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

// T = 3 tokens (CLS, patch 1, patch 2), dh = 2:
//   q0 = [1, 0] (CLS)  q1 = [0, 1]  q2 = [2, 1]
//   k0 = [100, -50] (CLS key; must never matter)  k1 = [1, 2]  k2 = [1, 3]
// Dot products q_i·k_m:
//   m = 1: q0·k1 = 1, q1·k1 = 2, q2·k1 = 2 + 2 = 4
//   m = 2: q0·k2 = 1, q1·k2 = 3, q2·k2 = 2 + 3 = 5
// Paper (patch queries only, i ≠ m): GPA_1 = q2·k1 / √2 = 4/√2, GPA_2 = q1·k2 / √2 = 3/√2.
// Official (all queries): GPA_1 = (1 + 2 + 4)/√2 = 7/√2, GPA_2 = (1 + 3 + 5)/√2 = 9/√2.
const Q = new Float32Array([1, 0, 0, 1, 2, 1]);
const K = new Float32Array([100, -50, 1, 2, 1, 3]);

Deno.test("gpaReference: paper variant on the hand-computed T = 3, dh = 2 example", () => {
  assertClose(gpaReference(Q, K, 3, 2, "paper"), [4 / Math.SQRT2, 3 / Math.SQRT2]);
});

Deno.test("gpaReference: official variant on the hand-computed example", () => {
  assertClose(gpaReference(Q, K, 3, 2, "official"), [7 / Math.SQRT2, 9 / Math.SQRT2]);
});

Deno.test("gpaReference: the CLS key never matters; the CLS query only in the official variant", () => {
  const k2 = K.slice();
  k2[0] = -7;
  k2[1] = 42;
  assert.deepEqual(gpaReference(Q, k2, 3, 2, "paper"), gpaReference(Q, K, 3, 2, "paper"));
  assert.deepEqual(gpaReference(Q, k2, 3, 2, "official"), gpaReference(Q, K, 3, 2, "official"));
  const q2 = Q.slice();
  q2[0] = 10; // CLS query
  assert.deepEqual(gpaReference(q2, K, 3, 2, "paper"), gpaReference(Q, K, 3, 2, "paper"));
  assertClose(gpaReference(q2, K, 3, 2, "official"), [(10 + 2 + 4) / Math.SQRT2, (10 + 3 + 5) / Math.SQRT2]);
});

Deno.test("gpaReference: official − paper = CLS-query score + diagonal score (random T = 6, dh = 4)", () => {
  const rng = new Rng(3);
  const T = 6;
  const dh = 4;
  const q = Float32Array.from({ length: T * dh }, () => rng.normal());
  const k = Float32Array.from({ length: T * dh }, () => rng.normal());
  const dot = (i: number, m: number) => {
    let s = 0;
    for (let d = 0; d < dh; d++) s += q[i * dh + d] * k[m * dh + d];
    return s / Math.sqrt(dh);
  };
  const paper = gpaReference(q, k, T, dh, "paper");
  const official = gpaReference(q, k, T, dh, "official");
  for (let m = 1; m < T; m++) {
    assert.ok(Math.abs(official[m - 1] - paper[m - 1] - dot(0, m) - dot(m, m)) < 1e-5);
  }
});

Deno.test("gpaReference: shape validation", () => {
  assert.throws(() => gpaReference(Q, K, 3, 3, "paper"), RangeError);
  assert.throws(() => gpaReference(Q, K.subarray(0, 4), 3, 2, "paper"), RangeError);
  assert.throws(() => gpaReference(Q, K, 3, 2, "bogus" as "paper"), RangeError);
});

Deno.test("minMaxScale: per image to [0, 1]; a constant image becomes 0.5", () => {
  const out = minMaxScale(new Float32Array([2, 4, 6, 10, 5, 5, 5, 5, -1, 3, 1, -1]), 3, 4);
  assertClose(out, [0, 0.25, 0.5, 1, 0.5, 0.5, 0.5, 0.5, 0, 1, 0.5, 0]);
  assert.throws(() => minMaxScale(new Float32Array([1, NaN]), 1, 2), RangeError);
  assert.throws(() => minMaxScale(new Float32Array(3), 1, 2), RangeError);
});

Deno.test("zNormalize: unbiased variance (torch default) and eps, per image", () => {
  // Row [1, 2, 3]: mean 2, unbiased variance (1 + 0 + 1)/2 = 1, biased 2/3.
  // Row [4, 4, 10]: mean 6, unbiased variance (4 + 4 + 16)/2 = 12.
  const map = new Float32Array([1, 2, 3, 4, 4, 10]);
  const s1 = Math.sqrt(1 + 1e-6);
  const s2 = Math.sqrt(12 + 1e-6);
  assertClose(zNormalize(map, 2, 3), [-1 / s1, 0, 1 / s1, -2 / s2, -2 / s2, 4 / s2]);
  const b = Math.sqrt(2 / 3 + 1e-6);
  assertClose(zNormalize(map, 2, 3, 1e-6, false).subarray(0, 3), [-1 / b, 0, 1 / b]);
  // A constant row maps to 0 (eps keeps it finite).
  assertClose(zNormalize(new Float32Array([7, 7, 7]), 1, 3), [0, 0, 0]);
  assert.throws(() => zNormalize(new Float32Array([7, 7]), 1, 2, 0), RangeError);
});
