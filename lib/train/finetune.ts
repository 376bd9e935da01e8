/**
 * End-to-end fine-tuning as MAE's recipe: global average pooling + fc_norm + linear head, layer-wise lr
 * decay, drop path, label smoothing, mixup/cutmix, warm-up + cosine; top-1 on the val split.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { engineLabel } from "../backend.ts";
import {
  type DownstreamData,
  type DownstreamOutcome,
  downstreamRun,
  type DownstreamTrainArgs,
  recordedTop1,
} from "./cached_run.ts";
import { centerBatch, randomErasing, randomResizedCropFlip } from "../data/augment.ts";
import { parseRandAugment, randAugmentBatch } from "../data/randaugment.ts";
import { packCorrect } from "../eval/correct.ts";
import { datasetIdentity, type DatasetSpec, type ImageSplit } from "../data/types.ts";
import { encodeImages, isEncoderParam } from "../encode.ts";
import { linear, microBatchSize } from "../ops.ts";
import { Rng } from "../rng.ts";
import { addParam, initEncoder, param, type Params, type VitConfig } from "../vit.ts";
import { absoluteLr, AdamW, cosineLr, layerDecayScale } from "./optim.ts";
import { epochRecords, loadNamedInto, namedTensorsOf, PendingMetrics, trainLoop } from "./loop.ts";
import { accumulateGradients, deferredReads } from "./micro_batch.ts";
import { MODEL_FORMAT_VERSION } from "./pretrain_spec.ts";
import { loopEnv, notesField, type RunEnv } from "./run_env.ts";
import type { FinetuneRecipe } from "./recipes.ts";

/** A fine-tuning run: which encoder (a pre-training hash, or null = random init), data, recipe, seed. */
export interface FinetuneSpec {
  profile: string;
  dataset: DatasetSpec;
  model: VitConfig;
  recipe: FinetuneRecipe;
  seed: number;
  /** Hash of the pre-training run whose encoder is fine-tuned; null for a randomly initialised encoder. */
  from: string | null;
  /** Fingerprint of the data source (absent for generated data). */
  data?: string;
}

/** Run identity of a fine-tuning spec. */
export function finetuneIdentity(spec: FinetuneSpec): Record<string, unknown> {
  return {
    kind: "finetune",
    formatVersion: MODEL_FORMAT_VERSION,
    ...spec,
    dataset: datasetIdentity(spec.dataset),
  };
}

/** Standard normal truncated to ±2σ, scaled (timm's trunc_normal_). */
function truncNormal(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = rng.normal(); while (Math.abs(v) > 2);
    out[i] = v * std;
  }
  return out;
}

/** Builds a classifier: encoder (+ fc_norm + head), initialised from a seed; the final `norm` is unused. */
export function buildClassifier(cfg: VitConfig, numClasses: number, seed: number): Params {
  const rng = new Rng(seed).fork("finetune-init");
  const params: Params = new Map();
  initEncoder(params, cfg, rng);
  addParam(params, "fc_norm.weight", [cfg.dim], new Float32Array(cfg.dim).fill(1));
  addParam(params, "fc_norm.bias", [cfg.dim]);
  addParam(params, "head.weight", [cfg.dim, numClasses], truncNormal(rng, cfg.dim * numClasses, 2e-5));
  addParam(params, "head.bias", [numClasses]);
  return params;
}

/** Classifier logits `[B, C]` for normalised images. */
export function classify(
  params: Params,
  cfg: VitConfig,
  images: Float32Array,
  batch: number,
  dropPath?: { rate: number; rng: Rng },
): tf.Tensor2D {
  const f = encodeImages(params, cfg, images, batch, { pooling: "mean", dropPath });
  return linear(f, param(params, "head.weight"), param(params, "head.bias"));
}

