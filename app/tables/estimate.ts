/**
 * Compute estimates from a profile's measured throughput: seconds per (row × seed) unit, so that `plan` can
 * say what a table costs and a running table can give an ETA.
 * @module
 */
import type { ThroughputModel } from "../../experiments/profiles.ts";
import type { Profile } from "../../experiments/profiles.ts";
import { activeBlasCore } from "../../lib/blas.ts";
import type { Evaluation, TableRowPlan } from "../../experiments/tables/mod.ts";
import { strategyEntry } from "../strategies.ts";

/**
 * The profile's measured throughput for the kernel set wasm's matrix products run on (`kernelSet`, default:
 * the one open now): that set's own numbers where the profile has them (`kernelSets`, matched without regard
 * to case), the profile's others at the set's measured speed-up where it does not; the profile's own for a
 * set it has no numbers for (or no OpenBLAS); undefined for a profile without a model.
 */
export function profileThroughput(
  profile: Profile,
  kernelSet: string | null = activeBlasCore(),
): ThroughputModel | undefined {
  const t = profile.throughput;
  if (!t || !kernelSet) return t;
  const own = Object.entries(t.kernelSets ?? {}).find(([k]) => k.toLowerCase() === kernelSet.toLowerCase());
  if (!own) return t;
  const set = own[1];
  // What the set did not measure: the model's own numbers at the set's measured speed-up.
  const sooner = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds / set.scale);
  return {
    ...t,
    pretrain: {
      ...Object.fromEntries(Object.entries(t.pretrain).map(([k, v]) => [k, v * set.scale])),
      ...set.pretrain,
    },
    finetune: set.finetune ?? t.finetune * set.scale,
    linprobe: t.linprobe === undefined ? undefined : t.linprobe * set.scale,
    linprobeSeconds: set.linprobeSeconds ?? sooner(t.linprobeSeconds),
    segmentSeconds: set.segmentSeconds ?? sooner(t.segmentSeconds),
    measured: `${set.measured}; the rest: ${t.measured}, × ${set.scale}`,
  };
}

/** The throughput key of a row's pre-training: its strategy, with "+mam" for GPA with MAM. */
export function strategyKey(row: TableRowPlan): string {
  if (!row.request) return "none";
  const key = strategyEntry(row.request.name).throughputKey;
  return row.request.mam ? `${key}+mam` : key;
}

/**
 * Estimated seconds of one process for a unit (pre-training + evaluation; the evaluation alone when
 * `pretrained`), or null where the profile has no measured throughput for it.
 */
export function unitSeconds(
  profile: Profile,
  row: TableRowPlan,
  evaluation: Evaluation,
  options: { pretrained?: boolean } = {},
): number | null {
  const t = profileThroughput(profile);
  if (!t || (!row.request && !row.randomInit)) return null;
  // The controls run GPA's masking without a teacher pass per step: MAE's speed, as measured for random.
  const key = row.randomInit ? "random" : strategyKey(row);
  const rate = t.pretrain[key] ??
    (["centre", "mean-map", "oracle-box"].includes(key) ? t.pretrain.random : undefined);
  if (!rate) return null;
  const epochs = Math.max(1, Math.round(profile.pretrain.epochs * (row.epochsScale ?? 1)));
  const pre = row.randomInit ? 0 : (t.trainImages * epochs) / rate;
  const ev = evaluation === "knn"
    ? 0
    : evaluation === "finetune"
    ? (t.trainImages * profile.finetune.epochs) / t.finetune
    : evaluation === "linprobe"
    ? linprobeSeconds(profile)
    : t.segmentSeconds ?? null;
  return ev === null ? null : (options.pretrained ? 0 : pre) + ev;
}

/** Estimated seconds to pre-train the profile's teacher when it is not cached yet (null: no estimate). */
export function teacherSeconds(profile: Profile): number | null {
  const t = profileThroughput(profile);
  const epochs = profile.gpa.teacher.teacherEpochs ?? profile.pretrain.epochs;
  return t?.pretrain.random ? (t.trainImages * epochs) / t.pretrain.random : null;
}

/** "2.5 h" / "14 min" / "40 s". */
export function formatEstimate(seconds: number): string {
  if (seconds >= 5400) return `${(seconds / 3600).toFixed(1)} h`;
  if (seconds >= 90) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds)} s`;
}

/** Estimated seconds of one linear probe (null: no measured throughput for the profile's recipe). */
export function linprobeSeconds(profile: Profile): number | null {
  const t = profileThroughput(profile);
  if (!t) return null;
  if (!profile.linprobe.augment && t.linprobeSeconds !== undefined) return t.linprobeSeconds;
  return t.linprobe ? (t.trainImages * profile.linprobe.epochs) / t.linprobe : null;
}
