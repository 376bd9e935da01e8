/**
 * The flags of the training commands: MAE/timm-style recipe flags, mask strategy and GPA flags, and how they change a profile (validated before any work).
 * @module
 */
import { decimal, floatIn, floatOpen, int, oneOf, str, UsageError, type Values } from "../lib/cli.ts";
import { PROFILES } from "../experiments/profiles.ts";
import { VIT_PRESETS } from "../lib/vit.ts";
import { type RunContext, STRATEGY_NAMES, strategyNeedsTeacher } from "../app/runner.ts";
import { CONTROL_STRATEGIES } from "../app/controls.ts";

/** MAE/timm-style recipe flags (every value enters the run's identity through the recipe or model). */
export const RECIPE_OPTIONS = {
  epochs: { type: "string" },
  "batch-size": { type: "string" },
  blr: { type: "string" },
  "warmup-epochs": { type: "string" },
  "weight-decay": { type: "string" },
  model: { type: "string" },
  "input-size": { type: "string" },
  "patch-size": { type: "string" },
  "pretrain-epochs": { type: "string" },
} as const;

export const PRETRAIN_OPTIONS = {
  ...RECIPE_OPTIONS,
  strategy: { type: "string" },
  mam: { type: "boolean" },
  "mam-loss-on": { type: "string" },
  "teacher-head": { type: "string" },
  "teacher-weights": { type: "string" },
  "teacher-epochs": { type: "string" },
  "gpa-variant": { type: "string" },
  overlap: { type: "string" },
  "gpa-maps": { type: "string" },
  soft: { type: "string" },
  hard: { type: "string" },
  "mask-ratio": { type: "string" },
  rounding: { type: "string" },
  progress: { type: "string" },
  "clip-soft": { type: "boolean" },
  "mam-active-from": { type: "string" },
} as const;

/** Which recipe a command's --epochs, --batch-size, --blr, --warmup-epochs and --weight-decay change. */
export type Stage = "pretrain" | "finetune" | "linprobe" | "none";

/**
 * Applies the recipe flags to the context's profile: the model (--model, --input-size, --patch-size), the
 * stage's recipe, --pretrain-epochs (the encoder's pre-training, for downstream commands) and --mask-ratio.
 */
export function applyOverrides(ctx: RunContext, values: Values, stage: Stage = "pretrain"): void {
  const p = ctx.profile;
  const modelName = str(values, "model");
  if (modelName !== undefined) {
    const preset = modelName === p.name ? PROFILES[p.name].model : VIT_PRESETS[modelName];
    if (!preset) {
      throw new UsageError(
        `--model must be one of ${[p.name, ...Object.keys(VIT_PRESETS)].join(", ")}, got '${modelName}'`,
      );
    }
    Object.assign(p.model, {
      dim: preset.dim,
      depth: preset.depth,
      heads: preset.heads,
      mlpRatio: preset.mlpRatio,
    });
  }
  const input = int(values, "input-size", undefined, 8, 4096);
  if (input !== undefined) {
    p.model.imageSize = input;
    p.dataset.resolution = input;
  }
  const patch = int(values, "patch-size", undefined, 1, 4096);
  if (patch !== undefined) p.model.patchSize = patch;
  if (p.model.imageSize % p.model.patchSize !== 0) {
    throw new UsageError(
      `--input-size ${p.model.imageSize} is not a multiple of --patch-size ${p.model.patchSize}`,
    );
  }
  const recipe = stage === "pretrain"
    ? p.pretrain
    : stage === "finetune"
    ? p.finetune
    : stage === "linprobe"
    ? p.linprobe
    : undefined;
  if (recipe) {
    const epochs = int(values, "epochs", undefined, 1, 100000);
    if (epochs !== undefined) recipe.epochs = epochs;
    const batch = int(values, "batch-size", undefined, 1, 1 << 20);
    if (batch !== undefined) recipe.batchSize = batch;
    const blr = floatOpen(values, "blr", undefined, 0, 100);
    if (blr !== undefined) recipe.blr = blr;
    const warm = floatIn(values, "warmup-epochs", 0, 100000);
    if (warm !== undefined) recipe.warmupEpochs = warm;
    const wd = floatIn(values, "weight-decay", 0, 10);
    if (wd !== undefined) recipe.weightDecay = wd;
    if (recipe.warmupEpochs > recipe.epochs) {
      throw new UsageError(`--warmup-epochs ${recipe.warmupEpochs} exceeds the ${recipe.epochs} epochs`);
    }
  } else {
    for (const k of ["batch-size", "blr", "warmup-epochs", "weight-decay"]) {
      if (values[k] !== undefined) throw new UsageError(`--${k} does not apply to this command`);
    }
  }
  const pre = int(values, "pretrain-epochs", undefined, 1, 100000);
  if (pre !== undefined) p.pretrain.epochs = pre;
  // knn and gpa-recall train nothing: their --epochs names the encoder's pre-training.
  if (stage === "none") {
    const epochs = int(values, "epochs", undefined, 1, 100000);
    if (epochs !== undefined) p.pretrain.epochs = epochs;
  }
  const ratio = floatOpen(values, "mask-ratio", undefined, 0, 1);
  if (ratio !== undefined) p.pretrain.maskRatio = ratio;
  // The patch grid or the ratio changed: pre-training must still keep some patches and mask some (checked
  // here, before a run directory exists; `--from random` pre-trains nothing).
  const changed = ["mask-ratio", "patch-size", "input-size"].filter((k) => values[k] !== undefined);
  if (changed.length > 0 && values.from !== "random") {
    const L = (p.model.imageSize / p.model.patchSize) ** 2;
    const r = p.pretrain.maskRatio;
    const kept = Math.floor(L * (1 - r) + 1e-9);
    if (kept < 1 || kept >= L) {
      throw new UsageError(
        `mask ratio ${r} keeps ${kept} of ${L} patch${L === 1 ? "" : "es"} (${p.model.imageSize} px, ` +
          `${p.model.patchSize}-px patches)` +
          (L < 2
            ? "; pre-training needs at least 2 patches: choose a smaller --patch-size"
            : `; choose a ratio that keeps 1..${L - 1}`) +
          ` (given: ${changed.map((k) => `--${k}`).join(", ")})`,
      );
    }
  }
}

