/**
 * Scoring a segmenter: which classes a split's label maps hold (and which label is void), and the
 * whole-image mIoU evaluation on the val split (mmseg's `whole` test mode at the model's input size). Apart
 * from training so that a finished model can be scored, and the scoring tested, without a run.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { centerBatch } from "../data/augment.ts";
import { DEFAULT_IGNORE_LABEL } from "../data/augment_seg.ts";
import type { ImageSplit } from "../data/types.ts";
import { confusionMatrix, emptyConfusion, miou } from "../eval/miou.ts";
import type { Params } from "../vit.ts";
import { segmentationLogits, type SegmenterConfig } from "./head.ts";

/**
 * The segmentation classes of a split: a split with an ignore label (CamVid) has `numClasses` classes; a split
 * without one (synthetic shapes) labels background 0 and object `1 + class`, so it has `numClasses + 1`.
 */
export function segmentationClasses(
  split: ImageSplit,
): { count: number; names: string[]; ignoreLabel: number } {
  if (!split.segmentation) throw new Error(`split ${split.name} has no segmentation maps`);
  if (split.ignoreLabel !== undefined) {
    return { count: split.numClasses, names: [...split.classNames], ignoreLabel: split.ignoreLabel };
  }
  return {
    count: split.numClasses + 1,
    names: ["background", ...split.classNames],
    ignoreLabel: DEFAULT_IGNORE_LABEL,
  };
}

/** Metrics of a whole-image evaluation (percentages) with the per-class IoU (fractions; NaN = absent). */
export interface SegmentationEvaluation {
  miou: number;
  pixelAcc: number;
  meanAcc: number;
  perClassIoU: number[];
}

/**
 * Whole-image evaluation: every val image resized (bilinear) to the model's input size, logits resized back
 * to the split's label resolution, argmax, confusion against the split's own label maps (ignore label skipped).
 */
export async function evaluateSegmentation(
  params: Params,
  sc: SegmenterConfig,
  split: ImageSplit,
  ignoreLabel: number,
  batchSize = 16,
): Promise<SegmentationEvaluation> {
  if (split.width !== split.height) {
    throw new RangeError(
      `whole-image evaluation needs square images, ${split.name} is ${split.width}×${split.height}`,
    );
  }
  const conf = emptyConfusion(sc.numClasses);
  const size = sc.backbone.imageSize;
  const pixels = split.height * split.width;
  for (let s = 0; s < split.count; s += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, split.count - s) }, (_, i) => s + i);
    const pred = tf.tidy(() => {
      const images = centerBatch(split, idx, size);
      const { logits } = segmentationLogits(params, sc, images, idx.length, {
        outputSize: [split.height, split.width],
      });
      return tf.argMax(logits, 3); // [B, H, W]
    });
    const p = await pred.data();
    pred.dispose();
    confusionMatrix(
      p,
      split.segmentation!.subarray(s * pixels, (s + idx.length) * pixels),
      sc.numClasses,
      ignoreLabel,
      conf,
    );
  }
  const m = miou(conf);
  return {
    miou: 100 * m.miou,
    pixelAcc: 100 * m.pixelAcc,
    meanAcc: 100 * m.meanAcc,
    perClassIoU: m.perClassIoU,
  };
}
