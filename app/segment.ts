/**
 * Downstream transfer of pre-trained encoders: semantic segmentation (CamVid at small scale, ADE20K's recipe
 * at paper scale), cached like every run. Detection (COCO, Mask R-CNN/ViTDet) is not reproduced: a faithful
 * detector is out of reach for TF.js at this suite's scales, and a proxy would not test the paper's claim.
 * @module
 */
import { segmentationSpecFor } from "../experiments/segmentation.ts";
import { datasetFingerprint, loadDataset } from "../lib/data/mod.ts";
import { type EncoderRef, type RunContext, runEnv } from "./runner.ts";
import {
  segment,
  segmentationIdentity,
  type SegmentationOutcome,
  type SegmentationRecipe,
} from "../lib/downstream/mod.ts";

export { segment } from "../lib/downstream/mod.ts";

/** The profile's segmentation data (CamVid on cpu), read through the data layer's cache (downloaded if absent). */
export function segmentationData(ctx: RunContext): ReturnType<typeof loadDataset> {
  const spec = segmentationSpecFor(ctx.profile, { seed: 0, from: null });
  return loadDataset(spec.dataset, { cacheDir: ctx.cacheDir, dataDir: ctx.dataDir, log: ctx.log });
}

/** Fine-tunes a segmentation model on the profile's segmentation data from a pre-training run (or random init). */
export async function ensureSegment(
  ctx: RunContext,
  from: EncoderRef | null,
  seed: number,
  recipe?: Partial<SegmentationRecipe>,
): Promise<SegmentationOutcome> {
  const spec = segmentationSpecFor(ctx.profile, { seed, from: from?.hash ?? null, recipe });
  const data = await segmentationData(ctx);
  const fingerprint = data.train.fingerprint;
  return segment(
    fingerprint ? { ...spec, data: fingerprint } : spec,
    from?.params ?? null,
    data,
    runEnv(ctx),
  );
}

/**
 * The fingerprint of the profile's segmentation data, read from its source without decoding (for `plan`);
 * undefined when it is generated data or not there yet.
 */
export function segmentFingerprint(ctx: RunContext): Promise<string | undefined> {
  const spec = segmentationSpecFor(ctx.profile, { seed: 0, from: null });
  return datasetFingerprint(spec.dataset, { cacheDir: ctx.cacheDir, dataDir: ctx.dataDir });
}

/**
 * The run identity {@linkcode ensureSegment} would use, from the segmentation data's fingerprint (see
 * {@linkcode segmentFingerprint}). Null when that data is not there yet, so the identity is unknown.
 */
export function segmentIdentity(
  ctx: RunContext,
  from: string | null,
  seed: number,
  fingerprint: string | undefined,
): Record<string, unknown> | null {
  const spec = segmentationSpecFor(ctx.profile, { seed, from });
  if (!fingerprint && spec.dataset.name !== "synthetic") return null;
  return segmentationIdentity(fingerprint ? { ...spec, data: fingerprint } : spec);
}
