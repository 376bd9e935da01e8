/**
 * Downstream transfer of pre-trained encoders: semantic segmentation, the small-scale stand-in for the
 * paper's ADE20K UperNet evaluation. The one import point of its public API; each concern has its module:
 * - `segment.ts`: the cached run (spec, run identity, training) — what the app calls;
 * - `recipe.ts`: the fine-tuning recipe and its range check;
 * - `head.ts`: the network (encoder features + UperNet-style or progressive head) and its parameters;
 * - `conv.ts`, `resample.ts`: the 3×3 convolution and bilinear resampling ops with wasm-friendly gradients;
 * - `loss.ts`: pixel cross-entropy with void labels; `schedule.ts`: poly / cosine learning rates;
 * - `evaluate.ts`: the split's classes and whole-image mIoU evaluation.
 * @module
 */
export { conv3x3, convWeightToFilter } from "./conv.ts";
export { evaluateSegmentation, segmentationClasses, type SegmentationEvaluation } from "./evaluate.ts";
export {
  blockOutputs,
  buildSegmenter,
  defaultOutIndices,
  initSegmentationHead,
  progressiveStages,
  pyramidSizes,
  type SegmentationHead,
  type SegmentationLogits,
  segmentationLogits,
  type SegmenterConfig,
} from "./head.ts";
export { pixelCrossEntropy } from "./loss.ts";
export { type SegmentationRecipe, validateSegmentationRecipe } from "./recipe.ts";
export { interpolationMatrix, resample } from "./resample.ts";
export { polyLr, segmentationLr } from "./schedule.ts";
export {
  segment,
  SEGMENTATION_FORMAT_VERSION,
  segmentationIdentity,
  type SegmentationOutcome,
  type SegmentationSpec,
  segmenterConfig,
} from "./segment.ts";
