/**
 * Global Patch-wise Attention (GPA) on plain arrays: a pure reference for the tensor version, plus the
 * per-image normalisations the method uses.
 *
 * For one head of one attention layer with queries q and keys k (`[T, dh]`, token 0 = CLS, tokens 1…L the
 * patches, L = T − 1), the pre-softmax score of query i on key j is q_i·k_j / √dh (paper Eq. 4). The GPA of
 * patch m is the total score its key receives:
 * - "paper" (Eq. 5): Σ over patch queries i ≠ m, i.e. without the CLS query and without the diagonal;
 * - "official" (authors' code): Σ over all T queries, CLS query and i = m included.
 * In both the CLS key is dropped. (Eq. 4 writes Att^{ij} = Q^i K^j as the attention the i-th patch
 * receives; read with the code, "received" is the key side, i.e. the column sums used here.)
 * The correlations the GPA measures use (Pearson, Spearman) live here too, sharing one implementation.
 * @module
 */

/** GPA variant: "paper" (Eq. 5: patch queries, diagonal excluded) or "official" (all queries). */
export type GpaVariant = "paper" | "official";

/**
 * GPA of the L = T − 1 patches of one head, `[L]`, as raw (unscaled) sums of pre-softmax scores.
 * `q` and `k` are `[T, dh]` row-major with token 0 the CLS token. Sums are accumulated in float64.
 */
export function gpaReference(
  q: Float32Array,
  k: Float32Array,
  T: number,
  dh: number,
  variant: GpaVariant = "paper",
): Float32Array {
  if (!Number.isInteger(T) || T < 2 || !Number.isInteger(dh) || dh < 1) {
    throw new RangeError(`need T ≥ 2 tokens and dh ≥ 1, got T = ${T}, dh = ${dh}`);
  }
  if (q.length !== T * dh || k.length !== T * dh) {
    throw new RangeError(`q (${q.length}) and k (${k.length}) must both have T·dh = ${T * dh} values`);
  }
  if (variant !== "paper" && variant !== "official") {
    throw new RangeError(`variant must be "paper" or "official", got ${String(variant)}`);
  }
  const scale = 1 / Math.sqrt(dh);
  const firstQuery = variant === "paper" ? 1 : 0;
  const out = new Float32Array(T - 1);
  for (let m = 1; m < T; m++) {
    let sum = 0;
    for (let i = firstQuery; i < T; i++) {
      if (variant === "paper" && i === m) continue;
      let dot = 0;
      for (let d = 0; d < dh; d++) dot += q[i * dh + d] * k[m * dh + d];
      sum += dot * scale;
    }
    out[m - 1] = sum;
  }
  return out;
}

function checkMap(map: Float32Array, B: number, L: number): void {
  if (!Number.isInteger(B) || B < 0 || !Number.isInteger(L) || L < 1) {
    throw new RangeError(`B must be ≥ 0 and L ≥ 1 integers, got ${B}, ${L}`);
  }
  if (map.length !== B * L) throw new RangeError(`map has length ${map.length}, expected B·L = ${B * L}`);
}

/**
 * Per-image min–max scaling of a `[B, L]` map to [0, 1] (a new array): (x − min) / (max − min).
 * A constant row (max = min) becomes all 0.5 — neutral weights, where the authors' code would divide
 * 0 by 0. NaN or infinite values throw a RangeError.
 */
export function minMaxScale(map: Float32Array, B: number, L: number): Float32Array {
  checkMap(map, B, L);
  const out = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = b * L; j < (b + 1) * L; j++) {
      const v = map[j];
      if (!Number.isFinite(v)) throw new RangeError(`map [${b}, ${j - b * L}] is not finite: ${v}`);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const range = hi - lo;
    for (let j = b * L; j < (b + 1) * L; j++) {
      // Clamp: float32 rounding of (x − lo) / range can land a hair outside [0, 1].
      out[j] = range > 0 ? Math.min(1, Math.max(0, (map[j] - lo) / range)) : 0.5;
    }
  }
  return out;
}

