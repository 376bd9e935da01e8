/**
 * Weighted k-nearest-neighbour classification of frozen features, as DINO's and iBOT's `eval_knn.py`:
 * features are L2-normalised, a query's k most cosine-similar training features vote for their classes with
 * weight `exp(similarity / T)`, and the class with the largest summed weight is predicted.
 *
 * The similarity products run on the active tfjs backend: the normalised train bank is transposed once to
 * `[D, N]` so every query batch is one plain 2-D matMul `[b, D] @ [D, N]` (the fast path on wasm), followed by
 * `tf.topk`; the voting is done in plain JS on the `[b, k]` results.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { centerBatch } from "../data/augment.ts";
import type { ImageSplit } from "../data/types.ts";
import { featuresOf, type Pooling } from "../encode.ts";
import type { Params, VitConfig } from "../vit.ts";

/** Options of `knnClassify`. */
export interface KnnClassifyOptions {
  /** Training features `[N, D]`, row-major. */
  trainFeatures: Float32Array;
  /** Class id of every training row, `[N]`. */
  trainLabels: Int32Array;
  /** Query features `[M, D]`, row-major. */
  queryFeatures: Float32Array;
  /** Number of classes C (labels are in `0..C-1`). */
  numClasses: number;
  /** Feature width D (default: inferred as `trainFeatures.length / trainLabels.length`). */
  dim?: number;
  /** Neighbours per query (DINO: 20); clamped to N. */
  k?: number;
  /** Temperature T of the vote weights `exp(sim / T)` (DINO: 0.07). */
  temperature?: number;
  /** Queries per similarity product (default: as many as keep `[b, N]` under 2²⁴ floats). */
  batchSize?: number;
  /** True class of every query, `[M]`; when given, top-1/top-5 accuracy are returned. */
  queryLabels?: Int32Array;
}

/** What `knnClassify` returns. */
export interface KnnResult {
  /** Predicted class of every query, `[M]`. */
  predictions: Int32Array;
  /** Top-1 accuracy in percent (only with `queryLabels`). */
  top1?: number;
  /** Top-5 accuracy in percent: the true class is among the 5 highest vote totals (only with `queryLabels`). */
  top5?: number;
}

/** L2-normalised copy of `[n, d]` rows (a zero row stays zero, as `F.normalize` with eps 1e-12). */
export function l2NormalizeRows(x: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += x[base + j] * x[base + j];
    const inv = 1 / Math.max(Math.sqrt(s), 1e-12);
    for (let j = 0; j < d; j++) out[base + j] = x[base + j] * inv;
  }
  return out;
}

/** Transposes `[n, d]` into `[d, n]`. */
function transposeRows(x: Float32Array, n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let j = 0; j < d; j++) out[j * n + i] = x[base + j];
  }
  return out;
}

/**
 * Classifies every query by a temperature-weighted vote of its k nearest training features (cosine
 * similarity). Ties between class totals go to the lower class id.
 */