export function sharePair(values: Values, name: string): [number, number] | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  const texts = v.split(/[,:]|->/).map((x) => x.trim());
  const parts = texts.map(decimal);
  // Number("") is 0: an empty side ("," or "0.5,") must not pass as a share of 0.
  if (parts.length !== 2 || texts.some((t) => t === "") || parts.some((x) => !(x >= 0 && x <= 1))) {
    throw new UsageError(`--${name} must be two shares in [0, 1] as start,end (e.g. 0,0.5); got '${v}'`);
  }
  return [parts[0], parts[1]];
}

/** `b{block}h{head}` or `{k}-shot` → a teacher head choice, validated against the model. */
export function teacherHead(values: Values, depth: number, heads: number) {
  const v = str(values, "teacher-head");
  if (v === undefined) return undefined;
  const shot = /^(\d+)-shot$/.exec(v);
  if (shot) {
    const shots = Number(shot[1]);
    // Checked here, before any teacher is trained: selection needs at least one annotated image.
    if (shots < 1 || shots > 100000) {
      throw new UsageError(`--teacher-head: k-shot needs k in 1..100000, got ${shots}`);
    }
    return { shots };
  }
  const m = /^b(\d+)h(-1|\d+)$/.exec(v);
  if (!m) {
    throw new UsageError(`--teacher-head must be b<block>h<head> (h-1 = all heads) or <k>-shot; got '${v}'`);
  }
  const block = Number(m[1]);
  const head = Number(m[2]);
  if (block >= depth) throw new UsageError(`--teacher-head: block ${block} out of range 0..${depth - 1}`);
  if (head >= heads) throw new UsageError(`--teacher-head: head ${head} out of range -1..${heads - 1}`);
  return { block, head };
}

/** The teacher from `--teacher-head`, `--teacher-weights`, `--teacher-epochs`, `--gpa-variant` over the profile's. */
export function teacherFlags(values: Values, ctx: RunContext): import("../app/runner.ts").TeacherChoice & {
  variant: "paper" | "official";
} {
  const head = teacherHead(values, ctx.profile.model.depth, ctx.profile.model.heads);
  const defaults = ctx.profile.gpa.teacher;
  return {
    ...defaults,
    ...(head ? { head } : {}),
    variant: oneOf(values, "gpa-variant", ["paper", "official"] as const, defaults.variant),
    weightsPath: str(values, "teacher-weights") ?? defaults.weightsPath,
    teacherEpochs: int(values, "teacher-epochs", defaults.teacherEpochs, 1, 100000),
  };
}

