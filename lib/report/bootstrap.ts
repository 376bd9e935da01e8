/**
 * A second interval for a paired difference of accuracies: a bootstrap over seeds and validation images
 * (seed × image). The paired t interval over seeds treats the validation set as fixed; resampling the images
 * as well adds the uncertainty of having one finite validation set. Each run records which validation images
 * it classified correctly (`packCorrect`: one bit per image, base64), so the interval needs no run cache.
 * @module
 */
import { Rng } from "../rng.ts";
export { packCorrect, unpackCorrect } from "../eval/correct.ts";

/** Options of {@linkcode seedImageBootstrap}. */
export interface BootstrapOptions {
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Seed of the resampling (default 0: the same interval every time). */
  seed?: number;
}

/**
 * Percentile interval of mean_s (acc_a,s − acc_b,s), in points, resampling the paired seeds and, within each
 * resample, the images (the same images for every seed and both rows). `a[s]` and `b[s]` are the per-image
 * correctness of the two rows' runs with the same seed. Null with fewer than two pairs.
 */
export function seedImageBootstrap(
  a: readonly Uint8Array[],
  b: readonly Uint8Array[],
  o: BootstrapOptions = {},
): { ci: [number, number]; estimate: number; pairs: number; images: number; resamples: number } | null {
  const k = Math.min(a.length, b.length);
  if (k < 2) return null;
  const n = a[0].length;
  if ([...a, ...b].some((c) => c.length !== n)) throw new RangeError("every run must score the same images");
  const d = Array.from({ length: k }, (_, s) => Int8Array.from(a[s], (x, i) => x - b[s][i]));
  const B = o.resamples ?? 2000;
  const level = o.level ?? 0.95;
  const rng = new Rng(o.seed ?? 0).fork("seed-image-bootstrap");
  const counts = new Uint32Array(n);
  const stats = new Float64Array(B);
  for (let r = 0; r < B; r++) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[rng.int(n)]++;
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const ds = d[rng.int(k)];
      let dot = 0;
      for (let i = 0; i < n; i++) if (ds[i] !== 0) dot += ds[i] * counts[i];
      sum += dot / n;
    }
    stats[r] = (100 * sum) / k;
  }
  stats.sort();
  const at = (q: number) => stats[Math.min(B - 1, Math.max(0, Math.floor(q * B)))];
  const estimate = (100 * d.reduce((s, ds) => s + ds.reduce((t, x) => t + x, 0) / n, 0)) / k;
  return { ci: [at((1 - level) / 2), at(1 - (1 - level) / 2)], estimate, pairs: k, images: n, resamples: B };
}
