/**
 * MAE pre-training with any mask strategy and optional loss extensions (MAM, HPM), cached by run hash.
 * The pre-training step, its checkpoint state and its resume path are one file (≈ 500 lines) because resuming
 * bit-identically depends on all three agreeing.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError, engineLabel } from "../backend.ts";
import type { RunCache } from "../cache/mod.ts";
import { runHash } from "../cache/mod.ts";
import { type CropParams, randomResizedCropFlip } from "../data/augment.ts";
import { knnEvaluate } from "../eval/knn.ts";
import { OnlineProbe } from "./online_probe.ts";
import { datasetIdentity, type DatasetSpec, type ImageSplit } from "../data/types.ts";
import { initMae, type MaeConfig, maeForward, prepareMaeBatch } from "../mae.ts";
import type { MaskBatch, MaskStrategy } from "../masking/types.ts";
import { Rng } from "../rng.ts";
import { gridOf, type Params } from "../vit.ts";
import { absoluteLr, AdamW, CODE_PRETRAIN_NO_DECAY, cosineLr } from "./optim.ts";
import { cachedRun, UnusableRunError } from "./cached_run.ts";
import type { NamedTensors } from "../safetensors.ts";
import {
  epochRecords,
  loadNamedInto,
  namedTensorsOf,
  PendingMetrics,
  type StepContext,
  type StepMetrics,
  trainLoop,
  type TrainResult,
  WeightsMismatchError,
} from "./loop.ts";
import type { PretrainRecipe } from "./recipes.ts";
import type { PretrainExtension } from "./extension.ts";
export type { ExtensionLossArgs, PretrainExtension } from "./extension.ts";

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
  /** Seconds between progress lines inside an epoch when there is no bar (default 10; 0: every step). */
  progressEvery?: number;
  heartbeat?: () => Promise<void>;
  /** Splits for the cheap end-of-run k-NN evaluation of the encoder (pre-training only). */
  knnData?: { train: ImageSplit; val: ImageSplit };
  /** Train an online linear probe on the val split's classes alongside pre-training (needs `knnData`). */
  onlineProbe?: boolean;
  /** How the recipe was adapted to the data (one line each), recorded as `recipeNotes` in the metrics. */
  notes?: string[];
}

/**
 * The training loop's options that come from a run's environment: logging, progress, the stop signal, the
 * test-only loss hook and the heartbeat that keeps the run's lock fresh (the run's own, where it has one).
 */
export function loopEnv(env: RunEnv, heartbeat: (() => Promise<void>) | undefined = env.heartbeat) {
  return {
    log: env.log,
    progress: env.progress,
    progressEvery: env.progressEvery,
    stopSignal: env.stopSignal,
    lossHook: env.lossHook,
    heartbeat,
  };
}

