/**
 * Semantic-segmentation settings per profile: which data and which recipe the segmentation evaluation of a
 * pre-trained encoder uses. `smoke` runs in seconds on synthetic shapes, `cpu` is CamVid (the stand-in for
 * ADE20K) sized to about 16 minutes per run on one core with the wasm backend, `paper` records the paper's
 * ADE20K UperNet setting for reference (the data layer has no ADE20K loader).
 * @module
 */
import type { DatasetSpec } from "../lib/data/types.ts";
import {
  type SegmentationRecipe,
  type SegmentationSpec,
  validateSegmentationRecipe,
} from "../lib/downstream/mod.ts";
import { type Profile, UnknownProfileError } from "./profiles.ts";
import { encoderConfig } from "../lib/vit.ts";

/** The segmentation setting of one profile. */
export interface SegmentationSetup {
  profile: string;
  description: string;
  /** The data a run uses; absent when the data layer cannot load it (paper: ADE20K). */
  dataset?: DatasetSpec;
  recipe: SegmentationRecipe;
  /** What the numbers stand for or come from. */
  reference: string;
}

/** The poly learning-rate decay to 0 and weight decay every segmentation recipe here uses (BEiT/MAE's ADE20K). */
const POLY_DECAY = { minLr: 0, schedule: "poly", polyPower: 1, weightDecay: 0.05 } as const;

const smoke: SegmentationSetup = {
  profile: "smoke",
  description:
    "seconds: synthetic shapes at 16 px (background + 10 shape classes), progressive head of width 32, " +
    "10 epochs of 200 images (≈3 s on 2 CPU cores)",
  dataset: { name: "synthetic", resolution: 16, trainLimit: 20, valLimit: 5, numClasses: 10, seed: 0 },
  recipe: {
    head: "progressive",
    channels: 32,
    cropSize: 16,
    epochs: 10,
    batchSize: 10,
    lr: 5e-3,
    warmupEpochs: 0.5,
    ...POLY_DECAY,
    layerDecay: 0.75,
    dropPath: 0,
    scaleRange: [0.75, 1.5],
    evalEvery: 5,
  },
  reference: "pipeline check only; must beat the all-background mIoU (≈7 %)",
};

const cpu: SegmentationSetup = {
  profile: "cpu",
  description:
    "CamVid squeezed to 64 px (the cpu encoder's pre-training grid: 8×8 patches of 8 px), 11 classes + void, " +
    "UperNet head of width 64, 16 epochs of the 367 train images, evaluated every 2 epochs (≈16 min per run " +
    "on one core at the former 32 px / patch 4, the same 64 tokens; 64 px adds pixels to the head's last " +
    "layers and has not been timed)",
  dataset: { name: "camvid", resolution: 64 },
  recipe: {
    head: "upernet",
    channels: 64,
    cropSize: 64,
    epochs: 16,
    batchSize: 8,
    // Measured with the former 32 px / patch 4 encoder (seed 0): 8 epochs at 1.5e-3 gave random init 20.1 % and
    // a 12-epoch MAE 20.3 % mIoU (8 epochs at 5e-4: random 18.2 %; position prior 17.0 %); 16 epochs at 5e-4
    // gave random 22.6 %, MAE 23.8 %.
    lr: 5e-4,
    warmupEpochs: 1,
    ...POLY_DECAY,
    layerDecay: 0.75,
    dropPath: 0.1,
    scaleRange: [0.5, 2],
    evalEvery: 2,
  },
  reference: "CamVid val (101 images) mIoU; a stand-in for the paper's ADE20K mIoU",
};

const paper: SegmentationSetup = {
  profile: "paper",
  description:
    "reference only: ADE20K (150 classes), 512 px crops, UperNet (channels 768) on ViT-B/16 blocks 3/5/7/11, " +
    "160k iterations at batch 16 (= 127 epochs of 20,210 images), AdamW lr 1e-4, layer decay 0.65, warm-up " +
    "1500 iterations, poly decay; the data layer has no ADE20K loader",
  recipe: {
    head: "upernet",
    channels: 768,
    cropSize: 512,
    epochs: 127,
    batchSize: 16,
    lr: 1e-4,
    warmupEpochs: 1500 / 1263,
    ...POLY_DECAY,
    layerDecay: 0.65,
    dropPath: 0.1,
    scaleRange: [0.5, 2],
    outIndices: [3, 5, 7, 11],
    evalEvery: 16,
  },
  reference: "paper §4 (ADE20K, UperNet, mmsegmentation, 160k iterations); BEiT/MAE ADE20K config values",
};

/** Segmentation settings by profile name. */
export const SEGMENTATION_SETUPS: Readonly<Record<string, SegmentationSetup>> = { smoke, cpu, paper };

/** The segmentation setting of a profile (a deep copy, so callers may adjust it). */
export function getSegmentationSetup(profile: string): SegmentationSetup {
  const s = SEGMENTATION_SETUPS[profile];
  if (!s) {
    throw new UnknownProfileError(
      `no segmentation setting for profile '${profile}'; valid: ${
        Object.keys(SEGMENTATION_SETUPS).join(", ")
      }`,
    );
  }
  return structuredClone(s);
}

/**
 * The segmentation spec of a profile's encoder: the profile's ViT shape, the profile's segmentation data and
 * recipe (optionally overridden). Throws when the profile's segmentation data cannot be loaded (paper).
 */
export function segmentationSpecFor(
  profile: Profile,
  options: { seed: number; from: string | null; recipe?: Partial<SegmentationRecipe> },
): SegmentationSpec {
  const setup = getSegmentationSetup(profile.name);
  if (!setup.dataset) {
    // A RangeError: asked of the CLI (segment --profile paper) it is a usage mistake, exit 2.
    throw new RangeError(`profile '${profile.name}' has no runnable segmentation data: ${setup.description}`);
  }
  const m = profile.model;
  const recipe = { ...setup.recipe, ...options.recipe };
  validateSegmentationRecipe(recipe);
  return {
    profile: profile.name,
    dataset: setup.dataset,
    model: encoderConfig(m),
    recipe,
    seed: options.seed,
    from: options.from,
  };
}