/** Gamma(shape, 1) by Marsaglia–Tsang (shape ≥ 1; boosted below 1). */
function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * Math.pow(rng.next() || 1e-12, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** Beta(a, a) sample. */
export function sampleBeta(rng: Rng, a: number): number {
  const x = gamma(rng, a);
  const y = gamma(rng, a);
  return x / (x + y);
}

/**
 * Mixup / CutMix of a batch against its reverse (timm's batch mode) with label smoothing. Mutates `images`
 * (`[B, S, S, 3]`); returns soft targets `[B, C]` and the effective λ.
 */
export function mixBatch(
  images: Float32Array,
  labels: Int32Array,
  size: number,
  numClasses: number,
  recipe: Pick<FinetuneRecipe, "mixup" | "cutmix" | "mixupProb" | "labelSmoothing">,
  rng: Rng,
): { targets: Float32Array; lam: number; mode: "none" | "mixup" | "cutmix" } {
  const B = labels.length;
  let lam = 1;
  let mode: "none" | "mixup" | "cutmix" = "none";
  if ((recipe.mixup > 0 || recipe.cutmix > 0) && rng.next() < recipe.mixupProb) {
    const useCutmix = recipe.cutmix > 0 && (recipe.mixup <= 0 || rng.next() < 0.5);
    if (useCutmix) {
      mode = "cutmix";
      lam = sampleBeta(rng, recipe.cutmix);
      const cut = Math.sqrt(1 - lam);
      const ch = Math.floor(size * cut);
      const cw = Math.floor(size * cut);
      const cy = rng.int(size);
      const cx = rng.int(size);
      const y0 = Math.max(0, cy - (ch >> 1)), y1 = Math.min(size, cy + (ch >> 1));
      const x0 = Math.max(0, cx - (cw >> 1)), x1 = Math.min(size, cx + (cw >> 1));
      const src = images.slice();
      const px = size * size * 3;
      for (let b = 0; b < B; b++) {
        const o = B - 1 - b;
        for (let y = y0; y < y1; y++) {
          const row = (y * size + x0) * 3;
          images.set(src.subarray(o * px + row, o * px + row + (x1 - x0) * 3), b * px + row);
        }
      }
      lam = 1 - ((y1 - y0) * (x1 - x0)) / (size * size); // corrected for clipping, as timm
    } else {
      mode = "mixup";
      lam = sampleBeta(rng, recipe.mixup);
      const src = images.slice();
      const px = size * size * 3;
      for (let b = 0; b < B; b++) {
        const o = (B - 1 - b) * px;
        for (let i = 0; i < px; i++) images[b * px + i] = lam * src[b * px + i] + (1 - lam) * src[o + i];
      }
    }
  }
  const off = recipe.labelSmoothing / numClasses;
  const on = 1 - recipe.labelSmoothing + off;
  const targets = new Float32Array(B * numClasses).fill(0);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < numClasses; c++) {
      const t1 = labels[b] === c ? on : off;
      const t2 = labels[B - 1 - b] === c ? on : off;
      targets[b * numClasses + c] = lam * t1 + (1 - lam) * t2;
    }
  }
  return { targets, lam, mode };
}

/** Cross-entropy with soft targets, averaged over the batch. */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1)));
}

/** Top-1 accuracy (%) of a classifier on a split, batched, no gradients. */
export async function evaluateTop1(
  params: Params,
  cfg: VitConfig,
  split: ImageSplit,
  batchSize = 256,
  /** Filled with 1 where image i is classified correctly (for the image-level bootstrap). */
  correctOut?: Uint8Array,
): Promise<number> {
  if (tf.getBackend() === "wasm") batchSize = Math.min(batchSize, 32); // see microBatchSize
  let correct = 0;
  for (let s = 0; s < split.count; s += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, split.count - s) }, (_, i) => s + i);
    const pred = tf.tidy(() =>
      tf.argMax(classify(params, cfg, centerBatch(split, idx, cfg.imageSize), idx.length), 1)
    );
    const p = await pred.data();
    pred.dispose();
    for (let i = 0; i < idx.length; i++) {
      const ok = p[i] === split.labels[idx[i]];
      if (ok) correct++;
      if (correctOut) correctOut[idx[i]] = ok ? 1 : 0;
    }
  }
  return (100 * correct) / split.count;
}

/** Outcome of a fine-tuning run. */
export interface FinetuneOutcome extends DownstreamOutcome {
  /** Top-1 (%) on the val split after the last epoch. */
  top1: number;
}

/**
 * Fine-tunes (or loads from the cache). `encoder` holds the pre-trained encoder weights (or null for
 * random init, which must match `spec.from === null`).
 */
export async function finetune(
  spec: FinetuneSpec,
  encoder: Params | null,
  data: DownstreamData,
  env: RunEnv,
): Promise<FinetuneOutcome> {
  return await downstreamRun({
    kind: "finetune",
    identity: finetuneIdentity(spec),
    spec,
    encoder,
    data,
    env,
    fromFinal: async (final, run) => ({
      top1: recordedTop1(final.metrics),
      metrics: final.metrics,
      history: epochRecords(await run.readLog()),
    }),
    describeHit: (o) => `top-1 ${o.top1.toFixed(2)}%`,
    train: trainFinetune,
  });
}