/** The `recipeNotes` field of a run's metrics (absent without notes). */
export function notesField(env: { notes?: string[] }): { recipeNotes?: string[] } {
  return env.notes && env.notes.length > 0 ? { recipeNotes: env.notes } : {};
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
  run: import("../cache/mod.ts").RunDir,
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

/** Inputs of one pre-training step. */
export interface PretrainStepInput {
  /** Normalised NHWC images `[B, H, W, 3]` (already augmented). */
  images: Float32Array;
  batch: number;
  /** t/T for mask and extension schedules. */
  progress: number;
  epoch: number;
  /** Fractional epoch for the lr schedule (default: epoch). */
  epochFloat?: number;
  step: number;
  /** Per-step stream; masks draw from its "mask" fork. */
  rng: Rng;
  grid: { rows: number; cols: number };
  /** Class labels `[B]` (for observers such as the online probe). */
  labels?: Int32Array;
  /** Dataset indices and crops of the batch's views (strategies with cached teacher maps). */
  sampleIds?: Int32Array;
  crops?: CropParams[];
}

/**
 * Whether a training step leaves its metrics on the device (`PendingMetrics`) instead of reading them: on
 * webgpu, where a read waits for the GPU to finish everything queued (GPA_DEFER_READS=0|1 overrides). Off
 * elsewhere: on wasm and cpu a read costs nothing, and the step keeps skipping the update on a non-finite
 * loss.
 */
export function deferredReads(): boolean {
  const env = Deno.env.get("GPA_DEFER_READS");
  if (env === "0" || env === "1") return env === "1";
  if (env) throw new ConfigError(`GPA_DEFER_READS must be 0 or 1, got '${env}'`);
  return tf.getBackend() === "webgpu";
}

/**
 * One optimisation step of MAE pre-training with a mask strategy and extensions: masks → batch layout →
 * forward/backward (pixel loss + extension losses) → AdamW. Shared by the training loop and the benchmarks.
 *
 * With deferred reads (`deferredReads()`, webgpu) the step reads nothing back from the device: its loss and
 * metrics are returned as `PendingMetrics`, and the update is applied without looking at the loss first (a
 * non-finite loss still stops the training loop, which reads it before anything is saved). Otherwise it
 * returns numbers and skips the update when the loss is not finite.
 */
export function makePretrainStep(o: {
  cfg: MaeConfig;
  params: Params;
  optimizer: AdamW;
  strategy: MaskStrategy;
  extensions?: PretrainExtension[];
  lr: (epochFloat: number) => number;
  /** Largest micro-batch per forward/backward (gradients are accumulated); default: the whole batch. */
  microBatch?: number;
  /** Leave the metrics on the device (`PendingMetrics`); default `deferredReads()`. */
  deferReads?: boolean;
}): (input: PretrainStepInput) => Promise<StepMetrics> {
  const { cfg, params, optimizer, strategy } = o;
  const exts = o.extensions ?? [];
  const own = exts.map((e) => e.trainable?.() ?? new Map<string, tf.Variable>());
  const vars = [...params.values(), ...own.flatMap((m) => [...m.values()])];
  const byVarName = new Map<string, string>();
  for (const [n, v] of params) byVarName.set(v.name, n);
  for (const m of own) for (const [n, v] of m) byVarName.set(v.name, n);
  return async (input) => {
    const B = input.batch;
    const imagesTensor = strategy.needsImages
      ? tf.tensor4d(input.images, [B, cfg.imageSize, cfg.imageSize, 3])
      : undefined;
    const mask = await strategy.generate({
      batchSize: B,
      grid: input.grid,
      progress: input.progress,
      epoch: input.epoch,
      step: input.step,
      rng: input.rng.fork("mask"),
      images: imagesTensor,
      imageData: input.images,
      sampleIds: input.sampleIds,
      crops: input.crops,
    });
    imagesTensor?.dispose();
    const sums = new Map<string, number>();
    const deviceSums = (o.deferReads ?? deferredReads()) ? new Map<string, tf.Scalar>() : undefined;
    const grads = await accumulateGradients(
      B,
      o.microBatch ?? resolveMicroBatch(B),
      vars,
      byVarName,
      (start, end) => {
        const sub = sliceMaskBatch(mask, start, end);
        const px = cfg.imageSize * cfg.imageSize * 3;
        const mb = prepareMaeBatch(cfg, input.images.subarray(start * px, end * px), sub);
        const extraMetrics: Record<string, tf.Scalar> = {};
        const f = () => {
          // The model's own forward (lib/mae.ts), with the intermediates the extensions read.
          const { latent, decoderIn, pixelPred, pixelLoss } = maeForward(params, cfg, mb);
          let total: tf.Scalar = pixelLoss;
          let observed: tf.Scalar = tf.scalar(0);
          if (exts.length > 0) extraMetrics.pixelLoss = tf.keep(pixelLoss.clone());
          for (const e of exts) {
            if (!e.loss) continue;
            const out = e.loss({
              params,
              cfg,
              mb,
              mask: sub,
              latent,
              decoderIn,
              pixelLoss,
              pixelPred,
              labels: input.labels?.subarray(start, end),
              progress: input.progress,
            });
            // Observers (the online probe) train through the same tape but are not part of the objective.
            if (e.affectsIdentity === false) observed = tf.add(observed, out.loss);
            else total = tf.add(total, out.loss);
            for (const [k, v] of Object.entries(out.metrics ?? {})) extraMetrics[k] = tf.keep(v.clone());
          }
          extraMetrics[OBJECTIVE] = tf.keep(total.clone());
          return tf.add(total, observed) as tf.Scalar;
        };
        return { f, extraMetrics, dispose: () => mb.dispose() };
      },
      sums,
      deviceSums,
    );
    const lrNow = o.lr(input.epochFloat ?? input.epoch);
    // Deferred: the loss is not known here; reading it would make the CPU wait for the GPU's forward and
    // backward before it could queue the update.
    const loss = deviceSums ? NaN : sums.get("loss")!;
    if (deviceSums || Number.isFinite(loss)) {
      // The student's optimiser sees only the student's gradients (its clipping norm included).
      await optimizer.apply(new Map([...grads].filter(([n]) => params.has(n))), lrNow);
      for (const [k, e] of exts.entries()) {
        if (e.applyGradients) await e.applyGradients(new Map([...grads].filter(([n]) => own[k].has(n))));
      }
    }
    for (const g of grads.values()) g.dispose();
    for (const e of exts) e.afterStep?.(params, input.progress);
    const metrics: Record<string, number | tf.Scalar> = { lr: lrNow };
    for (const [k, v] of deviceSums ?? sums) metrics[k] = v;
    for (const [k, v] of Object.entries(mask.info ?? {})) if (typeof v === "number") metrics[`mask.${k}`] = v;
    return deviceSums ? new PendingMetrics(metrics) : metrics as Record<string, number>;
  };
}

/** Metric key a chunk may use to report its objective when the differentiated value includes observers. */
export const OBJECTIVE = "__objective";

/** Rows [start, end) of a mask batch (with its scores and secondary mask). */
export function sliceMaskBatch(mask: MaskBatch, start: number, end: number): MaskBatch {
  if (start === 0 && end === mask.batchSize) return mask;
  const L = mask.numPatches;
  return {
    mask: mask.mask.subarray(start * L, end * L),
    batchSize: end - start,
    numPatches: L,
    numMasked: mask.numMasked,
    scores: mask.scores?.subarray(start * L, end * L),
    // A micro-batch must hide the same kept patches the whole batch would (UM-MAE's secondary masking).
    secondaryMask: mask.secondaryMask?.subarray(start * L, end * L),
  };
}

/**
 * The micro-batch for gradient accumulation: tfjs-wasm's heap stops at 4 GiB and every intermediate of a step
 * lives until its backward pass, so on wasm a step is split into chunks of at most 32 images (env
 * GPA_MICRO_BATCH overrides). The sum of chunk gradients weighted by chunk size equals the full-batch gradient.
 */
export function resolveMicroBatch(batch: number): number {
  const env = Number(Deno.env.get("GPA_MICRO_BATCH") ?? NaN);
  if (Number.isInteger(env) && env > 0) return Math.min(env, batch);
  return tf.getBackend() === "wasm" ? Math.min(32, batch) : batch;
}

/**
 * Runs `chunk(start, end)`'s objective on micro-batches and returns the size-weighted average of their
 * gradients (by parameter name); scalar metrics (the objective as `loss`, plus each chunk's `extraMetrics`) are
 * averaged the same way into `sums`, or, when `deviceSums` is given, into kept scalar tensors there (nothing is
 * read back: the caller owns them, e.g. through `PendingMetrics`).
 */
export async function accumulateGradients(
  batch: number,
  micro: number,
  vars: tf.Variable[],
  byVarName: Map<string, string>,
  chunk: (start: number, end: number) => {
    f: () => tf.Scalar;
    extraMetrics?: Record<string, tf.Scalar>;
    dispose?: () => void;
  },
  sums: Map<string, number>,
  deviceSums?: Map<string, tf.Scalar>,
): Promise<Map<string, tf.Tensor>> {
  const acc = new Map<string, tf.Tensor>();
  // Adds w·v to a metric: a number read now, or a kept tensor on the device (v is not disposed here).
  const addMetric = async (k: string, w: number, v: tf.Scalar) => {
    if (!deviceSums) {
      sums.set(k, (sums.get(k) ?? 0) + w * (await v.data())[0]);
      return;
    }
    const prev = deviceSums.get(k);
    deviceSums.set(
      k,
      tf.keep(tf.tidy(() => prev ? tf.add(prev, tf.mul(v, w)) : w === 1 ? v.clone() : tf.mul(v, w))),
    );
    prev?.dispose();
  };
  for (let start = 0; start < batch; start += micro) {
    const end = Math.min(batch, start + micro);
    const w = (end - start) / batch;
    const c = chunk(start, end);
    const { value, grads } = tf.variableGrads(c.f, vars);
    const objective = c.extraMetrics?.[OBJECTIVE] ?? value;
    await addMetric("loss", w, objective);
    for (const [k, v] of Object.entries(c.extraMetrics ?? {})) {
      if (k !== OBJECTIVE) await addMetric(k, w, v);
      v.dispose();
    }
    for (const [vn, g] of Object.entries(grads)) {
      const name = byVarName.get(vn) ?? vn;
      const prev = acc.get(name);
      const scaled = w === 1 ? g : tf.mul(g, w);
      if (prev) {
        acc.set(name, tf.add(prev, scaled));
        prev.dispose();
      } else {
        acc.set(name, w === 1 ? g : tf.keep(scaled));
      }
      if (scaled !== g) {
        g.dispose();
        if (prev) scaled.dispose();
      }
    }
    value.dispose();
    c.dispose?.();
  }
  return acc;
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
