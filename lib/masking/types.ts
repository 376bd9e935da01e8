/**
 * The mask-strategy interface shared by MAE, GPA and the peer strategies.
 *
 * A strategy sees the batch (its size, the patch grid, optionally the images as the student sees them) and
 * the training progress, and returns one exact mask per sample: 1 = masked (removed from the encoder),
 * 0 = kept, like MAE. Every sample of a batch has the same number of masked patches.
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { Rng } from "../rng.ts";
import type { CropParams } from "../data/augment.ts";

/** What a strategy may look at when it builds the masks of one batch. */
export interface MaskContext {
  /** Batch size B. */
  batchSize: number;
  /** Patch grid: `rows × cols = L` patches, row-major. */
  grid: { rows: number; cols: number };
  /** Training progress t/T in [0, 1] (per epoch or per iteration, as the run's schedule says). */
  progress: number;
  /** Current epoch (0-based) and global step. */
  epoch: number;
  step: number;
  /** Random stream for this batch's masks. */
  rng: Rng;
  /** The batch's images as the student sees them, `[B, H, W, 3]`, normalised. Optional. */
  images?: tf.Tensor4D;
  /** The same images as a Float32Array `[B, H, W, 3]` (teachers that run their own pass). */
  imageData?: Float32Array;
  /** Dataset indices of the batch's images and the crop/flip that made each view (cached teacher maps). */
  sampleIds?: Int32Array;
  crops?: CropParams[];
}

/** Per-sample masks of one batch. */
export interface MaskBatch {
  /** Row-major `[B, L]`; 1 = masked, 0 = kept. */
  mask: Uint8Array;
  batchSize: number;
  /** L, the number of patches per sample. */
  numPatches: number;
  /** Masked patches per sample (the same for every sample). */
  numMasked: number;
  /** Optional per-strategy diagnostics (e.g. how many masked patches came from each share). */
  info?: Record<string, number>;
  /** Per-patch scores the strategy ranked by, `[B, L]` (e.g. the teacher's GPA map), for losses that reuse them. */
  scores?: Float32Array;
  /**
   * UM-MAE's secondary mask, `[B, L]`: 1 = a kept patch (mask 0) that stays in the encoder's sequence but whose
   * content the encoder replaces by its visible mask token (`MaeConfig.visMaskToken`). Absent or all zero:
   * none, every kept patch is seen as is. The loss stays on the masked patches either way.
   */
  secondaryMask?: Uint8Array;
}

/** A masking strategy. */
export interface MaskStrategy {
  /** Registry name, e.g. "random", "block", "gpa". */
  readonly name: string;
  /** Fraction of patches masked per sample, in (0, 1). */
  readonly maskRatio: number;
  /** True if `generate` needs `ctx.images` (teacher-guided strategies). */
  readonly needsImages?: boolean;
  /** Builds the masks of one batch. */
  generate(ctx: MaskContext): MaskBatch | Promise<MaskBatch>;
  /** Everything that identifies this strategy's behaviour, for run metadata and the run hash. */
  describe(): Record<string, unknown>;
}

/** Number of masked patches for `numPatches` patches at `maskRatio`, as MAE: L − int(L·(1 − ratio)). */
export function maskedCount(numPatches: number, maskRatio: number): number {
  if (!(maskRatio > 0 && maskRatio < 1)) {
    throw new RangeError(`mask ratio must be in (0, 1), got ${maskRatio}`);
  }
  return numPatches - Math.floor(numPatches * (1 - maskRatio) + 1e-9);
}
