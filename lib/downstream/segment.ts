/**
 * A segmentation run as a cached unit: its spec and run identity (what makes two runs the same run), the
 * model shape a spec implies, and the training itself (augmented crops, AdamW with layer decay, the
 * schedule, periodic evaluation), cached and resumable through `cachedRun`. The pieces it composes live in
 * the sibling modules (network, loss, schedule, evaluation); this is the only one that touches the run cache.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { engineLabel } from "../backend.ts";
import { randomScaleCropFlipSeg } from "../data/augment_seg.ts";
import type { DatasetSpec } from "../data/types.ts";
import { isEncoderParam } from "../encode.ts";
import {
  type DownstreamData,
  type DownstreamOutcome,
  downstreamRun,
  type DownstreamTrainArgs,
  UnusableRunError,
} from "../train/cached_run.ts";
import { loadNamedInto, namedTensorsOf, trainLoop } from "../train/loop.ts";
import { AdamW, layerDecayScale } from "../train/optim.ts";
import { MODEL_FORMAT_VERSION } from "../train/pretrain_spec.ts";
import { loopEnv, type RunEnv } from "../train/run_env.ts";
import type { Params, VitConfig } from "../vit.ts";
import { evaluateSegmentation, segmentationClasses, type SegmentationEvaluation } from "./evaluate.ts";
import { buildSegmenter, defaultOutIndices, segmentationLogits, type SegmenterConfig } from "./head.ts";
import { pixelCrossEntropy } from "./loss.ts";
import type { SegmentationRecipe } from "./recipe.ts";
import { segmentationLr } from "./schedule.ts";
import { encoderConfig } from "../vit.ts";

/** Version of the segmentation model/head format; part of every segmentation run's identity. */
export const SEGMENTATION_FORMAT_VERSION = 1;

/** A segmentation run: which encoder (a pre-training hash, or null = random init), data, recipe, seed. */
export interface SegmentationSpec {
  profile: string;
  dataset: DatasetSpec;
  /** The encoder's shape (its `imageSize` is the pre-training size; the run uses `recipe.cropSize`). */
  model: VitConfig;
  recipe: SegmentationRecipe;
  seed: number;
  /** Hash of the pre-training run whose encoder is fine-tuned; null for a randomly initialised encoder. */
  from: string | null;
  /** Fingerprint of the segmentation data's source (absent for generated data). */
  data?: string;
}

/** Run identity of a segmentation spec. */
export function segmentationIdentity(spec: SegmentationSpec): Record<string, unknown> {
  const m = spec.model;
  return {
    kind: "segmentation",
    formatVersion: MODEL_FORMAT_VERSION,
    segmentationFormatVersion: SEGMENTATION_FORMAT_VERSION,
    ...spec,
    // Only the encoder's shape matters (profiles' model configs also carry decoder fields).
    model: encoderConfig(m),
  };
}

/** The segmentation model's shape for a spec and a number of classes. */
export function segmenterConfig(spec: SegmentationSpec, numClasses: number): SegmenterConfig {
  const m = spec.model;
  const r = spec.recipe;
  const backbone: VitConfig = {
    imageSize: r.cropSize,
    patchSize: m.patchSize,
    dim: m.dim,
    depth: m.depth,
    heads: m.heads,
    mlpRatio: m.mlpRatio,
  };
  const outIndices = r.outIndices ?? defaultOutIndices(m.depth);
  return { backbone, head: r.head, channels: r.channels, numClasses, outIndices };
}

/** Outcome of a segmentation run. */
export interface SegmentationOutcome extends DownstreamOutcome {
  /** mIoU (%) on the val split after the last epoch. */
  miou: number;
  /** IoU (%) per class name; null for classes absent from both predictions and labels. */
  perClassIoU: Record<string, number | null>;
}

/**
 * Fine-tunes encoder + head for semantic segmentation (or loads the finished run from the cache).
 * `encoder` holds pre-trained encoder weights (or null for random init, matching `spec.from === null`).
 */
export async function segment(
  spec: SegmentationSpec,
  encoder: Params | null,
  data: DownstreamData,
  env: RunEnv,
): Promise<SegmentationOutcome> {
  if ((encoder === null) !== (spec.from === null)) {
    throw new Error(
      `segmentation spec.from is ${spec.from} but an encoder was ${encoder ? "" : "not "}given`,
    );
  }
  return await downstreamRun({
    kind: "segmentation",
    identity: segmentationIdentity(spec),
    spec,
    encoder,
    data,
    env,
    fromFinal: async (final, run) => {
      const miou = Number(final.metrics.miou);
      if (!Number.isFinite(miou)) throw new UnusableRunError("metrics.json has no mIoU");
      return {
        miou,
        perClassIoU: (final.metrics.perClassIoU ?? {}) as Record<string, number | null>,
        metrics: final.metrics,
        history: (await run.readLog()).filter((r) => r.type === "epoch") as Record<string, number>[],
      };
    },
    describeHit: (o) => `mIoU ${o.miou.toFixed(2)}%`,
    train: trainSegmenter,
  });
}

