/**
 * Pure per-row selection helpers on `[B, L]` score arrays, shared by the score-driven mask strategies
 * (CLS attention, HPM, GPA): top-k, weighted sampling without replacement, random filling.
 *
 * Rows are samples, columns patches; everything is row-major. An optional `exclude` mask (`[B, L]`,
 * 1 = not selectable) removes patches from consideration (e.g. ones already chosen by another share).
 * @module
 */
import type { Rng } from "../rng.ts";

function checkShape(name: string, array: { length: number }, B: number, L: number): void {
  if (!Number.isInteger(B) || B < 0 || !Number.isInteger(L) || L < 0) {
    throw new RangeError(`B and L must be non-negative integers, got ${B}, ${L}`);
  }
  if (array.length !== B * L) {
    throw new RangeError(`${name} has length ${array.length}, expected B·L = ${B * L}`);
  }
}

function checkCount(k: number, L: number): void {
  if (!Number.isInteger(k) || k < 0 || k > L) {
    throw new RangeError(`k must be an integer in [0, ${L}], got ${k}`);
  }
}

/** Checks a selection of `k` of `L` patches per row over `[B, L]` values and an optional exclusion mask. */
function checkSelection(
  name: string,
  values: { length: number },
  B: number,
  L: number,
  k: number,
  exclude?: Uint8Array,
): void {
  checkShape(name, values, B, L);
  checkCount(k, L);
  if (exclude) checkShape("exclude", exclude, B, L);
}

function selectable(exclude: Uint8Array | undefined, row: number, L: number, k: number): number[] {
  const free: number[] = [];
  for (let j = 0; j < L; j++) if (!exclude || exclude[row * L + j] === 0) free.push(j);
  if (free.length < k) {
    throw new RangeError(`row ${row}: asked for ${k} patches but only ${free.length} are not excluded`);
  }
  return free;
}

/**
 * Indices of the `k` largest scores of every row, `[B, k]` row-major, largest first.
 * Ties go to the lower index (deterministic). Excluded patches are never chosen.
 * Throws a RangeError on NaN scores or when a row has fewer than `k` selectable patches.
 */
export function topKPerRow(
  scores: Float32Array,
  B: number,
  L: number,
  k: number,
  exclude?: Uint8Array,
): Int32Array {
  checkSelection("scores", scores, B, L, k, exclude);
  const out = new Int32Array(B * k);
  for (let b = 0; b < B; b++) {
    const free = selectable(exclude, b, L, k);
    const row = scores.subarray(b * L, (b + 1) * L);
    for (const j of free) if (Number.isNaN(row[j])) throw new RangeError(`score [${b}, ${j}] is NaN`);
    free.sort((i, j) => row[j] - row[i] || i - j);
    for (let i = 0; i < k; i++) out[b * k + i] = free[i];
  }
  return out;
}

/** Uniform float strictly inside (0, 1), so that logarithms stay finite. */
function openUniform(rng: Rng): number {
  return rng.next() + 2 ** -33;
}

/**
 * Draws `k` distinct patches per row with probability proportional to `weights` (successive sampling
 * without replacement: each draw picks among the patches not yet drawn with probability w / Σ remaining w),
 * returned `[B, k]` row-major in draw order.
 *
 * Exact via Gumbel-top-k: the k largest `log w + Gumbel` keys are a draw of that process. Patches with
 * weight 0 are never drawn while positive-weight patches remain; when a row has fewer than `k` positive
 * selectable patches, the rest is drawn uniformly among its zero-weight ones (after all positive ones).
 * Negative, NaN or infinite weights throw a RangeError; so does a row with fewer than `k` selectable patches.
 */
export function sampleWithoutReplacementPerRow(
  weights: Float32Array,
  B: number,
  L: number,
  k: number,
  rng: Rng,
  exclude?: Uint8Array,
): Int32Array {
  checkSelection("weights", weights, B, L, k, exclude);
  const out = new Int32Array(B * k);
  const keys = new Float64Array(L);
  const positive = new Uint8Array(L);
  for (let b = 0; b < B; b++) {
    const free = selectable(exclude, b, L, k);
    for (const j of free) {
      const w = weights[b * L + j];
      if (!(w >= 0) || !Number.isFinite(w)) {
        throw new RangeError(`weight [${b}, ${j}] must be finite and ≥ 0, got ${w}`);
      }
      const gumbel = -Math.log(-Math.log(openUniform(rng)));
      positive[j] = w > 0 ? 1 : 0;
      // Zero weights get a plain Gumbel key but rank below every positive weight (see the sort).
      keys[j] = w > 0 ? Math.log(w) + gumbel : gumbel;
    }
    free.sort((i, j) => positive[j] - positive[i] || keys[j] - keys[i] || i - j);
    for (let i = 0; i < k; i++) out[b * k + i] = free[i];
  }
  return out;
}

/**
 * Tops every row of `mask` (`[B, L]`, 1 = masked) up to exactly `targetCount` masked patches by masking
 * unmasked patches chosen uniformly at random. Modifies `mask` in place; returns how many were added per
 * row. Throws a RangeError if a row already has more than `targetCount`.
 */
export function randomFillPerRow(
  mask: Uint8Array,
  B: number,
  L: number,
  targetCount: number,
  rng: Rng,
): Int32Array {
  checkShape("mask", mask, B, L);
  checkCount(targetCount, L);
  const added = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const free: number[] = [];
    for (let j = 0; j < L; j++) if (mask[b * L + j] === 0) free.push(j);
    const have = L - free.length;
    if (have > targetCount) {
      throw new RangeError(`row ${b} has ${have} masked patches, more than ${targetCount}`);
    }
    const need = targetCount - have;
    // Partial Fisher–Yates: the first `need` entries become a uniform random subset.
    for (let i = 0; i < need; i++) {
      const r = i + rng.int(free.length - i);
      const pick = free[r];
      free[r] = free[i];
      free[i] = pick;
      mask[b * L + pick] = 1;
    }
    added[b] = need;
  }
  return added;
}

/** A `[B, L]` mask with 1 at each row's `k` indices from a `[B, k]` index array. */
export function maskFromIndices(indices: Int32Array, B: number, L: number, k: number): Uint8Array {
  if (indices.length !== B * k) {
    throw new RangeError(`indices has length ${indices.length}, expected ${B * k}`);
  }
  const mask = new Uint8Array(B * L);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < k; i++) {
      const j = indices[b * k + i];
      if (!(j >= 0 && j < L)) throw new RangeError(`index ${j} out of [0, ${L})`);
      mask[b * L + j] = 1;
    }
  }
  return mask;
}

/** Number of ones in each row of a `[B, L]` mask. */
export function rowCounts(mask: Uint8Array, B: number, L: number): Int32Array {
  checkShape("mask", mask, B, L);
  const counts = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let c = 0;
    for (let j = 0; j < L; j++) c += mask[b * L + j];
    counts[b] = c;
  }
  return counts;
}
