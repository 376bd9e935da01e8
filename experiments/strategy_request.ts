/**
 * What a table row or a CLI call asks of pre-training: a masking strategy by its registry name with its
 * options, and how a teacher-guided strategy picks its teacher. Data only — the registry that turns a request
 * into a run lives in app/strategies.ts.
 * @module
 */
import type { HeadChoice } from "../lib/gpa.ts";
import type { GpaVariant } from "../lib/gpa_math.ts";
import type { ProgressUnit } from "../lib/train/pretrain_spec.ts";

/** How a GPA run picks its teacher. */
export interface TeacherChoice {
  /** Seed of the profile's MAE baseline run used as teacher (default 0). */
  teacherSeed?: number;
  /** Pre-training epochs of that baseline (default: the profile's pre-training epochs). */
  teacherEpochs?: number;
  /** A safetensors file with timm/MAE ViT weights instead of a cached run. */
  weightsPath?: string;
  /** A finished pre-training run of the cache (its hash) as the teacher, instead of the profile's. */
  run?: string;
  /** When set, a weights file is required: the error without one says where to get it. */
  weightsHint?: string;
  /** Head: explicit, or chosen by k-shot selection on annotated train images. */
  head: HeadChoice | { shots: number };
  variant?: GpaVariant;
}
/** Options of a named strategy choice (CLI flags and table rows). */
export interface StrategyRequest {
  name: string;
  maskRatio?: number;
  /** GPA */
  soft?: [number, number];
  hard?: [number, number];
  overlap?: "paper" | "official";
  /** Share-count rounding: "nearest" (default) or "floor" (authors' code). */
  rounding?: "nearest" | "floor";
  /** Clip the soft share to 1 − hard where the two schedules sum above 1 (authors' code). */
  clipSoft?: boolean;
  /** Training progress the schedules see: per optimiser step (default) or per epoch (authors' code). */
  progress?: ProgressUnit;
  /** GPA maps from the teacher on every view (paper) or cached once per image and cropped (faster). */
  maps?: "per-step" | "cached";
  teacher?: TeacherChoice;
  mam?: boolean | { lossOn?: "masked" | "all"; activeFrom?: number; weight?: number };
  /** cls-attention */
  variant?: "top" | "sample";
  /** uniform: UM-MAE's secondary masking (a `UM_MAE_SECONDARY_RATIO` share of the kept patches hidden). */
  secondaryMasking?: boolean;
}
