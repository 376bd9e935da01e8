/**
 * MAE pre-training with any mask strategy and optional loss extensions (MAM, HPM), cached by run hash.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { RunCache } from "../checkpoint.ts";
import { runHash } from "../checkpoint.ts";
import { randomResizedCropFlip } from "../data/augment.ts";
import type { DatasetSpec, ImageSplit } from "../data/types.ts";
import {
  decoderInput,
  decoderStack,
  forwardEncoder,
  forwardLoss,
  initMae,
  type MaeBatch,
  type MaeConfig,
  prepareMaeBatch,
} from "../mae.ts";
import type { MaskBatch, MaskStrategy } from "../masking/types.ts";
import { Rng } from "../rng.ts";
import { gridOf, type Params } from "../vit.ts";
import { AdamW, absoluteLr, cosineLr } from "./optim.ts";
import { loadNamedInto, type StepContext, trainLoop, type TrainResult } from "./loop.ts";
import type { PretrainRecipe } from "../../experiments/profiles.ts";

/** Version of the model/checkpoint format; part of every run's identity. */
export const MODEL_FORMAT_VERSION = 1;

/** What an extension's loss sees inside the gradient tape. */
export interface ExtensionLossArgs {
  params: Params;
  cfg: MaeConfig;
  mb: MaeBatch;
  mask: MaskBatch;
  /** Encoder output `[B·(1+Lk), D]`. */
  latent: tf.Tensor2D;
  /** Shared decoder input `[B·(1+L), Dd]`. */
  decoderIn: tf.Tensor2D;
  /** Per-pixel-decoder loss of this step. */
  pixelLoss: tf.Scalar;
  progress: number;
}

/** A pre-training add-on: extra parameters, an extra loss term, per-step state updates. */
export interface PretrainExtension {
  readonly name: string;
  /** Adds trainable parameters (e.g. a second decoder). */
  initParams?(params: Params, cfg: MaeConfig, rng: Rng): void;
  /** Extra loss terms (summed into the objective) and scalar diagnostics. */
  loss?(args: ExtensionLossArgs): { loss: tf.Scalar; metrics?: Record<string, tf.Scalar> };
  /** After the optimiser step (e.g. EMA teacher update). */
  afterStep?(params: Params, progress: number): void;
  /** Non-trainable state to checkpoint. */
  state?(): Map<string, tf.Variable>;
  /** Identity and metadata. */
  describe(): Record<string, unknown>;
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
  /** Schedules see t/T per epoch (authors' code) or per iteration. */
  progressUnit?: "epoch" | "iteration";
  /** Identity of anything else the run depends on (e.g. the teacher run's hash). */
  dependsOn?: Record<string, unknown>;
}

/** The run's identity: everything that changes its result. */
export function pretrainIdentity(spec: PretrainSpec): Record<string, unknown> {
  return {
    kind: "pretrain",
    formatVersion: MODEL_FORMAT_VERSION,
    profile: spec.profile,
    dataset: spec.dataset,
    model: spec.model,
    recipe: spec.recipe,
    seed: spec.seed,
    strategy: spec.strategy.describe(),
    extensions: (spec.extensions ?? []).map((e) => e.describe()),
    progressUnit: spec.progressUnit ?? "epoch",
    dependsOn: spec.dependsOn ?? {},
  };
}

/** Hash of a pre-training spec. */
export function pretrainHash(spec: PretrainSpec): string {
  return runHash(pretrainIdentity(spec));
}

/** Result of `pretrain`. */
export interface PretrainOutcome {
  hash: string;
  params: Params;
  metrics: Record<string, unknown>;
  cacheHit: boolean;
  history: Record<string, number>[];
}

/** Environment of a run. */
export interface RunEnv {
  cache: RunCache;
  log?: (line: string) => void;
  stopSignal?: { stopped: boolean };
  lossHook?: (globalStep: number, loss: number) => number;
  progress?: boolean;
}

/** Builds the model (plus extension parameters) for a spec, initialised from its seed. */
export function buildPretrainModel(spec: PretrainSpec): Params {
  const rng = new Rng(spec.seed).fork("init");
  const params = initMae(spec.model, rng);
  for (const ext of spec.extensions ?? []) ext.initParams?.(params, spec.model, rng.fork(ext.name));
  return params;
}

