/**
 * The flags of the training commands: MAE/timm-style recipe flags, mask strategy and GPA flags, and how they change a profile (validated before any work).
 * @module
 */
import { decimal, floatIn, floatOpen, int, oneOf, str, UsageError, type Values } from "../lib/cli.ts";
import { PROFILES } from "../experiments/profiles.ts";
import { VIT_PRESETS } from "../lib/vit.ts";
import type { RunContext } from "../app/runner.ts";
import { STRATEGY_NAMES, STRATEGY_REGISTRY } from "../app/strategies.ts";

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
  // MAE/timm names (main_pretrain.py, main_finetune.py, main_linprobe.py) where the meaning is the same.
  lr: { type: "string" },
  "min-lr": { type: "string" },
  "layer-decay": { type: "string" },
  "drop-path": { type: "string" },
  mixup: { type: "string" },
  cutmix: { type: "string" },
  smoothing: { type: "string" },
  "accum-iter": { type: "string" },
  "output-dir": { type: "string" },
  resume: { type: "string" },
} as const;

/** The MAE/timm flags only fine-tuning has (segmentation takes them in `--recipe`). */
const FINETUNE_ONLY = ["layer-decay", "drop-path", "mixup", "cutmix", "smoothing"] as const;

/**
 * MAE's `--resume CHECKPOINT` (alone or with a value) accepted and explained: resuming is automatic here, so
 * the flag is removed and one line says so. Returns the arguments without it.
 */
export function acceptResume(
  args: string[],
  say: (line: string) => void = (l) => console.error(l),
): string[] {
  const out: string[] = [];
  let seen = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--resume" || a.startsWith("--resume=")) {
      seen = true;
      if (a === "--resume" && i + 1 < args.length && !args[i + 1].startsWith("-")) i++; // its checkpoint
      continue;
    }
    out.push(a);
  }
  if (seen && !args.includes("-q") && !args.includes("--quiet")) {
    say(
      "note: --resume is not needed here: every run resumes from its own last checkpoint when the same " +
        "command is given again (the run's hash names its folder); the flag is ignored",
    );
  }
  return out;
}

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
  const given = (ctx.recipeSet ??= new Set<string>());
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
  if (values.blr !== undefined && values.lr !== undefined) {
    throw new UsageError("--lr and --blr set the same learning rate (lr = blr × batch / 256): give one");
  }
  if (recipe) {
    const epochs = int(values, "epochs", undefined, 1, 100000);
    if (epochs !== undefined) (recipe.epochs = epochs, given.add(`${stage}.epochs`));
    const batch = int(values, "batch-size", undefined, 1, 1 << 20);
    if (batch !== undefined) (recipe.batchSize = batch, given.add(`${stage}.batchSize`));
    // MAE's --accum-iter N: N batches per optimiser step. Here a step's batch is split into micro-batches
    // automatically (GPA_MICRO_BATCH), so the same update is batch × N images per step.
    const accum = int(values, "accum-iter", undefined, 1, 1 << 20);
    if (accum !== undefined && accum > 1) {
      recipe.batchSize *= accum;
      given.add(`${stage}.batchSize`);
      ctx.log(
        `--accum-iter ${accum}: one optimiser step takes ${recipe.batchSize} images (--batch-size × ${accum}); ` +
          "memory is bounded by micro-batches here (GPA_MICRO_BATCH), whatever the batch",
      );
    }
    const blr = floatOpen(values, "blr", undefined, 0, 100);
    if (blr !== undefined) recipe.blr = blr;
    // MAE's --lr: the absolute rate; this suite keeps the base rate (absolute = blr × batch / 256).
    const lr = floatOpen(values, "lr", undefined, 0, 100);
    if (lr !== undefined) recipe.blr = (lr * 256) / recipe.batchSize;
    const warm = floatIn(values, "warmup-epochs", 0, 100000);
    if (warm !== undefined) (recipe.warmupEpochs = warm, given.add(`${stage}.warmupEpochs`));
    const wd = floatIn(values, "weight-decay", 0, 10);
    if (wd !== undefined) recipe.weightDecay = wd;
    const minLr = floatIn(values, "min-lr", 0, 100);
    if (minLr !== undefined) {
      if (!("minLr" in recipe)) {
        throw new UsageError("--min-lr does not apply to linear probing (cosine to 0)");
      }
      recipe.minLr = minLr;
    }
    if (stage === "finetune") {
      const f = p.finetune;
      const ld = floatIn(values, "layer-decay", 0.01, 1);
      if (ld !== undefined) f.layerDecay = ld;
      const dp = floatIn(values, "drop-path", 0, 0.99);
      if (dp !== undefined) f.dropPath = dp;
      const sm = floatIn(values, "smoothing", 0, 0.99);
      if (sm !== undefined) f.labelSmoothing = sm;
      const mixup = floatIn(values, "mixup", 0, 100);
      if (mixup !== undefined) f.mixup = mixup;
      const cutmix = floatIn(values, "cutmix", 0, 100);
      if (cutmix !== undefined) f.cutmix = cutmix;
      // timm's mixup_prob is 1 by default: asking for mixup or cutmix on a profile without them turns them on.
      if ((mixup ?? 0) > 0 || (cutmix ?? 0) > 0) f.mixupProb ||= 1;
    }
    capWarmup(ctx, stage as "pretrain" | "finetune" | "linprobe");
  } else {
    for (const k of ["batch-size", "blr", "lr", "warmup-epochs", "weight-decay", "min-lr", "accum-iter"]) {
      if (values[k] !== undefined) throw new UsageError(`--${k} does not apply to this command`);
    }
  }
  if (stage !== "finetune") {
    for (const k of FINETUNE_ONLY) {
      if (values[k] !== undefined) {
        throw new UsageError(
          `--${k} is a fine-tuning setting and does not apply here` +
            (stage === "none" ? " (segment: --recipe layerDecay=…,dropPath=…)" : ""),
        );
      }
    }
  }
  const pre = int(values, "pretrain-epochs", undefined, 1, 100000);
  if (pre !== undefined) p.pretrain.epochs = pre;
  // knn and gpa-recall train nothing: their --epochs names the encoder's pre-training (= --pretrain-epochs).
  if (stage === "none") {
    const epochs = int(values, "epochs", undefined, 1, 100000);
    if (epochs !== undefined && pre !== undefined && epochs !== pre) {
      throw new UsageError(
        `--epochs ${epochs} and --pretrain-epochs ${pre} name the same epochs here: give one`,
      );
    }
    if (epochs !== undefined) p.pretrain.epochs = epochs;
  }
  if (stage !== "pretrain") capWarmup(ctx, "pretrain");
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