/**
 * Per-image z-normalisation of a `[B, L]` map (a new array), the target of GPA's attention decoder (MAM):
 * (x − mean) / √(var + eps), with the unbiased variance (divisor L − 1, `torch.var`'s default as in the
 * authors' code) unless `unbiased` is false (divisor L). With L = 1 the unbiased variance is taken as 0.
 */
export function zNormalize(
  map: Float32Array,
  B: number,
  L: number,
  eps = 1e-6,
  unbiased = true,
): Float32Array {
  checkMap(map, B, L);
  if (!(eps >= 0)) throw new RangeError(`eps must be ≥ 0, got ${eps}`);
  const out = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    let sum = 0;
    for (let j = b * L; j < (b + 1) * L; j++) sum += map[j];
    const mean = sum / L;
    let sq = 0;
    for (let j = b * L; j < (b + 1) * L; j++) sq += (map[j] - mean) ** 2;
    const divisor = unbiased ? L - 1 : L;
    const variance = divisor > 0 ? sq / divisor : 0;
    const denom = Math.sqrt(variance + eps);
    if (!(denom > 0)) throw new RangeError(`row ${b} has zero variance and eps = 0`);
    for (let j = b * L; j < (b + 1) * L; j++) out[j] = (map[j] - mean) / denom;
  }
  return out;
}

/** The mean `[L]` of a `[N, L]` map stack (float64 sums), min–max scaled to [0, 1]. */
export function meanMapOf(maps: Float32Array, N: number, L: number): Float32Array {
  checkMap(maps, N, L);
  if (N < 1) throw new RangeError("the mean map needs at least one map");
  const sum = new Float64Array(L);
  for (let n = 0; n < N; n++) for (let j = 0; j < L; j++) sum[j] += maps[n * L + j];
  return minMaxScale(Float32Array.from(sum, (v) => v / N), 1, L);
}

/** The indices of the `k` largest values of `x` (ties: lower index first). */
export function topKSet(x: ArrayLike<number>, k: number): Set<number> {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((i, j) => x[j] - x[i] || i - j);
  return new Set(idx.slice(0, k));
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i], mb += b[i]);
  ma /= n, mb /= n;
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/**
 * Spearman rank correlation (average ranks for ties): the Pearson correlation of the ranks. The ranks' mean
 * that `pearson` sums is exactly (n − 1) / 2, so this equals the closed form bit for bit.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/** Ranks 0…n − 1 of `x` in ascending order; tied values share their average rank. */
function ranks(x: ArrayLike<number>): Float64Array {
  const idx = Array.from({ length: x.length }, (_, i) => i).sort((i, j) => x[i] - x[j]);
  const r = new Float64Array(x.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && x[idx[j + 1]] === x[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2;
    i = j + 1;
  }
  return r;
}

/**
 * How much of a teacher's maps is position rather than content: for each image, the Pearson correlation of
 * its map with `mean` (the mean map over many images) and the share of its top-`k` patches that are also in
 * the mean map's top-`k` — averaged over the `N` maps. `chance` is the overlap of a random top-k set (k / L).
 * A map that is pure position has correlation 1 and overlap 1; one independent of position, ≈ 0 and chance.
 */
export function positionVsContent(
  maps: Float32Array,
  N: number,
  L: number,
  mean: Float32Array,
  k: number,
): { correlation: number; topKOverlap: number; chance: number } {
  checkMap(maps, N, L);
  if (mean.length !== L) throw new RangeError(`mean map has ${mean.length} values, expected ${L}`);
  if (!(Number.isInteger(k) && k >= 1 && k <= L)) throw new RangeError(`k must be in 1..${L}, got ${k}`);
  const meanTop = topKSet(mean, k);
  let corr = 0, overlap = 0;
  for (let n = 0; n < N; n++) {
    const m = maps.subarray(n * L, (n + 1) * L);
    corr += pearson(m, mean);
    let hit = 0;
    for (const i of topKSet(m, k)) if (meanTop.has(i)) hit++;
    overlap += hit / k;
  }
  return { correlation: corr / N, topKOverlap: overlap / N, chance: k / L };
}
