/**
 * Linear probing as MAE's recipe: frozen encoder, CLS feature after the final norm, BatchNorm without affine
 * (eps 1e-6) + linear head, SGD with momentum (the GPA authors' code) or LARS, warm-up + cosine.
 * With `augment: false` the frozen features of un-augmented images are computed once (a documented
 * small-scale shortcut); with `augment: true` every step encodes a RandomResizedCrop view.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { engineLabel } from "../backend.ts";
import { downstreamRun, type DownstreamTrainArgs, recordedTop1 } from "./cached_run.ts";
import { centerBatch, randomResizedCropFlip } from "../data/augment.ts";
import { datasetIdentity, type DatasetSpec, type ImageSplit } from "../data/types.ts";
import { encodeImages, featuresOf, isEncoderParam } from "../encode.ts";
import { Rng } from "../rng.ts";
import { addParam, initEncoder, param, type Params, type VitConfig } from "../vit.ts";
import { absoluteLr, cosineLr, SgdMomentum } from "./optim.ts";
import { loadNamedInto, namedTensorsOf, trainLoop } from "./loop.ts";
import { MODEL_FORMAT_VERSION } from "./pretrain_spec.ts";
import { loopEnv, notesField, type RunEnv } from "./run_env.ts";
import type { LinprobeRecipe } from "./recipes.ts";

/** A linear-probing run. */
export interface LinprobeSpec {
  profile: string;
  dataset: DatasetSpec;
  model: VitConfig;
  recipe: LinprobeRecipe;
  seed: number;
  from: string | null;
  /** Fingerprint of the data source (absent for generated data). */
  data?: string;
}

/** Outcome of a linear-probing run. */
export interface LinprobeOutcome {
  hash: string;
  top1: number;
  metrics: Record<string, unknown>;
  cacheHit: boolean;
}

const BN_EPS = 1e-6;
const BN_MOMENTUM = 0.1;

/** BatchNorm1d(affine=False) in training mode on `[B, D]`, updating running statistics. */
function batchNormTrain(x: tf.Tensor2D, runMean: tf.Variable, runVar: tf.Variable): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, 0);
  const n = x.shape[0];
  tf.tidy(() => {
    runMean.assign(tf.add(tf.mul(runMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
    // Running variance uses the unbiased estimate, as PyTorch.
    runVar.assign(
      tf.add(tf.mul(runVar, 1 - BN_MOMENTUM), tf.mul(variance, (BN_MOMENTUM * n) / Math.max(n - 1, 1))),
    );
  });
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPS)));
}

function batchNormEval(x: tf.Tensor2D, runMean: tf.Tensor, runVar: tf.Tensor): tf.Tensor2D {
  return tf.div(tf.sub(x, runMean), tf.sqrt(tf.add(runVar, BN_EPS)));
}

/** Run identity of a linear-probing spec. */
export function linprobeIdentity(spec: LinprobeSpec): Record<string, unknown> {
  return {
    kind: "linprobe",
    formatVersion: MODEL_FORMAT_VERSION,
    ...spec,
    dataset: datasetIdentity(spec.dataset),
  };
}

/** Trains (or loads) a linear probe. */
export async function linprobe(
  spec: LinprobeSpec,
  encoder: Params | null,
  data: { train: ImageSplit; val: ImageSplit },
  env: RunEnv,
): Promise<LinprobeOutcome> {
  return await downstreamRun({
    kind: "linprobe",
    identity: linprobeIdentity(spec),
    spec,
    encoder,
    data,
    env,
    fromFinal: (final) => Promise.resolve({ top1: recordedTop1(final.metrics), metrics: final.metrics }),
    describeHit: (o) => `top-1 ${o.top1.toFixed(2)}%`,
    train: trainProbe,
  });
}

