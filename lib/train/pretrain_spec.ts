/**
 * What defines a pre-training run and hence its cache key: the spec, its identity and hash, the model format
 * version that is part of every run's identity, and the training progress that mask and loss schedules see.
 * Changing anything here changes run hashes (tests/plan_hashes_test.ts pins them).
 * @module
 */
import { runHash } from "../cache/mod.ts";
import { datasetIdentity, type DatasetSpec } from "../data/types.ts";
import type { MaeConfig } from "../mae.ts";
import type { MaskStrategy } from "../masking/types.ts";
import type { PretrainRecipe } from "./recipes.ts";
import type { PretrainExtension } from "./extension.ts";

/** Version of the model/checkpoint format; part of every run's identity. */
export const MODEL_FORMAT_VERSION = 1;

/** How schedules measure training progress (see `PretrainSpec.progressUnit`). */
export type ProgressUnit = "step" | "epoch";

/**
 * Progress t ∈ [0, 1] of step `stepInEpoch` of epoch `epoch` (both 0-based): per step, s / (S − 1) with
 * S = epochs × stepsPerEpoch (0 for a single-step run); per epoch, epoch / epochs.
 */
export function trainingProgress(
  unit: ProgressUnit,
  epoch: number,
  stepInEpoch: number,
  stepsPerEpoch: number,
  epochs: number,
): number {
  if (unit === "epoch") return epoch / epochs;
  const total = epochs * stepsPerEpoch;
  return total <= 1 ? 0 : Math.min(1, (epoch * stepsPerEpoch + stepInEpoch) / (total - 1));
}

/** Everything that defines a pre-training run. */
export interface PretrainSpec {
  profile: string;
  dataset: DatasetSpec;
  model: MaeConfig;
  recipe: PretrainRecipe;
  seed: number;
  strategy: MaskStrategy;
  extensions?: PretrainExtension[];
  /**
   * Training progress t that mask and loss schedules see (Eq. 6): "step" (default) is the optimiser step
   * over the last step, t = s / (S − 1), so the last step sees t = 1; "epoch" is the authors' code,
   * t = epoch / epochs, constant within an epoch and never reaching 1 (0.75 at most with 4 epochs).
   */
  progressUnit?: ProgressUnit;
  /** Identity of anything else the run depends on (e.g. the teacher run's hash). */
  dependsOn?: Record<string, unknown>;
  /** Fingerprint of the data source (lib/data/fingerprint.ts); absent for generated data. */
  data?: string;
}

/** The run's identity: everything that changes its result. */
export function pretrainIdentity(spec: PretrainSpec): Record<string, unknown> {
  return {
    kind: "pretrain",
    formatVersion: MODEL_FORMAT_VERSION,
    profile: spec.profile,
    dataset: datasetIdentity(spec.dataset),
    model: spec.model,
    recipe: spec.recipe,
    seed: spec.seed,
    strategy: spec.strategy.describe(),
    extensions: (spec.extensions ?? []).filter((e) => e.affectsIdentity !== false).map((e) => e.describe()),
    progressUnit: spec.progressUnit ?? "step",
    dependsOn: spec.dependsOn ?? {},
    ...(spec.data ? { data: spec.data } : {}),
  };
}

/** Hash of a pre-training spec. */
export function pretrainHash(spec: PretrainSpec): string {
  return runHash(pretrainIdentity(spec));
}