async function trainSegmenter(
  { spec, encoder, data, env, run, heartbeat, log }: DownstreamTrainArgs<SegmentationSpec, RunEnv>,
): Promise<Omit<SegmentationOutcome, "hash" | "cacheHit">> {
  const classes = segmentationClasses(data.train);
  const sc = segmenterConfig(spec, classes.count);
  const cfg = sc.backbone;
  const r = spec.recipe;
  const params = buildSegmenter(sc, spec.seed);
  if (encoder) {
    const enc: Params = new Map([...params].filter(([n]) => !n.startsWith("head.")));
    loadNamedInto(await namedTensorsOf(encoder, (n) => isEncoderParam(n) && enc.has(n)), enc);
  }
  log(
    `segmentation ${run.hash}: from ${spec.from ?? "random init"}, ${r.head} head, ${r.epochs} epochs at ` +
      `${r.cropSize}px, ${classes.count} classes, seed ${spec.seed}`,
  );
  const optimizer = new AdamW(params, {
    weightDecay: r.weightDecay,
    beta2: 0.999,
    lrScale: (n) => layerDecayScale(n, cfg.depth, r.layerDecay),
    clipNorm: r.clipGrad,
  });
  const vars = [...params.values()];
  const byVar = new Map([...params].map(([n, v]) => [v.name, n]));
  let lastEval: SegmentationEvaluation | null = null;
  const evaluate = async () => {
    lastEval = await evaluateSegmentation(params, sc, data.val, classes.ignoreLabel, r.batchSize);
    return { miou: lastEval.miou, pixelAcc: lastEval.pixelAcc, meanAcc: lastEval.meanAcc };
  };
  const result = await trainLoop({
    run,
    params,
    optimizer,
    epochs: r.epochs,
    datasetSize: data.train.count,
    batchSize: r.batchSize,
    seed: spec.seed,
    ...loopEnv(env, heartbeat), // the heartbeat keeps the run's lock fresh on long runs
    evalEvery: r.evalEvery,
    step: async (ctx) => {
      const B = ctx.batchIndices.length;
      const batch = randomScaleCropFlipSeg(data.train, ctx.batchIndices, r.cropSize, ctx.rng.fork("aug"), {
        scale: r.scaleRange,
        ignoreLabel: classes.ignoreLabel,
      });
      const dropRng = ctx.rng.fork("drop-path");
      const { value, grads } = tf.variableGrads(() => {
        const { logits } = segmentationLogits(params, sc, batch.images, B, {
          dropPath: { rate: r.dropPath, rng: dropRng },
        });
        return pixelCrossEntropy(logits, batch.labels, classes.ignoreLabel);
      }, vars);
      const lrNow = segmentationLr(r, ctx.epochFloat);
      const loss = (await value.data())[0];
      if (Number.isFinite(loss)) {
        await optimizer.apply(
          new Map(Object.entries(grads).map(([k, g]) => [byVar.get(k) ?? k, g])),
          lrNow,
        );
      }
      value.dispose();
      for (const g of Object.values(grads)) g.dispose();
      return { loss, lr: lrNow };
    },
    evaluate,
  });
  if (!lastEval) await evaluate();
  const final = lastEval as unknown as SegmentationEvaluation;
  const perClassIoU: Record<string, number | null> = {};
  classes.names.forEach((name, c) => {
    const v = final.perClassIoU[c];
    perClassIoU[name] = Number.isNaN(v) ? null : 100 * v;
  });
  const metrics = {
    ...result.final,
    miou: final.miou,
    engine: engineLabel(), // what finished the run (backend; on wasm, the matMul engine)
    pixelAcc: final.pixelAcc,
    meanAcc: final.meanAcc,
    perClassIoU,
    numClasses: classes.count,
    wallSeconds: result.wallSeconds,
    resumedFrom: result.resumedFrom,
  };
  await run.saveFinal(await namedTensorsOf(params), metrics);
  optimizer.dispose();
  for (const v of params.values()) v.dispose();
  return { miou: final.miou, perClassIoU, metrics, history: result.history };
}