/**
 * A warm-up longer than the epochs asked for: an error when `--warmup-epochs` said so, else the profile's
 * warm-up share of its own epochs applied to the epochs asked for (`paper`'s 20 of 200 → 0.5 of 5), said in one
 * line and recorded with the run (`recipeNotes` in its metrics).
 */
export function capWarmup(ctx: RunContext, stage: "pretrain" | "finetune" | "linprobe"): void {
  const r = ctx.profile[stage];
  if (r.warmupEpochs <= r.epochs) return;
  if (ctx.recipeSet?.has(`${stage}.warmupEpochs`)) {
    throw new UsageError(`--warmup-epochs ${r.warmupEpochs} exceeds the ${r.epochs} epochs`);
  }
  const base = PROFILES[ctx.profile.name]?.[stage] ?? r;
  const share = Math.min(1, base.warmupEpochs / base.epochs);
  const capped = Math.min(r.epochs, Math.round(share * r.epochs * 100) / 100);
  recipeNote(
    ctx,
    stage,
    `${stage} warm-up ${r.warmupEpochs} → ${capped} epochs: the profile's ${
      Math.round(share * 1000) / 10
    } % of the ${r.epochs} epochs asked for (--warmup-epochs sets it)`,
  );
  r.warmupEpochs = capped;
}

/** Says a recipe adaptation in one line and keeps it for the run's metrics (`recipeNotes`). */
export function recipeNote(ctx: RunContext, stage: string, line: string): void {
  ctx.log(line);
  ((ctx.recipeNotes ??= {})[stage] ??= []).push(line);
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
export function teacherFlags(
  values: Values,
  ctx: RunContext,
): import("../experiments/strategy_request.ts").TeacherChoice & {
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
 * Which strategies each strategy flag changes, from the strategy registry's entries (`flags`): flags that
 * change the same strategies form one group.
 */
export function strategyFlagScopes(): { flags: string[]; strategies: string[] }[] {
  const byFlag = new Map<string, string[]>();
  for (const e of STRATEGY_REGISTRY) {
    for (const f of e.flags) byFlag.set(f, [...(byFlag.get(f) ?? []), e.name]);
  }
  const groups = new Map<string, { flags: string[]; strategies: string[] }>();
  for (const [flag, strategies] of byFlag) {
    const key = strategies.join(",");
    const g = groups.get(key);
    if (g) g.flags.push(flag);
    else groups.set(key, { flags: [flag], strategies });
  }
  return [...groups.values()];
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
export function strategyRequest(
  values: Values,
  ctx: RunContext,
): import("../experiments/strategy_request.ts").StrategyRequest {
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