/**
 * Which strategies each strategy flag changes, derived from the runner's registry: the teacher's file and
 * epochs choose the teacher of every strategy that needs one (`strategyNeedsTeacher`); its head and GPA
 * variant only where GPA maps are read (not cls-attention, which always reads the last block's CLS
 * attention); GPA's share schedules drive GPA and the controls (`CONTROL_STRATEGIES`, masks with GPA's
 * shares); cached maps and MAM exist for GPA alone.
 */
export function strategyFlagScopes(): { flags: string[]; strategies: string[] }[] {
  const teacher = STRATEGY_NAMES.filter((s) => strategyNeedsTeacher(s));
  return [
    { flags: ["teacher-weights", "teacher-epochs"], strategies: teacher },
    { flags: ["teacher-head", "gpa-variant"], strategies: teacher.filter((s) => s !== "cls-attention") },
    {
      flags: ["soft", "hard", "clip-soft", "overlap", "rounding"],
      strategies: ["gpa", ...CONTROL_STRATEGIES],
    },
    { flags: ["gpa-maps", "mam", "mam-loss-on", "mam-active-from"], strategies: ["gpa"] },
  ];
}

/**
 * A strategy flag given with a strategy it does not change is a usage error: it would be ignored (the same
 * run, the same hash), and the person asking believes it took effect.
 */
export function checkStrategyFlags(values: Values, name: string): void {
  for (const { flags, strategies } of strategyFlagScopes()) {
    for (const flag of flags) {
      if (values[flag] === undefined || values[flag] === false || strategies.includes(name)) continue;
      throw new UsageError(
        `--${flag} does not apply to --strategy ${name}: it applies to ${strategies.join(", ")}`,
      );
    }
  }
}

/** The strategy request of pretrain/finetune/linprobe from CLI flags. */
export function strategyRequest(values: Values, ctx: RunContext): import("../app/runner.ts").StrategyRequest {
  const name = oneOf(values, "strategy", STRATEGIES, "random");
  if (values.mam !== true) {
    for (const k of ["mam-loss-on", "mam-active-from"]) {
      if (values[k] !== undefined) throw new UsageError(`--${k} applies only with --mam`);
    }
  }
  const grid = ctx.profile.model.imageSize / ctx.profile.model.patchSize;
  if (name === "uniform" && grid % 2 !== 0) {
    throw new UsageError(
      `--strategy uniform masks in 2×2 windows and needs an even patch grid; ${ctx.profile.model.imageSize} px ` +
        `with ${ctx.profile.model.patchSize}-px patches is ${grid}×${grid}`,
    );
  }
  const soft = sharePair(values, "soft") ?? ctx.profile.gpa.soft;
  const hard = sharePair(values, "hard") ?? ctx.profile.gpa.hard;
  const clipSoft = values["clip-soft"] === true;
  for (const t of clipSoft ? [] : [0, 1]) {
    if (soft[t] + hard[t] > 1 + 1e-9) {
      throw new UsageError(
        `soft + hard shares exceed 1 at ${t === 0 ? "the start" : "the end"} (${soft[t]} + ${hard[t]}); ` +
          "--clip-soft clips the soft share to 1 − hard instead (the authors' code)",
      );
    }
  }
  const teacher = teacherFlags(values, ctx);
  const mamLossOn = oneOf(
    values,
    "mam-loss-on",
    ["masked", "all"] as const,
    teacher.variant === "official" ? "all" : "masked",
  );
  const request = {
    name,
    soft,
    hard,
    overlap: oneOf(values, "overlap", ["paper", "official"] as const, "paper"),
    maps: oneOf(values, "gpa-maps", ["per-step", "cached"] as const, "per-step"),
    teacher,
    mam: values.mam === true
      ? {
        lossOn: mamLossOn,
        ...(values["mam-active-from"] !== undefined
          ? { activeFrom: floatIn(values, "mam-active-from", 0, 1) }
          : {}),
      }
      : false,
    ...(values.rounding !== undefined
      ? { rounding: oneOf(values, "rounding", ["nearest", "floor"] as const, "nearest") }
      : {}),
    ...(values.progress !== undefined
      ? { progress: oneOf(values, "progress", ["step", "epoch"] as const, "step") }
      : {}),
    ...(clipSoft ? { clipSoft } : {}),
  };
  // Every value is valid by now; what remains is whether each flag given changes this strategy at all.
  checkStrategyFlags(values, name);
  return request;
}

/** The strategies `--strategy` accepts: the runner's list, so the CLI cannot fall behind it. */
export const STRATEGIES = STRATEGY_NAMES;
