/**
 * One optimisation step of MAE pre-training (masks → batch layout → forward/backward with the extension
 * losses → AdamW), shared by the training loop and the benchmarks, and the slicing of a mask batch into the
 * micro-batches the step accumulates over.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { CropParams } from "../data/augment.ts";
import { type MaeConfig, maeForward, prepareMaeBatch } from "../mae.ts";
import type { MaskBatch, MaskStrategy } from "../masking/types.ts";
import type { Rng } from "../rng.ts";
import type { Params } from "../vit.ts";
import type { AdamW } from "./optim.ts";
import { PendingMetrics, type StepMetrics } from "./loop.ts";
import type { PretrainExtension } from "./extension.ts";
import { accumulateGradients, deferredReads, OBJECTIVE } from "./micro_batch.ts";
import { microBatchSize } from "../ops.ts";

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
      o.microBatch ?? microBatchSize(B),
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
