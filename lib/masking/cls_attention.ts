/**
 * Masking driven by a teacher's CLS→patch attention, the peer strategies of the GPA paper's
 * "class-to-patch attention" family:
 * - `top`: AttMask's "high" variant (Kakogeorgiou et al., "What to Hide from Your Students:
 *   Attention-Guided Masked Image Modeling", ECCV 2022): mask the most attended patches.
 * - `sample`: AMT (Liu et al., "Good Helper Is Around You: Attention-driven Masked Image Modeling",
 *   AAAI 2023): draw the masked patches without replacement with probability proportional to the
 *   attention. AMT's second half ("throwing" the least attended patches to save compute) is not part of
 *   this strategy.
 *
 * The attention comes from an injected provider (the teacher model lives elsewhere): for the batch in
 * `ctx` it returns `[B, L]` non-negative CLS→patch attention (post-softmax, CLS key dropped, heads
 * aggregated as the caller chooses). Every sample gets exactly `maskedCount(L, maskRatio)` masked patches.
 * @module
 */
import { maskFromIndices, sampleWithoutReplacementPerRow, topKPerRow } from "./select.ts";
import { type MaskBatch, type MaskContext, maskedCount, type MaskStrategy } from "./types.ts";

/** Returns `[B, L]` CLS→patch attention (row-major, non-negative) for the batch in `ctx`. */
export type AttentionProvider = (ctx: MaskContext) => Promise<Float32Array>;

/** Options of `ClsAttentionMasking`. */
export interface ClsAttentionMaskingOptions {
  /** "top" (AttMask-high) or "sample" (AMT). */
  variant: "top" | "sample";
  /** The teacher's CLS→patch attention for a batch. */
  attentionProvider: AttentionProvider;
  /** Fraction of patches masked per sample. Default 0.75. */
  maskRatio?: number;
}

/** CLS-attention-guided masking (AttMask-high `top` / AMT `sample`). */
export class ClsAttentionMasking implements MaskStrategy {
  readonly name = "cls-attention";
  readonly maskRatio: number;
  readonly variant: "top" | "sample";
  /** The provider runs a teacher on the batch's images. */
  readonly needsImages = true;
  readonly #provider: AttentionProvider;

  constructor(options: ClsAttentionMaskingOptions) {
    if (options.variant !== "top" && options.variant !== "sample") {
      throw new RangeError(`cls-attention variant must be "top" or "sample", got ${String(options.variant)}`);
    }
    if (typeof options.attentionProvider !== "function") {
      throw new TypeError("cls-attention masking needs an attentionProvider function");
    }
    this.variant = options.variant;
    this.#provider = options.attentionProvider;
    this.maskRatio = options.maskRatio ?? 0.75;
    maskedCount(4, this.maskRatio); // validates the ratio
  }

  async generate(ctx: MaskContext): Promise<MaskBatch> {
    const B = ctx.batchSize;
    const L = ctx.grid.rows * ctx.grid.cols;
    const numMasked = maskedCount(L, this.maskRatio);
    const attention = await this.#provider(ctx); // [B, L]
    if (attention.length !== B * L) {
      throw new RangeError(`attention provider returned ${attention.length} values, expected B·L = ${B * L}`);
    }
    const indices = this.variant === "top"
      ? topKPerRow(attention, B, L, numMasked)
      : sampleWithoutReplacementPerRow(attention, B, L, numMasked, ctx.rng);
    return {
      mask: maskFromIndices(indices, B, L, numMasked),
      batchSize: B,
      numPatches: L,
      numMasked,
      scores: attention,
    };
  }

  describe(): Record<string, unknown> {
    return { name: this.name, variant: this.variant, maskRatio: this.maskRatio };
  }
}