export async function knnClassify(options: KnnClassifyOptions): Promise<KnnResult> {
  const { trainFeatures, trainLabels, queryFeatures, numClasses } = options;
  const n = trainLabels.length;
  if (n === 0) throw new RangeError("k-NN needs at least one training feature");
  const d = options.dim ?? trainFeatures.length / n;
  if (!Number.isInteger(d) || d <= 0 || trainFeatures.length !== n * d) {
    throw new RangeError(`train features have ${trainFeatures.length} values, not ${n} rows of width ${d}`);
  }
  if (queryFeatures.length % d !== 0) {
    throw new RangeError(`query features have ${queryFeatures.length} values, not a multiple of width ${d}`);
  }
  const m = queryFeatures.length / d;
  if (options.queryLabels && options.queryLabels.length !== m) {
    throw new RangeError(`${options.queryLabels.length} query labels for ${m} queries`);
  }
  for (let i = 0; i < n; i++) {
    const c = trainLabels[i];
    if (!(c >= 0 && c < numClasses)) {
      throw new RangeError(`train label ${c} at row ${i} is outside 0..${numClasses - 1}`);
    }
  }
  const k = Math.min(options.k ?? 20, n);
  if (!(k >= 1)) throw new RangeError(`k must be >= 1, got ${options.k}`);
  const temperature = options.temperature ?? 0.07;
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  const batchSize = Math.max(1, Math.min(m || 1, options.batchSize ?? Math.floor((1 << 24) / n)));

  const bankT = tf.tensor2d(transposeRows(l2NormalizeRows(trainFeatures, n, d), n, d), [d, n]); // [D, N]
  const queries = l2NormalizeRows(queryFeatures, m, d);
  const predictions = new Int32Array(m);
  const votes = new Float64Array(numClasses);
  let correct1 = 0;
  let correct5 = 0;
  try {
    for (let start = 0; start < m; start += batchSize) {
      const b = Math.min(batchSize, m - start);
      const { values, indices } = tf.tidy(() => {
        const q = tf.tensor2d(queries.subarray(start * d, (start + b) * d), [b, d]); // [b, D]
        return tf.topk(tf.matMul(q, bankT), k, true); // [b, k] sorted by similarity
      });
      const sims = await values.data();
      const neighbours = await indices.data();
      values.dispose();
      indices.dispose();
      for (let i = 0; i < b; i++) {
        votes.fill(0);
        for (let j = 0; j < k; j++) {
          votes[trainLabels[neighbours[i * k + j]]] += Math.exp(sims[i * k + j] / temperature);
        }
        let best = 0;
        for (let c = 1; c < numClasses; c++) if (votes[c] > votes[best]) best = c;
        predictions[start + i] = best;
        if (options.queryLabels) {
          const truth = options.queryLabels[start + i];
          if (truth === best) correct1++;
          // Rank of the true class: classes strictly ahead of it, ties broken towards lower ids as for top-1.
          let ahead = 0;
          for (let c = 0; c < numClasses; c++) {
            if (votes[c] > votes[truth] || (votes[c] === votes[truth] && c < truth)) ahead++;
          }
          if (truth >= 0 && truth < numClasses && ahead < 5) correct5++;
        }
      }
    }
  } finally {
    bankT.dispose();
  }
  if (!options.queryLabels) return { predictions };
  return { predictions, top1: (100 * correct1) / Math.max(m, 1), top5: (100 * correct5) / Math.max(m, 1) };
}

/** Options of `knnEvaluate`. */
export interface KnnEvaluateOptions {
  /** Image feature: CLS token after the final norm, or normalised mean of patch tokens. */
  pooling: Pooling;
  /** Neighbours (default 20). */
  k?: number;
  /** Vote temperature (default 0.07). */
  temperature?: number;
  /** Images per encoder pass (default 256). */
  encodeBatchSize?: number;
}

/** Outcome of `knnEvaluate`. */
export interface KnnEvaluation {
  top1: number;
  top5: number;
  k: number;
  temperature: number;
  /** Seconds spent encoding both splits, and voting. */
  encodeSeconds: number;
  voteSeconds: number;
}

/**
 * k-NN accuracy of a frozen encoder: features of the whole train and val splits (centre/whole-image view at
 * the model's resolution, no augmentation), then `knnClassify` of val against train.
 */
export async function knnEvaluate(
  params: Params,
  cfg: VitConfig,
  train: ImageSplit,
  val: ImageSplit,
  options: KnnEvaluateOptions,
): Promise<KnnEvaluation> {
  const k = options.k ?? 20;
  const temperature = options.temperature ?? 0.07;
  const batch = options.encodeBatchSize ?? 256;
  const viewsOf = (split: ImageSplit) => (start: number, end: number) =>
    centerBatch(split, Int32Array.from({ length: end - start }, (_, i) => start + i), cfg.imageSize);
  const t0 = performance.now();
  const trainFeatures = await featuresOf(params, cfg, viewsOf(train), train.count, options.pooling, batch);
  const valFeatures = await featuresOf(params, cfg, viewsOf(val), val.count, options.pooling, batch);
  const t1 = performance.now();
  const result = await knnClassify({
    trainFeatures,
    trainLabels: train.labels,
    queryFeatures: valFeatures,
    queryLabels: val.labels,
    numClasses: train.numClasses,
    dim: cfg.dim,
    k,
    temperature,
  });
  return {
    top1: result.top1!,
    top5: result.top5!,
    k,
    temperature,
    encodeSeconds: (t1 - t0) / 1000,
    voteSeconds: (performance.now() - t1) / 1000,
  };
}
