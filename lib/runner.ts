/**
 * Composes runs from a profile: data loading (memoised), pre-training with a named strategy, fine-tuning and
 * linear probing on top, all through the run cache. The CLI and every table task go through here.
 * @module
 */
import { RunCache } from "./checkpoint.ts";
import { loadDataset } from "./data/mod.ts";
import type { ImageSplit } from "./data/types.ts";
import { createMaskStrategy } from "./masking/mod.ts";
import type { MaskStrategy } from "./masking/types.ts";
import { finetune, type FinetuneOutcome } from "./train/finetune.ts";
import { linprobe, type LinprobeOutcome } from "./train/linprobe.ts";
import { pretrain, type PretrainExtension, type PretrainOutcome, type PretrainSpec } from "./train/pretrain.ts";
import type { Profile } from "../experiments/profiles.ts";

/** Where and how runs execute. */
export interface RunContext {
  profile: Profile;
  cacheDir: string;
  dataDir?: string;
  backend: string;
  log: (line: string) => void;
  stopSignal: { stopped: boolean };
  progress?: boolean;
  /** Test-only: replaces the loss at a global step (NaN injection). */
  lossHook?: (globalStep: number, loss: number) => number;
}

const dataMemo = new Map<string, Promise<{ train: ImageSplit; val: ImageSplit }>>();

/** The profile's dataset (decoded once per process, cached on disk by the data layer). */
export function profileData(ctx: RunContext): Promise<{ train: ImageSplit; val: ImageSplit }> {
  const key = JSON.stringify([ctx.profile.dataset, ctx.cacheDir, ctx.dataDir]);
  let p = dataMemo.get(key);
  if (!p) {
    p = loadDataset(ctx.profile.dataset, { cacheDir: ctx.cacheDir, dataDir: ctx.dataDir, log: ctx.log });
    dataMemo.set(key, p);
    p.catch(() => dataMemo.delete(key));
  }
  return p;
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
  progressUnit?: "epoch" | "iteration";
}

/** The spec of a pre-training run in a context. */
export function pretrainSpec(ctx: RunContext, choice: PretrainChoice): PretrainSpec {
  const p = ctx.profile;
  const strategy = "generate" in choice.strategy
    ? choice.strategy
    : createMaskStrategy(choice.strategy.name, { maskRatio: p.pretrain.maskRatio, ...choice.strategy.options });
  return {
    profile: p.name,
    dataset: p.dataset,
    model: p.model,
    recipe: p.pretrain,
    seed: choice.seed,
    strategy,
    extensions: choice.extensions,
    dependsOn: choice.dependsOn,
    progressUnit: choice.progressUnit,
  };
}

/** Pre-trains (or loads) a run. */
export async function ensurePretrain(ctx: RunContext, choice: PretrainChoice): Promise<PretrainOutcome> {
  const { train } = await profileData(ctx);
  return pretrain(pretrainSpec(ctx, choice), train, {
    cache: runCache(ctx),
    log: ctx.log,
    stopSignal: ctx.stopSignal,
    lossHook: ctx.lossHook,
    progress: ctx.progress,
  });
}

/** Fine-tunes the encoder of a pre-training outcome (or a random init when `from` is null). */
export async function ensureFinetune(
  ctx: RunContext,
  from: PretrainOutcome | null,
  seed: number,
): Promise<FinetuneOutcome> {
  const data = await profileData(ctx);
  const p = ctx.profile;
  return finetune(
    { profile: p.name, dataset: p.dataset, model: p.model, recipe: p.finetune, seed, from: from?.hash ?? null },
    from?.params ?? null,
    data,
    { cache: runCache(ctx), log: ctx.log, stopSignal: ctx.stopSignal, lossHook: ctx.lossHook, progress: ctx.progress },
  );
}

/** Linear-probes the encoder of a pre-training outcome (or a random init). */
export async function ensureLinprobe(
  ctx: RunContext,
  from: PretrainOutcome | null,
  seed: number,
): Promise<LinprobeOutcome> {
  const data = await profileData(ctx);
  const p = ctx.profile;
  return linprobe(
    { profile: p.name, dataset: p.dataset, model: p.model, recipe: p.linprobe, seed, from: from?.hash ?? null },
    from?.params ?? null,
    data,
    { cache: runCache(ctx), log: ctx.log, stopSignal: ctx.stopSignal, lossHook: ctx.lossHook, progress: ctx.progress },
  );
}
