/**
 * Fixed-seed computations whose results must agree across backends (float tolerance): an MAE pre-training
 * loss and gradient, a fine-tuning loss and gradient, and a teacher's GPA maps. Used by the webgpu test
 * (tests/webgpu_test.ts, on Mesa's lavapipe) and by the GPU check (bench/gpu.ts).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Teacher } from "../lib/gpa.ts";
import { initMae, type MaeConfig, maeLoss, prepareMaeBatch } from "../lib/mae.ts";
import { RandomMasking } from "../lib/masking/random.ts";
import { Rng } from "../lib/rng.ts";
import { buildClassifier, classify, softCrossEntropy } from "../lib/train/finetune.ts";
import { gridOf, type Params } from "../lib/vit.ts";
import { BENCH_MODEL } from "./mod.ts";

/** A small MAE (2 blocks, 64-d) on the reference config's 32 px images: seconds on any backend. */
export const CHECK_MODEL: MaeConfig = {
  ...BENCH_MODEL,
  dim: 64,
  depth: 2,
  heads: 2,
  decoderDim: 32,
  decoderDepth: 1,
  decoderHeads: 2,
};

/** A loss and the gradient of every parameter it depends on, concatenated in parameter order. */
export interface LossAndGrads {
  loss: number;
  grads: Float32Array;
}

function fixedImages(rng: Rng, batch: number, size: number): Float32Array {
  const images = new Float32Array(batch * size * size * 3);
  for (let i = 0; i < images.length; i++) images[i] = rng.normal();
  return images;
}

async function lossAndGrads(params: Params, f: () => tf.Scalar): Promise<LossAndGrads> {
  const { value, grads } = tf.variableGrads(f, [...params.values()]);
  const loss = (await value.data())[0];
  const parts: Float32Array[] = [];
  // Parameters the loss does not touch (e.g. a frozen position embedding) have no gradient entry.
  for (const v of params.values()) {
    if (grads[v.name]) parts.push((await grads[v.name].data()) as Float32Array);
  }
  const all = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) all.set(p, (o += p.length) - p.length);
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, grads: all };
}

/** MAE pre-training loss and gradients of one fixed batch (seeded init, images and mask) on the active backend. */
export async function fixedSeedMaeStep(cfg: MaeConfig, batch: number): Promise<LossAndGrads> {
  const rng = new Rng(7);
  const params = initMae(cfg, rng.fork("init"));
  const images = fixedImages(rng, batch, cfg.imageSize);
  const g = gridOf(cfg);
  const mask = new RandomMasking(0.75).generate({
    batchSize: batch,
    grid: { rows: g.rows, cols: g.cols },
    progress: 0,
    epoch: 0,
    step: 0,
    rng: rng.fork("mask"),
  });
  const mb = prepareMaeBatch(cfg, images, mask);
  try {
    return await lossAndGrads(params, () => maeLoss(params, cfg, mb));
  } finally {
    mb.dispose();
    tf.dispose([...params.values()]);
  }
}

/** Fine-tuning (classifier) cross-entropy and gradients of one fixed batch on the active backend. */
export async function fixedSeedFinetuneStep(
  cfg: MaeConfig,
  batch: number,
  classes = 10,
): Promise<LossAndGrads> {
  const rng = new Rng(8);
  const params = buildClassifier(cfg, classes, 3);
  const images = fixedImages(rng, batch, cfg.imageSize);
  const targets = tf.oneHot(
    tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % classes), "int32"),
    classes,
  );
  try {
    return await lossAndGrads(
      params,
      () => softCrossEntropy(classify(params, cfg, images, batch), targets as tf.Tensor2D),
    );
  } finally {
    tf.dispose([targets, ...params.values()]);
  }
}

/** Raw GPA maps `[B, L]` of a seeded teacher (last block, head sum) for fixed images on the active backend. */
export async function fixedSeedGpaMaps(cfg: MaeConfig, batch: number): Promise<Float32Array> {
  const rng = new Rng(9);
  const params = initMae(cfg, rng.fork("teacher"));
  const teacher = new Teacher(params, cfg, { block: cfg.depth - 1, head: -1 }, "paper");
  try {
    return await teacher.rawMaps(fixedImages(rng, batch, cfg.imageSize), batch);
  } finally {
    teacher.dispose();
  }
}

/** ‖a − b‖₂ / ‖b‖₂. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`lengths differ: ${a.length} vs ${b.length}`);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}