async function trainProbe(
  { spec, encoder, data, env, run, heartbeat, log }: DownstreamTrainArgs<LinprobeSpec, RunEnv>,
): Promise<Omit<LinprobeOutcome, "hash" | "cacheHit">> {
  const cfg = spec.model;
  const r = spec.recipe;
  const C = data.train.numClasses;
  const rng = new Rng(spec.seed).fork("linprobe-init");
  // The frozen encoder.
  const enc: Params = new Map();
  initEncoder(enc, cfg, rng.fork("encoder"));
  if (encoder) {
    loadNamedInto(await namedTensorsOf(encoder, isEncoderParam), enc);
  }
  const head: Params = new Map();
  const w = new Float32Array(cfg.dim * C);
  for (let i = 0; i < w.length; i++) {
    let v: number;
    do v = rng.normal(); while (Math.abs(v) > 2);
    w[i] = v * 0.01;
  }
  addParam(head, "head.weight", [cfg.dim, C], w);
  addParam(head, "head.bias", [C]);
  const runMean = tf.variable(tf.zeros([cfg.dim]), false);
  const runVar = tf.variable(tf.ones([cfg.dim]), false);
  const extra = new Map([["bn.running_mean", runMean], ["bn.running_var", runVar]]);

  const pooling = r.features;
  let trainFeatures: Float32Array | null = null;
  if (!r.augment) {
    log(`linprobe ${run.hash}: encoding ${data.train.count} train images once (${pooling} features)`);
    trainFeatures = await featuresOf(
      enc,
      cfg,
      (s, e) => centerBatch(data.train, Int32Array.from({ length: e - s }, (_, i) => s + i), cfg.imageSize),
      data.train.count,
      pooling,
    );
  }
  const valFeatures = await featuresOf(
    enc,
    cfg,
    (s, e) => centerBatch(data.val, Int32Array.from({ length: e - s }, (_, i) => s + i), cfg.imageSize),
    data.val.count,
    pooling,
  );

  const optimizer = new SgdMomentum(head, {
    momentum: r.momentum,
    weightDecay: r.weightDecay,
    lars: r.optimizer === "lars",
  });
  const stateful = {
    get step() {
      return optimizer.step;
    },
    set step(v: number) {
      optimizer.step = v;
    },
    stateTensors: () => new Map([...optimizer.buf].map(([n, t]) => [`opt.buf.${n}`, t as tf.Tensor])),
    loadState: (t: Map<string, { shape: number[]; data: Float32Array }>, step: number) => {
      for (const [n, b] of optimizer.buf) {
        const s = t.get(`opt.buf.${n}`);
        if (s) b.assign(tf.tensor(s.data, s.shape));
      }
      optimizer.step = step;
    },
  };
  const lr = absoluteLr(r.blr, r.batchSize);
  const vars = [...head.values()];
  const byVar = new Map([...head].map(([n, v]) => [v.name, n]));
  const W = param<tf.Tensor2D>(head, "head.weight");
  const bias = param<tf.Tensor1D>(head, "head.bias");
  const result = await trainLoop({
    run,
    params: head,
    extra,
    optimizer: stateful,
    epochs: r.epochs,
    datasetSize: data.train.count,
    batchSize: Math.min(r.batchSize, data.train.count),
    seed: spec.seed,
    ...loopEnv(env, heartbeat), // the heartbeat keeps the run's lock fresh on long runs
    step: async (ctx) => {
      const B = ctx.batchIndices.length;
      let feats: tf.Tensor2D;
      if (trainFeatures) {
        const f = new Float32Array(B * cfg.dim);
        ctx.batchIndices.forEach((i, j) =>
          f.set(trainFeatures!.subarray(i * cfg.dim, (i + 1) * cfg.dim), j * cfg.dim)
        );
        feats = tf.tensor2d(f, [B, cfg.dim]);
      } else {
        const { images } = randomResizedCropFlip(
          data.train,
          ctx.batchIndices,
          cfg.imageSize,
          ctx.rng.fork("aug"),
          {
            scale: [0.08, 1],
          },
        );
        feats = tf.tidy(() => encodeImages(enc, cfg, images, B, { pooling }));
      }
      const labels = tf.oneHot(
        tf.tensor1d(Int32Array.from(ctx.batchIndices, (i) => data.train.labels[i]), "int32"),
        C,
      );
      const { value, grads } = tf.variableGrads(() => {
        const z = batchNormTrain(feats, runMean, runVar);
        return tf.losses.softmaxCrossEntropy(labels, tf.add(tf.matMul(z, W), bias)) as tf.Scalar;
      }, vars);
      const lrNow = cosineLr(ctx.epochFloat, {
        lr,
        minLr: 0,
        warmupEpochs: r.warmupEpochs,
        epochs: r.epochs,
      });
      await optimizer.apply(new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k) ?? k, g])), lrNow);
      const loss = (await value.data())[0];
      tf.dispose([value, feats, labels, ...Object.values(grads)]);
      return { loss, lr: lrNow };
    },
    evaluate: async () => {
      const pred = tf.tidy(() =>
        tf.argMax(
          tf.add(
            tf.matMul(
              batchNormEval(tf.tensor2d(valFeatures, [data.val.count, cfg.dim]), runMean, runVar),
              W,
            ),
            bias,
          ),
          1,
        )
      );
      const p = await pred.data();
      pred.dispose();
      let correct = 0;
      for (let i = 0; i < data.val.count; i++) if (p[i] === data.val.labels[i]) correct++;
      return { top1: (100 * correct) / data.val.count };
    },
  });
  const metrics = {
    ...result.final,
    wallSeconds: result.wallSeconds,
    resumedFrom: result.resumedFrom,
    engine: engineLabel(),
    ...notesField(env),
  };
  await run.saveFinal(await namedTensorsOf([...head, ...extra]), metrics);
  tf.dispose([...enc.values(), ...head.values(), runMean, runVar]);
  optimizer.dispose();
  return { top1: result.final.top1, metrics };
}
