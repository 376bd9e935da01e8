/**
 * MAE's random masking: per sample, argsort of uniform noise; the first `keep` indices are kept.
 * @module
 */
import { type MaskBatch, type MaskContext, maskedCount, type MaskStrategy } from "./types.ts";

/** Random masking (He et al., MAE). */
export class RandomMasking implements MaskStrategy {
  readonly name = "random";
  constructor(readonly maskRatio = 0.75) {
    maskedCount(4, maskRatio); // validates the ratio
  }

  generate(ctx: MaskContext): MaskBatch {
    const L = ctx.grid.rows * ctx.grid.cols;
    const numMasked = maskedCount(L, this.maskRatio);
    const mask = new Uint8Array(ctx.batchSize * L);
    for (let b = 0; b < ctx.batchSize; b++) {
      const perm = ctx.rng.permutation(L);
      for (let j = 0; j < numMasked; j++) mask[b * L + perm[j]] = 1;
    }
    return { mask, batchSize: ctx.batchSize, numPatches: L, numMasked };
  }

  describe(): Record<string, unknown> {
    return { name: this.name, maskRatio: this.maskRatio };
  }
}
