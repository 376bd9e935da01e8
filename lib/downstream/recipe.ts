/**
 * The segmentation fine-tuning recipe (head, widths, schedule, regularisation, augmentation) and its range
 * check. A module of its own because the schedule, the training run and the profiles all read it, and none
 * of them should have to import the others to get at its type.
 * @module
 */
import type { SegmentationHead } from "./head.ts";

/** Segmentation fine-tuning recipe. */
export interface SegmentationRecipe {
  /** `upernet`: 4-level pyramid + UperNet fusion; `progressive`: last block, conv + ×2 upsampling stages. */
  head: SegmentationHead;
  /** Width of the head (mmseg/BEiT UperNet for ViT-B: 768). */
  channels: number;
  /** Training crop side = the encoder's input size; val images are resized to it and predicted whole. */
  cropSize: number;
  /** Passes over the train split (iterations = epochs × ⌊N / batch⌋). */
  epochs: number;
  batchSize: number;
  /** Peak (absolute) learning rate. */
  lr: number;
  minLr: number;
  /** Linear warm-up length in (fractional) epochs. */
  warmupEpochs: number;
  /** Decay after warm-up: mmseg's poly (power `polyPower`) or half-cycle cosine. */
  schedule: "poly" | "cosine";
  polyPower: number;
  weightDecay: number;
  /** Layer-wise lr decay of the encoder (BEiT/MAE ADE20K: 0.65); the head has scale 1. */
  layerDecay: number;
  /** Stochastic depth rate of the encoder (linearly increasing over blocks). */
  dropPath: number;
  /** Random rescale range of `randomScaleCropFlipSeg` (mmseg: 0.5–2). */
  scaleRange: [number, number];
  /** Blocks whose outputs feed the head (default: `defaultOutIndices(depth)`); UperNet needs 4. */
  outIndices?: number[];
  /** Gradient clipping by global norm; absent = none. */
  clipGrad?: number;
  /** Evaluate every N epochs (the last epoch always); default 1. */
  evalEvery?: number;
}

/**
 * Checks a recipe against sane ranges before anything is allocated (a head of 10⁸ channels would exhaust the
 * wasm heap minutes later): throws a RangeError naming the field, its range and the value.
 */
export function validateSegmentationRecipe(r: SegmentationRecipe): void {
  const ranges: [keyof SegmentationRecipe, number, number, boolean][] = [
    ["channels", 1, 4096, true],
    ["cropSize", 8, 2048, true],
    ["epochs", 1, 100000, true],
    ["batchSize", 1, 4096, true],
    ["lr", 1e-8, 1, false],
    ["minLr", 0, 1, false],
    ["warmupEpochs", 0, 100000, false],
    ["polyPower", 0.01, 10, false],
    ["weightDecay", 0, 1, false],
    ["layerDecay", 0.01, 1, false],
    ["dropPath", 0, 0.99, false],
  ];
  for (const [key, lo, hi, integer] of ranges) {
    const v = r[key] as number;
    if (!(typeof v === "number" && v >= lo && v <= hi && (!integer || Number.isInteger(v)))) {
      throw new RangeError(
        `segmentation recipe ${key} must be ${
          integer ? "an integer" : "a number"
        } in [${lo}, ${hi}], got ${v}`,
      );
    }
  }
  if (r.minLr > r.lr) throw new RangeError(`segmentation recipe minLr ${r.minLr} exceeds lr ${r.lr}`);
  if (r.warmupEpochs > r.epochs) {
    throw new RangeError(`segmentation recipe warmupEpochs ${r.warmupEpochs} exceeds epochs ${r.epochs}`);
  }
}
