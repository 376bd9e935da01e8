/**
 * The strategy registry: one entry per pre-training masking strategy — its name, what it is, whether it needs
 * the profile's teacher, which strategy flags change it, the throughput it is estimated at, and how a request
 * for it becomes a pre-training choice. The CLI (`--strategy`, `--help`, flag checks), `plan`, the tables and
 * the estimates all read this list; a new strategy is its masking module (lib/masking/), one entry here, and
 * its tests.
 * @module
 */
import { createMaskStrategy } from "../lib/masking/mod.ts";
import type { MaskContext } from "../lib/masking/types.ts";
import { GpaMapCache, gpaStrategy } from "../lib/gpa.ts";
import { MaskedAttentionModeling } from "../lib/mam.ts";
import { HardPatchesMining } from "../lib/hpm.ts";
import type { PretrainExtension } from "../lib/train/extension.ts";
import type { StrategyRequest } from "../experiments/strategy_request.ts";
import { type ControlStrategy, controlStrategy } from "./controls.ts";
import { type PretrainChoice, profileData, type RunContext } from "./runner.ts";
import { ensureTeacher } from "./teacher.ts";

/** The strategy flags of `pretrain` (and of commands that pre-train first), as the CLI names them. */
export type StrategyFlag =
  | "teacher-weights"
  | "teacher-epochs"
  | "teacher-head"
  | "gpa-variant"
  | "soft"
  | "hard"
  | "clip-soft"
  | "overlap"
  | "rounding"
  | "gpa-maps"
  | "mam"
  | "mam-loss-on"
  | "mam-active-from";

/** One registered strategy. */
export interface StrategyEntry {
  readonly name: string;
  /** What it is, in a few words (help). */
  readonly summary: string;
  /** Its masks come from the profile's teacher: the teacher must be there before any of its runs. */
  readonly needsTeacher: boolean;
  /** The strategy flags that change it; any other strategy flag given with it is a usage error. */
  readonly flags: readonly StrategyFlag[];
  /** Key of its measured pre-training speed in a profile's `throughput.pretrain` ("+mam" added for MAM). */
  readonly throughputKey: string;
  /** The pre-training choice of a request: its mask strategy (teacher resolved), extensions, identity. */
  resolve(ctx: RunContext, req: StrategyRequest, seed: number): Promise<PretrainChoice>;
}

/** UM-MAE's share of the kept patches replaced by its visible mask token (its `vis_mask_ratio`). */
export const UM_MAE_SECONDARY_RATIO = 0.25;

const TEACHER_FILE: StrategyFlag[] = ["teacher-weights", "teacher-epochs"];
const TEACHER_MAP: StrategyFlag[] = ["teacher-head", "gpa-variant"];
const SHARES: StrategyFlag[] = ["soft", "hard", "clip-soft", "overlap", "rounding"];

const maskRatioOf = (ctx: RunContext, req: StrategyRequest) =>
  req.maskRatio ?? ctx.profile.pretrain.maskRatio;

/** GPA's shares, schedule and rounding of a request (the profile's defaults where it is silent). */
function sharesOf(ctx: RunContext, req: StrategyRequest) {
  return {
    maskRatio: maskRatioOf(ctx, req),
    soft: req.soft ?? ctx.profile.gpa.soft,
    hard: req.hard ?? ctx.profile.gpa.hard,
    overlap: req.overlap ?? ("paper" as const),
    rounding: req.rounding,
    clipSoft: req.clipSoft,
  };
}

/** MAE-style strategies without a teacher: the registry's mask strategy with the ratio. */
function plain(name: "random" | "block", summary: string): StrategyEntry {
  return {
    name,
    summary,
    needsTeacher: false,
    flags: [],
    throughputKey: name,
    resolve: (ctx, req, seed) =>
      Promise.resolve({ seed, strategy: { name, options: { maskRatio: maskRatioOf(ctx, req) } } }),
  };
}

/** A control: GPA's soft-to-hard shares on a map that is not the teacher's view of the image (app/controls.ts). */
function control(name: ControlStrategy, summary: string, needsTeacher: boolean): StrategyEntry {
  return {
    name,
    summary,
    needsTeacher,
    flags: needsTeacher ? [...TEACHER_FILE, ...TEACHER_MAP, ...SHARES] : SHARES,
    // No teacher pass per step: MAE's speed.
    throughputKey: "random",
    async resolve(ctx, req, seed) {
      const { train } = await profileData(ctx);
      const { strategy, dependsOn } = await controlStrategy(name, sharesOf(ctx, req), {
        imageSize: ctx.profile.model.imageSize,
        patchSize: ctx.profile.model.patchSize,
        train,
        cacheDir: ctx.cacheDir,
        teacher: () => ensureTeacher(ctx, req.teacher ?? ctx.profile.gpa.teacher),
      });
      return { seed, strategy, ...(dependsOn ? { dependsOn } : {}) };
    },
  };
}

