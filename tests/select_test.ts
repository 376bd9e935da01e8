import assert from "node:assert/strict";
import { Rng } from "../lib/rng.ts";
import {
  maskFromIndices,
  randomFillPerRow,
  rowCounts,
  sampleWithoutReplacementPerRow,
  topKPerRow,
} from "../lib/masking/select.ts";

Deno.test("select: topKPerRow picks the largest per row, ties to the lower index, honours exclude", () => {
  const scores = new Float32Array([
    0.1,
    0.9,
    0.5,
    0.9, // row 0: tie at 0.9 between 1 and 3
    3,
    2,
    1,
    0, // row 1
  ]);
  assert.deepEqual(Array.from(topKPerRow(scores, 2, 4, 3)), [1, 3, 2, 0, 1, 2]);
  const exclude = new Uint8Array([0, 1, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(topKPerRow(scores, 2, 4, 2, exclude)), [3, 2, 1, 2]);
  assert.deepEqual(Array.from(topKPerRow(scores, 2, 4, 0)), []);
  assert.throws(() => topKPerRow(scores, 2, 4, 4, exclude), RangeError); // only 3 selectable
  assert.throws(() => topKPerRow(scores, 2, 3, 1), RangeError); // wrong length
  assert.throws(() => topKPerRow(new Float32Array([NaN, 1]), 1, 2, 1), RangeError);
});

Deno.test("select: weighted sampling never repeats and respects exclude and zero weights", () => {
  const rng = new Rng(7);
  const B = 200;
  const L = 6;
  const weights = new Float32Array(B * L);
  const exclude = new Uint8Array(B * L);
  for (let b = 0; b < B; b++) {
    weights.set([0, 1, 2, 0, 5, 1], b * L);
    exclude[b * L + 4] = 1;
  }
  const k = 4; // positive selectable: 1, 2, 5 → one zero-weight patch (0 or 3) must be added
  const picks = sampleWithoutReplacementPerRow(weights, B, L, k, rng, exclude);
  let zeroPicks0 = 0;
  for (let b = 0; b < B; b++) {
    const row = Array.from(picks.subarray(b * k, (b + 1) * k));
    assert.equal(new Set(row).size, k);
    assert.ok(!row.includes(4));
    assert.deepEqual(new Set(row.slice(0, 3)), new Set([1, 2, 5])); // positives come first
    assert.ok(row[3] === 0 || row[3] === 3);
    if (row[3] === 0) zeroPicks0++;
  }
  // The zero-weight filler is uniform between 0 and 3: 200 draws, p = 0.5, sd ≈ 7.1.
  assert.ok(Math.abs(zeroPicks0 - 100) < 30, `zero filler picks ${zeroPicks0}`);
  assert.throws(() => sampleWithoutReplacementPerRow(new Float32Array([-1, 1]), 1, 2, 1, rng), RangeError);
  assert.throws(
    () => sampleWithoutReplacementPerRow(new Float32Array([Infinity, 1]), 1, 2, 1, rng),
    RangeError,
  );
});

Deno.test("select: weighted sampling matches successive-sampling probabilities", () => {
  const w = [1, 2, 3, 4];
  const W = 10;
  const B = 20000;
  const weights = new Float32Array(B * 4);
  for (let b = 0; b < B; b++) weights.set(w, b * 4);
  const picks = sampleWithoutReplacementPerRow(weights, B, 4, 2, new Rng(123));
  const first = [0, 0, 0, 0];
  const included = [0, 0, 0, 0];
  for (let b = 0; b < B; b++) {
    first[picks[2 * b]]++;
    included[picks[2 * b]]++;
    included[picks[2 * b + 1]]++;
  }
  for (let j = 0; j < 4; j++) {
    // First draw ∝ w; inclusion in the pair: P = w_j/W + Σ_{i≠j} (w_i/W)·w_j/(W − w_i), by hand.
    const pFirst = w[j] / W;
    let pIncl = pFirst;
    for (let i = 0; i < 4; i++) if (i !== j) pIncl += (w[i] / W) * (w[j] / (W - w[i]));
    const sdFirst = Math.sqrt(B * pFirst * (1 - pFirst));
    const sdIncl = Math.sqrt(B * pIncl * (1 - pIncl));
    assert.ok(Math.abs(first[j] - B * pFirst) < 4.5 * sdFirst, `first ${j}: ${first[j]} vs ${B * pFirst}`);
    assert.ok(Math.abs(included[j] - B * pIncl) < 4.5 * sdIncl, `incl ${j}: ${included[j]} vs ${B * pIncl}`);
  }
  // Independent check of the hand formula: the inclusion probabilities of a 2-draw sample sum to 2.
  let total = 0;
  for (let j = 0; j < 4; j++) {
    total += w[j] / W;
    for (let i = 0; i < 4; i++) if (i !== j) total += (w[i] / W) * (w[j] / (W - w[i]));
  }
  assert.ok(Math.abs(total - 2) < 1e-12);
});

Deno.test("select: randomFillPerRow tops up to the exact count and only adds", () => {
  const rng = new Rng(3);
  const B = 50;
  const L = 16;
  const mask = new Uint8Array(B * L);
  for (let b = 0; b < B; b++) mask[b * L + (b % L)] = 1;
  const before = mask.slice();
  const added = randomFillPerRow(mask, B, L, 10, rng);
  assert.deepEqual(Array.from(rowCounts(mask, B, L)), new Array(B).fill(10));
  assert.deepEqual(Array.from(added), new Array(B).fill(9));
  for (let i = 0; i < B * L; i++) if (before[i] === 1) assert.equal(mask[i], 1);
  // Rows differ (independent draws).
  const rows = new Set(Array.from({ length: B }, (_, b) => mask.subarray(b * L, (b + 1) * L).join("")));
  assert.ok(rows.size > B / 2);
  assert.throws(() => randomFillPerRow(mask, B, L, 5, rng), RangeError);
});

Deno.test("select: maskFromIndices", () => {
  assert.deepEqual(Array.from(maskFromIndices(new Int32Array([2, 0, 1, 1]), 2, 3, 2)), [1, 0, 1, 0, 1, 0]);
  assert.throws(() => maskFromIndices(new Int32Array([3]), 1, 3, 1), RangeError);
});
