/**
 * Composes runs from a profile: data loading (memoised), pre-training with a named strategy, fine-tuning and
 * linear probing on top, all through the run cache. The CLI and every table task go through here.
 * @module
 */
import { RunCache } from "../lib/cache/mod.ts";
import { UsageError } from "../lib/cli.ts";
import { datasetFingerprint, loadDataset } from "../lib/data/mod.ts";
import type { ImageSplit } from "../lib/data/types.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import type { MaskStrategy } from "../lib/masking/types.ts";
import { buildClassifier, finetune, finetuneIdentity, type FinetuneOutcome } from "../lib/train/finetune.ts";
import { linprobe, linprobeIdentity, type LinprobeOutcome } from "../lib/train/linprobe.ts";
import type { PretrainExtension } from "../lib/train/extension.ts";
import { knnOfEncoder, pretrain, type PretrainOutcome } from "../lib/train/pretrain.ts";
import type { PretrainSpec, ProgressUnit } from "../lib/train/pretrain_spec.ts";
import type { RunEnv } from "../lib/train/run_env.ts";
import type { Profile } from "../experiments/profiles.ts";
import type { Params } from "../lib/vit.ts";

/** Where and how runs execute. */
export interface RunContext {
  profile: Profile;
  cacheDir: string;
  dataDir?: string;
  /** The image folder given by `--data-path` (or `--data-dir` with that layout); the profile's dataset then. */
  dataPath?: string;
  backend: string;
  log: (line: string) => void;
  stopSignal: { stopped: boolean };
  progress?: boolean;
  /** Seconds between progress lines inside an epoch without a bar (default 10; 0: every step). */
  progressEvery?: number;
  /** Recipe fields the person set (`pretrain.batchSize`, …): never adapted to the data, only checked. */
  recipeSet?: Set<string>;
  /** Per stage, the lines that said how its recipe was adapted (recorded in the run's metrics). */
  recipeNotes?: Record<string, string[]>;
  /** Test-only: replaces the loss at a global step (NaN injection). */
  lossHook?: (globalStep: number, loss: number) => number;
}

const dataMemo = new Map<string, Promise<{ train: ImageSplit; val: ImageSplit }>>();

/** The profile's dataset (decoded once per process, cached on disk by the data layer). */
export function profileData(ctx: RunContext): Promise<{ train: ImageSplit; val: ImageSplit }> {
  const key = JSON.stringify([ctx.profile.dataset, ctx.cacheDir, ctx.dataDir]);
  let p = dataMemo.get(key);
  if (!p) {
    p = loadDataset(ctx.profile.dataset, {
      ...dataOptions(ctx),
      download: { enabled: Deno.env.get("GPA_OFFLINE") !== "1", mirror: Deno.env.get("GPA_DATASET_MIRROR") },
    });
    dataMemo.set(key, p);
    p.catch(() => dataMemo.delete(key));
  }
  return p;
}

function dataOptions(ctx: RunContext) {
  return { cacheDir: ctx.cacheDir, dataDir: ctx.dataDir, log: ctx.log };
}

/**
 * The fingerprint the profile's data will have, read from its source without decoding it (for `plan`);
 * undefined for generated data or when the source is not there yet.
 */
export function profileFingerprint(ctx: RunContext): Promise<string | undefined> {
  return datasetFingerprint(ctx.profile.dataset, dataOptions(ctx));
}

/** The run cache of a context. */
export function runCache(ctx: RunContext): RunCache {
  return new RunCache(ctx.cacheDir, { warn: (m) => ctx.log(`warning: ${m}`) });
}

/** What a pre-training run uses besides the profile. */
export interface PretrainChoice {
  seed: number;
  /** A built strategy, or a registry name with options. */
  strategy: MaskStrategy | { name: string; options?: Record<string, unknown> };
  extensions?: PretrainExtension[];
  dependsOn?: Record<string, unknown>;
  progressUnit?: ProgressUnit;
  /** Epochs instead of the profile's (e.g. a teacher trained longer than the runs it guides). */
  epochs?: number;
  /** The model gets UM-MAE's `vis_mask_token` (`MaeConfig.visMaskToken`) for a strategy's secondary mask. */
  visMaskToken?: boolean;
}