async function trainFinetune(
  { spec, encoder, data, env, run, heartbeat, log }: DownstreamTrainArgs<FinetuneSpec, RunEnv>,
): Promise<Omit<FinetuneOutcome, "hash" | "cacheHit">> {
  const cfg = spec.model;
  const C = data.train.numClasses;
  const params = buildClassifier(cfg, C, spec.seed);
  if (encoder) {
    const named = await namedTensorsOf(encoder, isEncoderParam);
    const enc: Params = new Map([...params].filter(([n]) => isEncoderParam(n)));
    loadNamedInto(named, enc);
  }
  log(
    `finetune ${run.hash}: from ${
      spec.from ?? "random init"
    }, ${spec.recipe.epochs} epochs, seed ${spec.seed}`,
  );
  const r = spec.recipe;
  const optimizer = new AdamW(params, {
    weightDecay: r.weightDecay,
    beta2: 0.999,
    lrScale: (n) => layerDecayScale(n, cfg.depth, r.layerDecay),
  });
  const lr = absoluteLr(r.blr, r.batchSize);
  const vars = [...params.values()];
  const byVar = new Map([...params].map(([n, v]) => [v.name, n]));
  let lastCorrect: Uint8Array | undefined;
  const result = await trainLoop({
    run,
    params,
    optimizer,
    epochs: r.epochs,
    datasetSize: data.train.count,
    batchSize: r.batchSize,
    seed: spec.seed,
    ...loopEnv(env, heartbeat), // the heartbeat keeps the run's lock fresh on long runs
    step: async (ctx) => {
      const B = ctx.batchIndices.length;
      const { images } = randomResizedCropFlip(
        data.train,
        ctx.batchIndices,
        cfg.imageSize,
        ctx.rng.fork("aug"),
        {
          scale: r.cropScale,
        },
      );
      // timm's order: RandAugment after the crop and flip, then (per image, before mixup/cutmix) random
      // erasing with probability reprob.
      if (r.randAugment) {
        randAugmentBatch(images, B, cfg.imageSize, parseRandAugment(r.randAugment), ctx.rng.fork("randaug"));
      }
      randomErasing(images, B, cfg.imageSize, r.reprob, ctx.rng.fork("erase"));
      const labels = Int32Array.from(ctx.batchIndices, (i) => data.train.labels[i]);
      const { targets } = mixBatch(images, labels, cfg.imageSize, C, r, ctx.rng.fork("mix"));
      const dropRng = ctx.rng.fork("drop-path");
      const px = cfg.imageSize * cfg.imageSize * 3;
      const sums = new Map<string, number>();
      // webgpu: the loss stays on the device until the loop reads it (see makePretrainStep).
      const deviceSums = deferredReads() ? new Map<string, tf.Scalar>() : undefined;
      const grads = await accumulateGradients(
        B,
        microBatchSize(B),
        vars,
        byVar,
        (start, end) => {
          const t = tf.tensor2d(targets.subarray(start * C, end * C), [end - start, C]);
          const imgs = images.subarray(start * px, end * px);
          return {
            f: () =>
              softCrossEntropy(
                classify(params, cfg, imgs, end - start, { rate: r.dropPath, rng: dropRng }),
                t,
              ),
            dispose: () => t.dispose(),
          };
        },
        sums,
        deviceSums,
      );
      const lrNow = cosineLr(ctx.epochFloat, {
        lr,
        minLr: r.minLr,
        warmupEpochs: r.warmupEpochs,
        epochs: r.epochs,
      });
      const loss = deviceSums ? NaN : sums.get("loss")!;
      if (deviceSums || Number.isFinite(loss)) await optimizer.apply(grads, lrNow);
      for (const g of grads.values()) g.dispose();
      return deviceSums
        ? new PendingMetrics({ loss: deviceSums.get("loss")!, lr: lrNow })
        : { loss, lr: lrNow };
    },
    evaluate: async () => {
      const c = new Uint8Array(data.val.count);
      const top1 = await evaluateTop1(params, cfg, data.val, 256, c);
      lastCorrect = c;
      return { top1 };
    },
  });
  const top1 = result.final.top1;
  // Which validation images the final model classifies correctly, one bit each (the reports' image-level
  // bootstrap); evaluated again when the last evaluation is not the final model's (a resumed run).
  const agrees = (c: Uint8Array) => Math.abs((100 * c.reduce((s, x) => s + x, 0)) / c.length - top1) < 1e-9;
  if (!lastCorrect || !agrees(lastCorrect)) {
    lastCorrect = new Uint8Array(data.val.count);
    await evaluateTop1(params, cfg, data.val, 256, lastCorrect);
  }
  const metrics = {
    ...result.final,
    top1,
    wallSeconds: result.wallSeconds,
    resumedFrom: result.resumedFrom,
    engine: engineLabel(), // what finished the run (backend; on wasm, the matMul engine)
    valCorrect: packCorrect(lastCorrect),
    ...notesField(env),
  };
  await run.saveFinal(await namedTensorsOf(params), metrics);
  optimizer.dispose();
  for (const v of params.values()) v.dispose();
  return { top1, metrics, history: result.history };
}
