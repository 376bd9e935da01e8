/**
 * Training recipes (MAE's pre-training, fine-tuning and linear probing hyper-parameters) as data: the library's
 * trainers take them; profiles (experiments/profiles.ts) fill them in.
 * @module
 */

/** Length, batch and the cosine schedule's lr and weight decay: what every trainer's recipe has. */
export interface ScheduleRecipe {
  epochs: number;
  batchSize: number;
  /** Base lr; absolute lr = blr × batch / 256. */
  blr: number;
  /** The lr the cosine decay ends at. */
  minLr: number;
  warmupEpochs: number;
  weightDecay: number;
}

/** MAE-style pre-training recipe. */
export interface PretrainRecipe extends ScheduleRecipe {
  /** Gradient clipping by global norm (MAE pre-training uses none). */
  clipGrad?: number;
  /**
   * Decay `cls_token` and `mask_token` as MAE's and the authors' pre-training code does (timm's
   * `add_weight_decay` without a skip list). Absent: they are exempt, as in this suite's earlier runs (and the
   * run's identity is what it was before the field existed).
   */
  decayTokens?: boolean;
  maskRatio: number;
  /** RandomResizedCrop scale range. */
  cropScale: [number, number];
}

/** MAE-style fine-tuning recipe. */
export interface FinetuneRecipe extends ScheduleRecipe {
  layerDecay: number;
  dropPath: number;
  labelSmoothing: number;
  mixup: number;
  cutmix: number;
  /** Probability of applying mixup or cutmix to a batch. */
  mixupProb: number;
  /** Random-erasing probability. */
  reprob: number;
  /**
   * timm's RandAugment string (MAE's fine-tuning: `rand-m9-mstd0.5-inc1`), applied after the crop and flip;
   * absent: none (and the run's identity is what it was before the field existed).
   */
  randAugment?: string;
  cropScale: [number, number];
}

/** Linear-probing recipe (frozen encoder; BatchNorm without affine + linear head). */
export interface LinprobeRecipe {
  epochs: number;
  batchSize: number;
  blr: number;
  warmupEpochs: number;
  weightDecay: number;
  momentum: number;
  optimizer: "sgd" | "lars";
  /** Features: the CLS token after the final norm (MAE) or mean-pooled patch tokens. */
  features: "cls" | "mean";
  /**
   * Train on augmented views every epoch (MAE) or on features of un-augmented images computed once (fast,
   * a documented simplification at small scale).
   */
  augment: boolean;
}
