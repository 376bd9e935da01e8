/**
 * The mask side of HPM (Wang et al., "Hard Patches Mining for Masked Image Modeling", CVPR 2023), as in its
 * paper and public code, plus reference implementations of its loss-prediction losses on plain arrays.
 *
 * Mask: an EMA teacher (elsewhere; injected as `lossPredictionProvider`) predicts every patch's
 * reconstruction loss on the full image. Of the `maskedCount(L, maskRatio)` masked patches, the
 * `floor(numMasked · hardShare(t))` with the highest predicted loss are masked ("hard" patches) and the rest
 * are drawn uniformly at random from the other patches. HPM's easy-to-hard schedule is
 * `hardShare = 0.5 · (epoch + 1) / epochs`, i.e. linear from 0 to 0.5; here
 * `hardShare(t) = start + t · (end − start)` with t = `ctx.progress` (defaults 0 → 0.5; feed
 * t = (epoch + 1)/epochs to match the official code exactly).
 * @module
 */
import { maskFromIndices, randomFillPerRow, topKPerRow } from "./select.ts";
import { type MaskBatch, type MaskContext, maskedCount, type MaskStrategy } from "./types.ts";

/** Returns `[B, L]` predicted per-patch reconstruction losses (row-major) for the batch in `ctx`. */
export type LossPredictionProvider = (ctx: MaskContext) => Promise<Float32Array>;

/** Options of `HpmMasking`. */
export interface HpmMaskingOptions {
  /** The teacher's predicted per-patch losses for a batch. */
  lossPredictionProvider: LossPredictionProvider;
  /** Fraction of patches masked per sample. Default 0.75. */
  maskRatio?: number;
  /** Share of the masked patches taken by top predicted loss at progress 0. Default 0. */
  hardShareStart?: number;
  /** Share at progress 1. Default 0.5. */
  hardShareEnd?: number;
}

/** HPM's mask generation: top-predicted-loss share (easy-to-hard schedule) + random rest. */
export class HpmMasking implements MaskStrategy {
  readonly name = "hpm";
  readonly maskRatio: number;
  readonly hardShareStart: number;
  readonly hardShareEnd: number;
  /** The provider runs the EMA teacher on the batch's images. */
  readonly needsImages = true;
  readonly #provider: LossPredictionProvider;

  constructor(options: HpmMaskingOptions) {
    if (typeof options.lossPredictionProvider !== "function") {
      throw new TypeError("hpm masking needs a lossPredictionProvider function");
    }
    this.#provider = options.lossPredictionProvider;
    this.maskRatio = options.maskRatio ?? 0.75;
    maskedCount(4, this.maskRatio); // validates the ratio
    this.hardShareStart = options.hardShareStart ?? 0;
    this.hardShareEnd = options.hardShareEnd ?? 0.5;
    for (const v of [this.hardShareStart, this.hardShareEnd]) {
      if (!(v >= 0 && v <= 1)) throw new RangeError(`hard shares must be in [0, 1], got ${v}`);
    }
  }

  /** Share of the masked patches chosen by top predicted loss at progress `t` (clamped to [0, 1]). */
  hardShare(progress: number): number {
    const t = Math.min(1, Math.max(0, progress));
    return this.hardShareStart + t * (this.hardShareEnd - this.hardShareStart);
  }

  /** Number of masked patches chosen by top predicted loss, out of `numMasked`, at progress `t`. */
  hardCount(numMasked: number, progress: number): number {
    return Math.floor(numMasked * this.hardShare(progress) + 1e-9);
  }

  /**
   * Builds the masks; `scores` holds the predicted losses. The provider is not called when the hard share
   * rounds to 0 patches (then there are no `scores`).
   */
  async generate(ctx: MaskContext): Promise<MaskBatch> {
    const B = ctx.batchSize;
    const L = ctx.grid.rows * ctx.grid.cols;
    const numMasked = maskedCount(L, this.maskRatio);
    const hard = this.hardCount(numMasked, ctx.progress);
    let mask: Uint8Array;
    let predicted: Float32Array | undefined;
    if (hard > 0) {
      predicted = await this.#provider(ctx); // [B, L]
      if (predicted.length !== B * L) {
        throw new RangeError(
          `loss prediction provider returned ${predicted.length} values, expected ${B * L}`,
        );
      }
      mask = maskFromIndices(topKPerRow(predicted, B, L, hard), B, L, hard);
    } else {
      mask = new Uint8Array(B * L); // HPM skips the predictor's ranking when no share is hard
    }
    randomFillPerRow(mask, B, L, numMasked, ctx.rng);
    return {
      mask,
      batchSize: B,
      numPatches: L,
      numMasked,
      info: { hardCount: hard, randomCount: numMasked - hard },
      ...(predicted ? { scores: predicted } : {}),
    };
  }

