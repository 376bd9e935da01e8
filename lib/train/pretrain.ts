/**
 * MAE pre-training with any mask strategy and optional loss extensions (MAM, HPM), cached by run hash: the
 * model built from a spec, the training loop around the step, and the end-of-run k-NN evaluation. The parts
 * live beside it: `pretrain_spec.ts` (the spec and its hash), `pretrain_step.ts` (one step),
 * `micro_batch.ts` (gradient accumulation) and `run_env.ts` (the run's environment). Resuming bit-identically
 * depends on the step, the loop's checkpoint state (`loop.ts`) and the resume path agreeing.
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import { engineLabel } from "../backend.ts";
import type { RunDir } from "../cache/mod.ts";
import { randomResizedCropFlip } from "../data/augment.ts";
import { knnEvaluate } from "../eval/knn.ts";
import { OnlineProbe } from "./online_probe.ts";
import type { ImageSplit } from "../data/types.ts";
import { initMae, type MaeConfig } from "../mae.ts";
import { Rng } from "../rng.ts";
import { gridOf, type Params } from "../vit.ts";
import { absoluteLr, AdamW, CODE_PRETRAIN_NO_DECAY, cosineLr } from "./optim.ts";
import { cachedRun, UnusableRunError } from "./cached_run.ts";
import type { NamedTensors } from "../safetensors.ts";
import {
  epochRecords,
  loadNamedInto,
  namedTensorsOf,
  type StepContext,
  type StepMetrics,
  trainLoop,
  type TrainResult,
  WeightsMismatchError,
} from "./loop.ts";
import { pretrainIdentity, type PretrainSpec, trainingProgress } from "./pretrain_spec.ts";
import { makePretrainStep } from "./pretrain_step.ts";
import { loopEnv, notesField, type RunEnv } from "./run_env.ts";

/** Result of `pretrain`. */
export interface PretrainOutcome {
  hash: string;
  params: Params;
  metrics: Record<string, unknown>;
  cacheHit: boolean;
  history: Record<string, number>[];
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
  const params = buildPretrainModel(spec);
  return await cachedRun<Omit<PretrainOutcome, "hash" | "cacheHit">>({
    kind: "pretrain",
    identity: pretrainIdentity(spec),
    cache: env.cache,
    stopSignal: env.stopSignal,
    log,
    fromFinal: async (final, run) => {
      loadInto(final.tensors, params);
      return { params, metrics: final.metrics, history: await epochHistory(run) };
    },
    train: async (run, heartbeat) => {
      log(
        `pretrain ${run.hash}: ${spec.strategy.name} on ${train.name}, ${spec.recipe.epochs} epochs, seed ${spec.seed}`,
      );
      const result = await runPretrainLoop(spec, train, params, run, { ...env, heartbeat });
      const knn = env.knnData ? await knnOfEncoder(params, spec.model, env.knnData) : {};
      if (env.knnData) {
        log(`pretrain ${run.hash}: k-NN top-1 ${(knn as { knnTop1: number }).knnTop1.toFixed(2)}%`);
      }
      const metrics = {
        ...result.final,
        ...knn,
        wallSeconds: result.wallSeconds,
        resumedFrom: result.resumedFrom,
        strategy: spec.strategy.describe(),
        engine: engineLabel(), // what finished the run (backend; on wasm, the matMul engine)
        extensions: (spec.extensions ?? []).map((e) => e.describe()),
        ...notesField(env),
      };
      await run.saveFinal(await namedTensorsOf(params), metrics);
      return { params, metrics, history: result.history };
    },
  });
}

/** Loads stored weights into a model; weights that do not fit make the stored run unusable (recomputed). */
export function loadInto(named: NamedTensors, params: Params): void {
  try {
    loadNamedInto(named, params);
  } catch (e) {
    if (e instanceof WeightsMismatchError) {
      throw new UnusableRunError(`final weights do not fit the model: ${e.message}`);
    }
    throw e;
  }
}

async function epochHistory(run: { readLog(): Promise<Record<string, unknown>[]> }) {
  return epochRecords(await run.readLog());
}

async function runPretrainLoop(
  spec: PretrainSpec,
  train: ImageSplit,
  params: Params,
  run: RunDir,
  env: RunEnv,
): Promise<TrainResult> {
  const { recipe, model: cfg } = spec;
  const probe = env.onlineProbe && env.knnData
    ? new OnlineProbe(cfg.dim, env.knnData.train.numClasses)
    : undefined;
  const exts = [...(spec.extensions ?? []), ...(probe ? [probe] : [])];
  const lr = absoluteLr(recipe.blr, recipe.batchSize);
  const optimizer = new AdamW(params, {
    weightDecay: recipe.weightDecay,
    beta2: 0.95,
    clipNorm: recipe.clipGrad,
    ...(recipe.decayTokens ? { noDecayNames: CODE_PRETRAIN_NO_DECAY } : {}),
  });
  const extra = new Map<string, tf.Variable>();
  for (const e of exts) for (const [n, v] of e.state?.() ?? []) extra.set(n, v);
  const grid = gridOf(cfg);
  const stepsPerEpoch = Math.floor(train.count / recipe.batchSize);

  const step = makePretrainStep({
    cfg,
    params,
    optimizer,
    strategy: spec.strategy,
    extensions: exts,
    lr: (epochFloat) =>
      cosineLr(epochFloat, {
        lr,
        minLr: recipe.minLr,
        warmupEpochs: recipe.warmupEpochs,
        epochs: recipe.epochs,
      }),
  });
  const loopStep = (ctx: StepContext): Promise<StepMetrics> => {
    const progress = trainingProgress(
      spec.progressUnit ?? "step",
      ctx.epoch,
      ctx.stepInEpoch,
      stepsPerEpoch,
      recipe.epochs,
    );
    const { images, crops } = randomResizedCropFlip(
      train,
      ctx.batchIndices,
      cfg.imageSize,
      ctx.rng.fork("aug"),
      {
        scale: recipe.cropScale,
      },
    );
    return step({
      images,
      batch: ctx.batchIndices.length,
      progress,
      epoch: ctx.epoch,
      epochFloat: ctx.epochFloat,
      step: ctx.globalStep,
      rng: ctx.rng,
      grid,
      labels: Int32Array.from(ctx.batchIndices, (i) => train.labels[i]),
      sampleIds: ctx.batchIndices,
      crops,
    });
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
    step: loopStep,
    ...loopEnv(env),
    evaluate: probe
      ? async () => ({ probeTop1: await probe.evaluate(params, cfg, env.knnData!.val) })
      : undefined,
  });
}

/**
 * k-NN top-1 (k = 20, T = 0.07, cosine, DINO's rule) of an encoder's CLS features: the train split is the
 * memory bank, the val split the queries. A cheap, optimisation-free signal of representation quality.
 */
export async function knnOfEncoder(
  params: Params,
  cfg: MaeConfig,
  data: { train: ImageSplit; val: ImageSplit },
): Promise<{ knnTop1: number; knnTop5: number; knnPooling: string }> {
  const r = await knnEvaluate(params, cfg, data.train, data.val, {
    pooling: "cls",
    k: 20,
    temperature: 0.07,
  });
  return { knnTop1: r.top1, knnTop5: r.top5, knnPooling: "cls" };
}
