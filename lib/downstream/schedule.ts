/**
 * Learning-rate schedules of segmentation fine-tuning: mmseg's poly decay with mmcv's linear warm-up, or the
 * half-cycle cosine shared with the other fine-tuning runs (`cosineLr`). Pure functions of the epoch, kept
 * apart from the training loop so the schedule can be checked against hand values.
 * @module
 */
import { cosineLr } from "../train/optim.ts";
import type { SegmentationRecipe } from "./recipe.ts";

/** mmcv's linear warm-up start ratio. */
const WARMUP_RATIO = 1e-6;

/**
 * mmseg's poly schedule with linear warm-up at fractional epoch `epoch`: regular = (lr − minLr)·(1 − t/T)^power
 * + minLr over the whole run; during warm-up it is scaled by `1 − (1 − t/warm)·(1 − 1e-6)`.
 */
export function polyLr(
  epoch: number,
  o: { lr: number; minLr: number; warmupEpochs: number; epochs: number; power: number },
): number {
  const progress = Math.min(Math.max(epoch / o.epochs, 0), 1);
  const regular = (o.lr - o.minLr) * Math.pow(1 - progress, o.power) + o.minLr;
  if (epoch < o.warmupEpochs) return regular * (1 - (1 - epoch / o.warmupEpochs) * (1 - WARMUP_RATIO));
  return regular;
}

/** Learning rate of a recipe at fractional epoch `epoch`. */
export function segmentationLr(r: SegmentationRecipe, epoch: number): number {
  const o = { lr: r.lr, minLr: r.minLr, warmupEpochs: r.warmupEpochs, epochs: r.epochs };
  return r.schedule === "poly" ? polyLr(epoch, { ...o, power: r.polyPower }) : cosineLr(epoch, o);
}