/** Pre-trains (or loads from the cache) one run. */
export async function pretrain(spec: PretrainSpec, train: ImageSplit, env: RunEnv): Promise<PretrainOutcome> {
  const log = env.log ?? ((l: string) => console.error(l));
  const identity = pretrainIdentity(spec);
  const hash = runHash(identity);
  const run = env.cache.runDir(hash);
  const params = buildPretrainModel(spec);
  const cached = await run.loadFinal();
  if (cached) {
    loadNamedInto(cached.tensors, params);
    log(`pretrain ${hash}: cache hit`);
    return { hash, params, metrics: cached.metrics, cacheHit: true, history: await epochHistory(run) };
  }
  const lock = await run.acquireLock({ wait: true });
  try {
    // Another process may have finished it while we waited for the lock.
    const done = await run.loadFinal();
    if (done) {
      loadNamedInto(done.tensors, params);
      return { hash, params, metrics: done.metrics, cacheHit: true, history: await epochHistory(run) };
    }
    await run.writeConfig(identity);
    log(`pretrain ${hash}: ${spec.strategy.name} on ${train.name}, ${spec.recipe.epochs} epochs, seed ${spec.seed}`);
    const result = await runPretrainLoop(spec, train, params, run, env);
    const metrics = {
      ...result.final,
      wallSeconds: result.wallSeconds,
      resumedFrom: result.resumedFrom,
      strategy: spec.strategy.describe(),
      extensions: (spec.extensions ?? []).map((e) => e.describe()),
    };
    const named: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [n, v] of params) named[n] = { shape: v.shape.slice(), data: v.dataSync() as Float32Array };
    await run.saveFinal(named, metrics);
    return { hash, params, metrics, cacheHit: false, history: result.history };
  } finally {
    await lock.release();
  }
}

async function epochHistory(run: { readLog(): Promise<Record<string, unknown>[]> }) {
  return (await run.readLog()).filter((r) => r.type === "epoch") as Record<string, number>[];
}

async function runPretrainLoop(
  spec: PretrainSpec,
  train: ImageSplit,
  params: Params,
  run: import("../checkpoint.ts").RunDir,
  env: RunEnv,
): Promise<TrainResult> {
  const { recipe, model: cfg } = spec;
  const exts = spec.extensions ?? [];
  const lr = absoluteLr(recipe.blr, recipe.batchSize);
  const optimizer = new AdamW(params, { weightDecay: recipe.weightDecay, beta2: 0.95, clipNorm: recipe.clipGrad });
  const vars = [...params.values()];
  const byVarName = new Map<string, string>();
  for (const [n, v] of params) byVarName.set(v.name, n);
  const extra = new Map<string, tf.Variable>();
  for (const e of exts) for (const [n, v] of e.state?.() ?? []) extra.set(n, v);
  const grid = gridOf(cfg);
  const stepsPerEpoch = Math.floor(train.count / recipe.batchSize);

  const step = async (ctx: StepContext): Promise<Record<string, number>> => {
    const progress = (spec.progressUnit ?? "epoch") === "epoch"
      ? ctx.epoch / recipe.epochs
      : (ctx.epoch * stepsPerEpoch + ctx.stepInEpoch) / (recipe.epochs * stepsPerEpoch);
    const { images } = randomResizedCropFlip(train, ctx.batchIndices, cfg.imageSize, ctx.rng.fork("aug"), {
      scale: recipe.cropScale,
    });
    const B = ctx.batchIndices.length;
    const imagesTensor = spec.strategy.needsImages
      ? tf.tensor4d(images, [B, cfg.imageSize, cfg.imageSize, 3])
      : undefined;
    const mask = await spec.strategy.generate({
      batchSize: B,
      grid: { rows: grid.rows, cols: grid.cols },
      progress,
      epoch: ctx.epoch,
      step: ctx.globalStep,
      rng: ctx.rng.fork("mask"),
      images: imagesTensor,
    });
    imagesTensor?.dispose();
    const mb = prepareMaeBatch(cfg, images, mask);
    const extraMetrics: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.variableGrads(() => {
      const latent = forwardEncoder(params, cfg, mb);
      const decoderIn = decoderInput(params, cfg, latent, mb);
      const pixelLoss = forwardLoss(decoderStack(params, cfg, "decoder", decoderIn, mb, "masked"), mb.target);
      let total: tf.Scalar = pixelLoss;
      extraMetrics.pixelLoss = tf.keep(pixelLoss.clone());
      for (const e of exts) {
        if (!e.loss) continue;
        const out = e.loss({ params, cfg, mb, mask, latent, decoderIn, pixelLoss, progress });
        total = tf.add(total, out.loss);
        for (const [k, v] of Object.entries(out.metrics ?? {})) extraMetrics[k] = tf.keep(v.clone());
      }
      return total;
    }, vars);
    const named = new Map<string, tf.Tensor>();
    for (const [vn, g] of Object.entries(grads)) named.set(byVarName.get(vn) ?? vn, g);
    const lrNow = cosineLr(ctx.epochFloat, { lr, minLr: recipe.minLr, warmupEpochs: recipe.warmupEpochs, epochs: recipe.epochs });
    const loss = (await value.data())[0];
    if (Number.isFinite(loss)) optimizer.apply(named, lrNow);
    for (const e of exts) e.afterStep?.(params, progress);
    const metrics: Record<string, number> = { loss, lr: lrNow };
    for (const [k, v] of Object.entries(extraMetrics)) {
      metrics[k] = (await v.data())[0];
      v.dispose();
    }
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    mb.dispose();
    return metrics;
  };

  return await trainLoop({
    run,
    params,
    extra,
    optimizer,
    epochs: recipe.epochs,
    datasetSize: train.count,
    batchSize: recipe.batchSize,
    seed: spec.seed,
    step,
    log: env.log,
    progress: env.progress,
    stopSignal: env.stopSignal,
    lossHook: env.lossHook,
  });
}
