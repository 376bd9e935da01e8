/**
 * UM-MAE's uniform masking (Li et al., "Uniform Masking: Enabling MAE Pre-training for Pyramid-based
 * Vision Transformers with Locality", 2022).
 *
 * Uniform sampling: the grid is tiled by 2×2 windows and exactly one patch per window, chosen uniformly
 * and independently per window, is kept; the other three are masked (ratio fixed at 0.75). UM-MAE draws
 * the kept positions from a shuffled pool holding each of the 4 positions equally often, which is close to
 * this independent draw; the per-window guarantee is the same.
 *
 * Secondary masking: UM-MAE then replaces a random `secondaryMaskRatio` share (0.25 in its recipes) of the
 * kept patches by a shared learnable token in the encoder input: those patches stay in the encoder sequence
 * (so the compact 2-D layout survives) but their content is hidden; the reconstruction loss stays on the
 * 75 % dropped patches. This strategy returns that choice as `secondaryMask` (1 = kept but to be replaced
 * by the secondary mask token; exactly K − floor(K·(1 − ratio)) of the K kept patches, as UM-MAE's
 * `len_keep = int(L·(1 − vis_mask_ratio))`). The MAE model applies it when it has the token
 * (`MaeConfig.visMaskToken`, lib/mae.ts) and refuses a secondary mask otherwise. Set
 * `secondaryMaskRatio: 0` to turn it off (plain uniform sampling).
 * @module
 */
import { type MaskBatch, type MaskContext, maskedCount, type MaskStrategy } from "./types.ts";

/** Options of `UniformMasking`. */
export interface UniformMaskingOptions {
  /** Share of the kept patches marked for the secondary mask token, in [0, 1). Default 0.25. */
  secondaryMaskRatio?: number;
}

/** Masks of one batch plus UM-MAE's secondary mask. */
export interface UniformMaskBatch extends MaskBatch {
  /** `[B, L]`; 1 = kept in the encoder but its content replaced by the secondary mask token (all zero when off). */
  secondaryMask: Uint8Array;
  /** Secondary-masked patches per sample. */
  numSecondary: number;
}

/** UM-MAE uniform sampling (one kept patch per 2×2 window) with optional secondary masking. */
export class UniformMasking implements MaskStrategy {
  readonly name = "uniform";
  readonly maskRatio = 0.75;
  readonly secondaryMaskRatio: number;

  constructor(options: UniformMaskingOptions = {}) {
    this.secondaryMaskRatio = options.secondaryMaskRatio ?? 0.25;
    if (!(this.secondaryMaskRatio >= 0 && this.secondaryMaskRatio < 1)) {
      throw new RangeError(`secondaryMaskRatio must be in [0, 1), got ${this.secondaryMaskRatio}`);
    }
  }

  generate(ctx: MaskContext): UniformMaskBatch {
    const { rows, cols } = ctx.grid;
    if (rows % 2 !== 0 || cols % 2 !== 0 || rows < 2 || cols < 2) {
      throw new RangeError(`uniform masking needs an even patch grid (2×2 windows), got ${rows}×${cols}`);
    }
    const L = rows * cols;
    const numMasked = maskedCount(L, this.maskRatio); // = 3L/4 since L is a multiple of 4
    const kept = L - numMasked;
    const numSecondary = kept - Math.floor(kept * (1 - this.secondaryMaskRatio) + 1e-9);
    const mask = new Uint8Array(ctx.batchSize * L).fill(1);
    const secondaryMask = new Uint8Array(ctx.batchSize * L);
    const keptIndices = new Int32Array(kept);
    for (let b = 0; b < ctx.batchSize; b++) {
      let n = 0;
      for (let wi = 0; wi < rows; wi += 2) {
        for (let wj = 0; wj < cols; wj += 2) {
          const pos = ctx.rng.int(4); // 0: top-left, 1: top-right, 2: bottom-left, 3: bottom-right
          const p = (wi + (pos >> 1)) * cols + wj + (pos & 1);
          mask[b * L + p] = 0;
          keptIndices[n++] = p;
        }
      }
      if (numSecondary > 0) {
        // Partial Fisher–Yates over the kept patches: the first `numSecondary` are a uniform subset.
        for (let i = 0; i < numSecondary; i++) {
          const r = i + ctx.rng.int(kept - i);
          const p = keptIndices[r];
          keptIndices[r] = keptIndices[i];
          keptIndices[i] = p;
          secondaryMask[b * L + p] = 1;
        }
      }
    }
    return {
      mask,
      batchSize: ctx.batchSize,
      numPatches: L,
      numMasked,
      secondaryMask,
      numSecondary,
      info: { secondaryMasked: numSecondary },
    };
  }

  describe(): Record<string, unknown> {
    return { name: this.name, maskRatio: this.maskRatio, secondaryMaskRatio: this.secondaryMaskRatio };
  }
}