/** The spec of a pre-training run in a context. */
export function pretrainSpec(ctx: RunContext, choice: PretrainChoice, data?: string): PretrainSpec {
  const p = ctx.profile;
  const strategy = "generate" in choice.strategy
    ? choice.strategy
    : createMaskStrategy(choice.strategy.name, {
      maskRatio: p.pretrain.maskRatio,
      ...choice.strategy.options,
    });
  return {
    profile: p.name,
    dataset: p.dataset,
    // Only a run that asks gets the key, so every other run's model (and identity) is the profile's as is.
    model: choice.visMaskToken ? { ...p.model, visMaskToken: true } : p.model,
    recipe: choice.epochs === undefined ? p.pretrain : { ...p.pretrain, epochs: choice.epochs },
    seed: choice.seed,
    strategy,
    extensions: choice.extensions,
    dependsOn: choice.dependsOn,
    progressUnit: choice.progressUnit,
    ...(data ? { data } : {}),
  };
}

/**
 * A batch larger than the training set leaves no step to take. Asked for (`--batch-size`): a usage error,
 * reported before any run directory is made. A profile's default: adapted to the data — the largest power of
 * two with at least 4 steps per epoch —, said in one line and recorded with the run (`recipeNotes`).
 */
function fitBatch(ctx: RunContext, stage: "pretrain" | "finetune" | "linprobe", train: ImageSplit): void {
  const r = ctx.profile[stage];
  const label = { pretrain: "pre-training", finetune: "fine-tuning", linprobe: "linear-probing" }[stage];
  if (r.batchSize <= train.count) return;
  if (ctx.recipeSet?.has(`${stage}.batchSize`)) {
    throw new UsageError(
      `${label} batch size ${r.batchSize} exceeds the ${train.count} training images of ${train.name}`,
    );
  }
  const capped = 2 ** Math.floor(Math.log2(Math.max(1, train.count / 4)));
  const line = `${label} batch size ${r.batchSize} → ${capped}: ${train.name} has ${train.count} training ` +
    `images (${Math.floor(train.count / capped)} steps per epoch; --batch-size sets it)`;
  ctx.log(line);
  ((ctx.recipeNotes ??= {})[stage] ??= []).push(line);
  r.batchSize = capped;
}

/** The recipe notes of a stage, for its run's metrics. */
function notesOf(ctx: RunContext, stage: string): { notes?: string[] } {
  const n = ctx.recipeNotes?.[stage];
  return n && n.length > 0 ? { notes: [...n] } : {};
}

/** Pre-trains (or loads) a run. */
export async function ensurePretrain(ctx: RunContext, choice: PretrainChoice): Promise<PretrainOutcome> {
  const { train, val } = await profileData(ctx);
  fitBatch(ctx, "pretrain", train);
  return pretrain(pretrainSpec(ctx, choice, train.fingerprint), train, {
    ...runEnv(ctx, "pretrain"),
    knnData: { train, val },
    onlineProbe: true,
  });
}

/** The run environment (cache, logging, interruption, test hooks) of a context. */
export function runEnv(ctx: RunContext, stage?: string): RunEnv {
  return {
    cache: runCache(ctx),
    log: ctx.log,
    stopSignal: ctx.stopSignal,
    lossHook: ctx.lossHook,
    progress: ctx.progress,
    progressEvery: ctx.progressEvery,
    ...(stage ? notesOf(ctx, stage) : {}),
  };
}

/** An encoder to evaluate: a pre-training outcome, or any weights with the identity their runs name. */
export type EncoderRef = { hash: string; params: Params };