/** Every strategy, in the order help lists them. */
export const STRATEGY_REGISTRY: readonly StrategyEntry[] = [
  plain("random", "MAE's random masking"),
  plain("block", "BEiT's block-wise masking"),
  {
    name: "uniform",
    summary: "UM-MAE's uniform sampling (+ secondary masking where a row asks)",
    needsTeacher: false,
    flags: [],
    throughputKey: "uniform",
    resolve: (_ctx, req, seed) =>
      // Without secondary masking no secondary mask is drawn (ratio 0) and the model has no token: plain
      // uniform sampling, whose identity stays what it was before the token existed.
      Promise.resolve(
        req.secondaryMasking
          ? {
            seed,
            strategy: { name: "uniform", options: { secondaryMaskRatio: UM_MAE_SECONDARY_RATIO } },
            visMaskToken: true,
          }
          : { seed, strategy: { name: "uniform", options: { secondaryMaskRatio: 0 } } },
      ),
  },
  {
    name: "gpa",
    summary: "GPA's soft-to-hard masking from the teacher's map of each view (+ MAM)",
    needsTeacher: true,
    flags: [...TEACHER_FILE, ...TEACHER_MAP, ...SHARES, "gpa-maps", "mam", "mam-loss-on", "mam-active-from"],
    throughputKey: "gpa",
    async resolve(ctx, req, seed) {
      const teacher = await ensureTeacher(ctx, req.teacher ?? ctx.profile.gpa.teacher);
      const cache = req.maps === "cached"
        ? await GpaMapCache.build(teacher, (await profileData(ctx)).train)
        : undefined;
      const strategy = gpaStrategy(teacher, {
        maps: req.maps,
        cache,
        ...sharesOf(ctx, req),
      });
      const extensions: PretrainExtension[] = [];
      if (req.mam) extensions.push(new MaskedAttentionModeling(req.mam === true ? {} : req.mam));
      return { seed, strategy, extensions, dependsOn: { teacher: teacher.describe() } };
    },
  },
  {
    name: "cls-attention",
    summary: "AMT-style masking by the teacher's CLS attention (last block)",
    needsTeacher: true,
    // The head is always the last block's CLS attention: --teacher-head and --gpa-variant do not apply.
    flags: TEACHER_FILE,
    throughputKey: "cls-attention",
    async resolve(ctx, req, seed) {
      const teacher = await ensureTeacher(ctx, {
        ...(req.teacher ?? ctx.profile.gpa.teacher),
        head: { block: ctx.profile.model.depth - 1, head: -1 },
      });
      const strategy = createMaskStrategy("cls-attention", {
        maskRatio: maskRatioOf(ctx, req),
        variant: req.variant ?? "top",
        attentionProvider: (mctx: MaskContext) => teacher.clsAttention(mctx.imageData!, mctx.batchSize),
      });
      return { seed, strategy, dependsOn: { teacher: { ...teacher.describe(), signal: "cls-attention" } } };
    },
  },
  {
    name: "hpm",
    summary: "HPM's hard patches mining (an EMA teacher's predicted loss)",
    needsTeacher: false,
    flags: [],
    throughputKey: "hpm",
    resolve(ctx, req, seed) {
      // The extension owns the EMA teacher whose predicted losses drive the masks.
      const maskRatio = maskRatioOf(ctx, req);
      const hpm = new HardPatchesMining({ maskRatio });
      return Promise.resolve({ seed, strategy: hpm.strategy(maskRatio), extensions: [hpm] });
    },
  },
  control("centre", "control: GPA's shares on a centre prior (no teacher)", false),
  control("mean-map", "control: GPA's shares on the teacher's mean map over the training images", true),
  control("oracle-box", "control: GPA's shares on the annotated object box (an oracle teacher)", false),
];

/** The registered names, in registry order. */
export const STRATEGY_NAMES: readonly string[] = STRATEGY_REGISTRY.map((e) => e.name);

/** The entry of a strategy; a RangeError listing the valid names for an unknown one. */
export function strategyEntry(name: string): StrategyEntry {
  const entry = STRATEGY_REGISTRY.find((e) => e.name === name);
  if (!entry) throw new RangeError(`unknown strategy '${name}'; valid: ${STRATEGY_NAMES.join(", ")}`);
  return entry;
}

/** Whether a strategy needs the profile's teacher (false for an unknown name). */
export function strategyNeedsTeacher(name: string): boolean {
  return STRATEGY_REGISTRY.find((e) => e.name === name)?.needsTeacher ?? false;
}

/**
 * Resolves a strategy request into a pre-training choice: teacher-guided strategies get their (cached)
 * teacher, and the teacher's identity becomes part of the run's identity.
 */
export async function strategyChoice(
  ctx: RunContext,
  req: StrategyRequest,
  seed: number,
): Promise<PretrainChoice> {
  const choice = await strategyEntry(req.name).resolve(ctx, req, seed);
  return req.progress ? { ...choice, progressUnit: req.progress } : choice;
}