  describe(): Record<string, unknown> {
    return {
      name: this.name,
      maskRatio: this.maskRatio,
      hardShareStart: this.hardShareStart,
      hardShareEnd: this.hardShareEnd,
    };
  }
}

/**
 * A loss predictor's objective on plain arrays: predicted and true per-patch losses, both `[rows, cols]`
 * row-major (images × patches), to one number.
 */
export type PatchLossObjective = (
  predicted: Float32Array,
  target: Float32Array,
  rows: number,
  cols: number,
) => number;

function checkPair(predicted: Float32Array, target: Float32Array, rows: number, cols: number): void {
  if (predicted.length !== rows * cols || target.length !== rows * cols) {
    throw new RangeError(
      `predicted (${predicted.length}) and target (${target.length}) must both have rows·cols = ${
        rows * cols
      }`,
    );
  }
}

/**
 * HPM's relative (ranking) loss for the loss predictor, on plain arrays.
 *
 * `predicted` and `target` are `[B, N]` row-major: per image, the predicted and the true (detached)
 * reconstruction losses of its N patches (HPM uses the masked patches of each image). With ε = 1e-6,
 * σ the logistic function and d_ij = p_j − p_i, every ordered pair (i, j) of patches of the same image
 * whose true losses differ is a binary classification "is t_j > t_i?":
 *
 *   loss = Σ_b Σ_{i,j} ( [t_j > t_i] · −log(σ(d_ij) + ε) + [t_j < t_i] · −log(1 − σ(d_ij) + ε) )
 *          / Σ_b Σ_{i,j} [t_i ≠ t_j]
 *
 * Both orders of a pair are counted (each contributes −log σ(p_hi − p_lo), up to ε), ties are skipped,
 * and the sum is normalised by the number of valid ordered pairs in the whole batch. Returns 0 when no
 * pair is valid (the official code would divide 0 by 0).
 */
export const hpmRelativeLoss: PatchLossObjective = (predicted, target, rows, cols) => {
  checkPair(predicted, target, rows, cols);
  const eps = 1e-6;
  let sum = 0;
  let valid = 0;
  for (let b = 0; b < rows; b++) {
    const o = b * cols;
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < cols; j++) {
        const ti = target[o + i];
        const tj = target[o + j];
        if (ti === tj) continue;
        const s = 1 / (1 + Math.exp(-(predicted[o + j] - predicted[o + i])));
        sum += tj > ti ? -Math.log(s + eps) : -Math.log(1 - s + eps);
        valid++;
      }
    }
  }
  return valid === 0 ? 0 : sum / valid;
};

/**
 * HPM's absolute loss-prediction objective (its non-`relative` option), on plain arrays: per image the
 * true losses are standardised, t̂ = (t − mean) / √(var + 1e-6) with the unbiased variance (N − 1, as
 * torch's `var`), and the result is the mean of (p − t̂)² over all B·N entries.
 */
export const hpmAbsoluteLoss: PatchLossObjective = (predicted, target, rows, cols) => {
  checkPair(predicted, target, rows, cols);
  if (cols < 2) throw new RangeError("the unbiased variance needs at least 2 patches per image");
  let sum = 0;
  for (let b = 0; b < rows; b++) {
    const o = b * cols;
    let mean = 0;
    for (let i = 0; i < cols; i++) mean += target[o + i];
    mean /= cols;
    let variance = 0;
    for (let i = 0; i < cols; i++) variance += (target[o + i] - mean) ** 2;
    variance /= cols - 1;
    const scale = Math.sqrt(variance + 1e-6);
    for (let i = 0; i < cols; i++) sum += (predicted[o + i] - (target[o + i] - mean) / scale) ** 2;
  }
  return sum / (rows * cols);
};