/** The spec fields every downstream run of a context shares: profile, data, model, seed, encoder, data source. */
function downstreamSpecOf(
  ctx: RunContext,
  from: string | null,
  seed: number,
  fingerprint: string | undefined,
) {
  const p = ctx.profile;
  return {
    profile: p.name,
    dataset: p.dataset,
    model: p.model,
    seed,
    from,
    ...(fingerprint ? { data: fingerprint } : {}),
  };
}

type DownstreamSpec = Awaited<ReturnType<typeof downstreamSpec>>;

async function downstreamSpec(ctx: RunContext, from: EncoderRef | null, seed: number) {
  const data = await profileData(ctx);
  return { spec: downstreamSpecOf(ctx, from?.hash ?? null, seed, data.train.fingerprint), data };
}

/**
 * The run identity of a unit's fine-tuning or linear probe of the pre-training run `from` (null: random
 * init), from the data's fingerprint alone — what `plan` checks without loading data or weights.
 */
export function evaluationIdentity(
  ctx: RunContext,
  evaluation: "finetune" | "linprobe",
  from: string | null,
  seed: number,
  fingerprint: string | undefined,
): Record<string, unknown> {
  const spec = downstreamSpecOf(ctx, from, seed, fingerprint);
  return evaluation === "finetune"
    ? finetuneIdentity({ ...spec, recipe: ctx.profile.finetune })
    : linprobeIdentity({ ...spec, recipe: ctx.profile.linprobe });
}

/** Fine-tunes the encoder of a pre-training outcome (or a random init when `from` is null). */
export function ensureFinetune(
  ctx: RunContext,
  from: EncoderRef | null,
  seed: number,
): Promise<FinetuneOutcome> {
  return ensureDownstream(
    ctx,
    from,
    seed,
    "finetune",
    (spec, ...rest) => finetune({ ...spec, recipe: ctx.profile.finetune }, ...rest),
  );
}

/** Linear-probes the encoder of a pre-training outcome (or a random init). */
export function ensureLinprobe(
  ctx: RunContext,
  from: EncoderRef | null,
  seed: number,
): Promise<LinprobeOutcome> {
  return ensureDownstream(
    ctx,
    from,
    seed,
    "linprobe",
    (spec, ...rest) => linprobe({ ...spec, recipe: ctx.profile.linprobe }, ...rest),
  );
}

/** A downstream run of `from`'s encoder: its spec and data, the batch checked against the split, the run. */
async function ensureDownstream<O>(
  ctx: RunContext,
  from: EncoderRef | null,
  seed: number,
  kind: "finetune" | "linprobe",
  run: (
    spec: DownstreamSpec["spec"],
    encoder: Params | null,
    data: DownstreamSpec["data"],
    env: RunEnv,
  ) => Promise<O>,
): Promise<O> {
  const { spec, data } = await downstreamSpec(ctx, from, seed);
  fitBatch(ctx, kind, data.train);
  return await run(spec, from?.params ?? null, data, runEnv(ctx, kind));
}

const randomKnnMemo = new Map<string, Promise<number>>();

/**
 * k-NN top-1 of a randomly initialised encoder at `seed` (the floor of a k-NN column; one forward pass over
 * the data, not cached on disk, memoised per process).
 */
export function randomInitKnn(ctx: RunContext, seed: number): Promise<number> {
  const key = JSON.stringify([ctx.profile.name, ctx.profile.model, ctx.cacheDir, ctx.dataDir, seed]);
  let p = randomKnnMemo.get(key);
  if (!p) {
    p = (async () => {
      const data = await profileData(ctx);
      const params = buildClassifier(ctx.profile.model, data.train.numClasses, seed);
      try {
        return (await knnOfEncoder(params, ctx.profile.model, data)).knnTop1;
      } finally {
        for (const v of params.values()) v.dispose();
      }
    })();
    randomKnnMemo.set(key, p);
    p.catch(() => randomKnnMemo.delete(key));
  }
  return p;
}

export type { StrategyRequest, TeacherChoice } from "../experiments/strategy_request.ts";

/** A feature the suite does not have (yet); reports say so instead of inventing numbers. */
export class NotImplementedError extends Error {
  override name = "NotImplementedError";
}
