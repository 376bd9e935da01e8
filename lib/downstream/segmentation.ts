/**
 * Semantic segmentation on top of the ViT encoder, the small-scale stand-in for the paper's ADE20K UperNet
 * evaluation (BEiT/MAE's mmsegmentation setup): features of 4 evenly spaced blocks are turned into a
 * 4-level pyramid, fused by a UperNet-style head, and the per-pixel logits are upsampled bilinearly to the
 * image; trained end to end with AdamW, layer-wise lr decay on the encoder, linear warm-up + poly (or cosine)
 * decay, random scale/crop/flip augmentation; evaluated on whole val images by mIoU.
 *
 * Departures from mmseg's UPerHead, all for speed on CPU backends and stated once here:
 * - Pyramid: the 4 block outputs (each LayerNorm-ed) are resampled ×4, ×2, ×1, ×½ (bilinear; for even grids
 *   ×½ is exactly 2×2 average pooling) instead of BEiT's learned deconvolutions / max pooling, and the
 *   resampling happens after the lateral 1×1 conv (exactly equivalent for the linear part, 16× cheaper).
 * - Normalisation: LayerNorm over channels after each conv (stateless) instead of BatchNorm.
 * - The pyramid-pooling module keeps only the global (scale 1) branch; no auxiliary FCN head; no dropout.
 *
 * Every op has a gradient on the wasm backend and stays on its fast path: dense layers are `linear`,
 * 3×3 convolutions are one matMul plus shifted slices (wasm has no Conv2DBackpropFilter), bilinear resampling
 * is a product with a constant interpolation matrix along each axis; no gather.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { engineLabel } from "../backend.ts";
import type { RunDir } from "../cache/mod.ts";
import { cachedRun, UnusableRunError } from "../train/cached_run.ts";
import { centerBatch, DEFAULT_IGNORE_LABEL, randomScaleCropFlipSeg } from "../data/augment.ts";
import type { DatasetSpec, ImageSplit } from "../data/types.ts";
import { embedImages, isEncoderParam } from "../encode.ts";
import { confusionMatrix, emptyConfusion, miou } from "../eval/miou.ts";
import { customOp, layerNorm, linear, type SaveFn, sumRows } from "../ops.ts";
import { Rng } from "../rng.ts";
import { loadNamedInto, namedTensorsOf, trainLoop } from "../train/loop.ts";
import { AdamW, cosineLr, layerDecayScale } from "../train/optim.ts";
import { MODEL_FORMAT_VERSION, type RunEnv } from "../train/pretrain.ts";
import { addParam, blockForward, gridOf, initEncoder, param, type Params, type VitConfig } from "../vit.ts";

/** Version of the segmentation model/head format; part of every segmentation run's identity. */
export const SEGMENTATION_FORMAT_VERSION = 1;

/** Decoder head on top of the encoder. */
export type SegmentationHead = "upernet" | "progressive";

/** Segmentation fine-tuning recipe. */
export interface SegmentationRecipe {
  /** `upernet`: 4-level pyramid + UperNet fusion; `progressive`: last block, conv + ×2 upsampling stages. */
  head: SegmentationHead;
  /** Width of the head (mmseg/BEiT UperNet for ViT-B: 768). */
  channels: number;
  /** Training crop side = the encoder's input size; val images are resized to it and predicted whole. */
  cropSize: number;
  /** Passes over the train split (iterations = epochs × ⌊N / batch⌋). */
  epochs: number;
  batchSize: number;
  /** Peak (absolute) learning rate. */
  lr: number;
  minLr: number;
  /** Linear warm-up length in (fractional) epochs. */
  warmupEpochs: number;
  /** Decay after warm-up: mmseg's poly (power `polyPower`) or half-cycle cosine. */
  schedule: "poly" | "cosine";
  polyPower: number;
  weightDecay: number;
  /** Layer-wise lr decay of the encoder (BEiT/MAE ADE20K: 0.65); the head has scale 1. */
  layerDecay: number;
  /** Stochastic depth rate of the encoder (linearly increasing over blocks). */
  dropPath: number;
  /** Random rescale range of `randomScaleCropFlipSeg` (mmseg: 0.5–2). */
  scaleRange: [number, number];
  /** Blocks whose outputs feed the head (default: `defaultOutIndices(depth)`); UperNet needs 4. */
  outIndices?: number[];
  /** Gradient clipping by global norm; absent = none. */
  clipGrad?: number;
  /** Evaluate every N epochs (the last epoch always); default 1. */
  evalEvery?: number;
}

/**
 * Checks a recipe against sane ranges before anything is allocated (a head of 10⁸ channels would exhaust the
 * wasm heap minutes later): throws a RangeError naming the field, its range and the value.
 */
export function validateSegmentationRecipe(r: SegmentationRecipe): void {
  const ranges: [keyof SegmentationRecipe, number, number, boolean][] = [
    ["channels", 1, 4096, true],
    ["cropSize", 8, 2048, true],
    ["epochs", 1, 100000, true],
    ["batchSize", 1, 4096, true],
    ["lr", 1e-8, 1, false],
    ["minLr", 0, 1, false],
    ["warmupEpochs", 0, 100000, false],
    ["polyPower", 0.01, 10, false],
    ["weightDecay", 0, 1, false],
    ["layerDecay", 0.01, 1, false],
    ["dropPath", 0, 0.99, false],
  ];
  for (const [key, lo, hi, integer] of ranges) {
    const v = r[key] as number;
    if (!(typeof v === "number" && v >= lo && v <= hi && (!integer || Number.isInteger(v)))) {
      throw new RangeError(
        `segmentation recipe ${key} must be ${
          integer ? "an integer" : "a number"
        } in [${lo}, ${hi}], got ${v}`,
      );
    }
  }
  if (r.minLr > r.lr) throw new RangeError(`segmentation recipe minLr ${r.minLr} exceeds lr ${r.lr}`);
  if (r.warmupEpochs > r.epochs) {
    throw new RangeError(`segmentation recipe warmupEpochs ${r.warmupEpochs} exceeds epochs ${r.epochs}`);
  }
}

/** Shape of a segmentation model. */
export interface SegmenterConfig {
  /** The encoder at the segmentation input size (`imageSize` = crop size). */
  backbone: VitConfig;
  head: SegmentationHead;
  channels: number;
  numClasses: number;
  /** Block indices whose outputs the head reads (4 for UperNet, the last one is used by `progressive`). */
  outIndices: number[];
}

/**
 * Four evenly spaced block indices ending at the last block: depth 12 → [3, 5, 7, 11] (BEiT/MAE's UperNet
 * setup), otherwise `round((i + 1)·depth / 4) − 1` (depth 6 → [1, 2, 4, 5]; depth 2 → [0, 0, 1, 1]).
 */
export function defaultOutIndices(depth: number): number[] {
  if (depth === 12) return [3, 5, 7, 11];
  return [1, 2, 3, 4].map((i) => Math.max(0, Math.round((i * depth) / 4) - 1));
}

// ---------------------------------------------------------------------------------------------------------
// Fast-path building blocks
// ---------------------------------------------------------------------------------------------------------

/**
 * The `[m, n]` matrix of 1-D bilinear resampling from n to m samples with half-pixel centres (PyTorch's
 * `align_corners=False`, OpenCV, TF `halfPixelCenters`): output o reads source position
 * `(o + 0.5)·n/m − 0.5`, clamped to the edges. Halving an even length gives exactly pairwise averages.
 */
export function interpolationMatrix(n: number, m: number): Float32Array {
  const a = new Float32Array(m * n);
  for (let o = 0; o < m; o++) {
    let s = ((o + 0.5) * n) / m - 0.5;
    if (s < 0) s = 0;
    if (s > n - 1) s = n - 1;
    const lo = Math.floor(s);
    const hi = Math.min(lo + 1, n - 1);
    const f = s - lo;
    a[o * n + lo] += 1 - f;
    a[o * n + hi] += f;
  }
  return a;
}

const matrixCache = new Map<string, { a: tf.Tensor2D; at: tf.Tensor2D }>();
/** Cached constant resampling matrix `[m, n]` and its transpose (kept across steps on purpose). */
function resampleMatrices(n: number, m: number): { a: tf.Tensor2D; at: tf.Tensor2D } {
  const key = `${tf.getBackend()}:${n}:${m}`;
  let e = matrixCache.get(key);
  if (!e || e.a.isDisposed || e.at.isDisposed) {
    const a = interpolationMatrix(n, m);
    const at = new Float32Array(n * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) at[j * m + i] = a[i * n + j];
    e = { a: tf.keep(tf.tensor2d(a, [m, n])), at: tf.keep(tf.tensor2d(at, [n, m])) };
    matrixCache.set(key, e);
  }
  return e;
}

/** `A @ x` for a constant `A [m, n]` and x `[n, R]`; the gradient is the plain product `Aᵀ @ dy`. */
function mixRows(x: tf.Tensor2D, m: number): tf.Tensor2D {
  const n = x.shape[0];
  const { a, at } = resampleMatrices(n, m);
  const op = customOp<tf.Tensor2D>((...args) => {
    const [input] = args as [tf.Tensor, SaveFn];
    return {
      value: tf.matMul(a, input as tf.Tensor2D),
      gradFunc: (dy) => [tf.matMul(at, dy as tf.Tensor2D)],
    };
  });
  return op(x);
}

/**
 * Bilinear resize of NHWC maps `[B, h, w, C]` to `[B, H, W, C]` (half-pixel centres, edge clamping), as two
 * products with constant interpolation matrices; identity when the size is unchanged.
 */
export function resample(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  let [b, h, w, c] = x.shape;
  let y = x;
  if (h !== height) {
    const rows = tf.reshape(tf.transpose(y, [1, 0, 2, 3]), [h, b * w * c]) as tf.Tensor2D; // [h, B·w·C]
    y = tf.transpose(tf.reshape(mixRows(rows, height), [height, b, w, c]), [1, 0, 2, 3]);
    h = height;
  }
  if (w !== width) {
    const cols = tf.reshape(tf.transpose(y, [2, 0, 1, 3]), [w, b * h * c]) as tf.Tensor2D; // [w, B·h·C]
    y = tf.transpose(tf.reshape(mixRows(cols, width), [width, b, h, c]), [1, 2, 0, 3]);
  }
  return y;
}

/** Per-pixel dense layer on NHWC maps: `[B, h, w, Cin]` → `[B, h, w, Cout]`. */
function pointwise(x: tf.Tensor4D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor4D {
  const [b, h, wd, c] = x.shape;
  return tf.reshape(linear(tf.reshape(x, [b * h * wd, c]) as tf.Tensor2D, w, bias), [b, h, wd, w.shape[1]]);
}

/** Per-pixel LayerNorm over channels of NHWC maps. */
function channelNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(layerNorm(tf.reshape(x, [b * h * w, c]) as tf.Tensor2D, gamma, beta, 1e-5), [b, h, w, c]);
}

const conv3x3Op = customOp<tf.Tensor4D>((...args) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, SaveFn];
  const [b, h, wd, cin] = (x as tf.Tensor4D).shape;
  const cout = (w as tf.Tensor2D).shape[1] / 9;
  save([tf.reshape(x, [b * h * wd, cin]), w]);
  // Forward: the backend's own convolution (XNNPACK on wasm).
  const value = tf.conv2d(x as tf.Tensor4D, convWeightToFilter(w as tf.Tensor2D), 1, "same");
  return {
    value,
    gradFunc: (dy, saved) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const d = dy as tf.Tensor4D; // [B, h, w, cout]
      // out[y, x] = Σ_k (x @ W_k)[y + ky − 1, x + kx − 1], so dY_k[y, x] = dOut[y − ky + 1, x − kx + 1]:
      // 9 shifted windows of the zero-padded output gradient, `[N, 9·cout]`; then two plain products.
      const dp = tf.pad(d, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      const windows: tf.Tensor4D[] = [];
      for (let ky = 0; ky < 3; ky++) {
        for (let kx = 0; kx < 3; kx++) windows.push(tf.slice(dp, [0, 2 - ky, 2 - kx, 0], [b, h, wd, cout]));
      }
      const dY = tf.reshape(tf.concat(windows, 3), [b * h * wd, 9 * cout]) as tf.Tensor2D;
      const dx = tf.reshape(tf.matMul(dY, tf.transpose(ws)), [b, h, wd, cin]);
      const dw = tf.matMul(tf.transpose(xs), dY);
      return [dx, dw];
    },
  };
});

/**
 * 3×3 convolution, stride 1, zero padding 1, on NHWC maps, without bias. The weight is stored `[Cin, 9·Cout]`:
 * column `(ky·3 + kx)·Cout + o` holds PyTorch's `weight[o, i, ky, kx]` (`convWeightToFilter` converts).
 * Forward is `tf.conv2d`; the gradient is written with plain products and slices because the wasm backend
 * has no Conv2DBackpropFilter kernel.
 */
export function conv3x3(x: tf.Tensor4D, w: tf.Tensor2D): tf.Tensor4D {
  if (w.shape[1] % 9 !== 0 || w.shape[0] !== x.shape[3]) {
    throw new RangeError(`conv3x3 weight [${w.shape}] does not fit ${x.shape[3]} input channels`);
  }
  return conv3x3Op(x, w);
}

/** The `[3, 3, Cin, Cout]` filter of `tf.conv2d` equal to a `conv3x3` weight `[Cin, 9·Cout]`. */
export function convWeightToFilter(w: tf.Tensor2D): tf.Tensor4D {
  const [cin, n] = w.shape;
  return tf.transpose(tf.reshape(w, [cin, 3, 3, n / 9]), [1, 2, 0, 3]);
}

// ---------------------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------------------

/** Normal(0, std²) values. */
function normal(rng: Rng, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

/** A conv (no bias) + LayerNorm block's parameters; weights Kaiming-normal on the fan-in (ReLU follows). */
function addConvNorm(params: Params, prefix: string, cin: number, cout: number, k: 1 | 3, rng: Rng): void {
  const fanIn = cin * k * k;
  addParam(
    params,
    `${prefix}.conv.weight`,
    [cin, k * k * cout],
    normal(rng, cin * k * k * cout, Math.sqrt(2 / fanIn)),
  );
  addParam(params, `${prefix}.norm.weight`, [cout], new Float32Array(cout).fill(1));
  addParam(params, `${prefix}.norm.bias`, [cout]);
}

/** Number of ×2 stages of the progressive head: upsample until the stride is at most 4 (at least one). */
export function progressiveStages(patchSize: number): number {
  let stages = 0;
  let stride = patchSize;
  while (stages === 0 || stride > 4) {
    stride /= 2;
    stages++;
  }
  return stages;
}

/** Spatial sizes of the 4 UperNet levels for a `g × g` patch grid: ×4, ×2, ×1, ×½. */
export function pyramidSizes(grid: number): [number, number, number, number] {
  return [4 * grid, 2 * grid, grid, Math.max(1, Math.floor(grid / 2))];
}

/** Adds the head's parameters (names start with `head.`: not encoder parameters, layer-decay scale 1). */
export function initSegmentationHead(params: Params, sc: SegmenterConfig, rng: Rng): void {
  const D = sc.backbone.dim;
  const C = sc.channels;
  const K = sc.numClasses;
  const ones = new Float32Array(D).fill(1);
  if (sc.head === "upernet") {
    if (sc.outIndices.length !== 4) {
      throw new RangeError(`UperNet needs 4 out indices, got [${sc.outIndices}]`);
    }
    for (let i = 0; i < 4; i++) {
      addParam(params, `head.levels.${i}.norm.weight`, [D], ones);
      addParam(params, `head.levels.${i}.norm.bias`, [D]);
    }
    for (let i = 0; i < 3; i++) addConvNorm(params, `head.lateral.${i}`, D, C, 1, rng.fork(`lateral${i}`));
    // Pyramid pooling (global branch) and its 3×3 bottleneck over [level-3 features, pooled context].
    addConvNorm(params, "head.ppm", D, C, 1, rng.fork("ppm"));
    addConvNorm(params, "head.psp_bottleneck", D + C, C, 3, rng.fork("psp"));
    for (let i = 0; i < 3; i++) addConvNorm(params, `head.fpn.${i}`, C, C, 3, rng.fork(`fpn${i}`));
    addConvNorm(params, "head.fpn_bottleneck", 4 * C, C, 3, rng.fork("fpn_bottleneck"));
  } else {
    addParam(params, "head.levels.0.norm.weight", [D], ones);
    addParam(params, "head.levels.0.norm.bias", [D]);
    addConvNorm(params, "head.proj", D, C, 1, rng.fork("proj"));
    const stages = progressiveStages(sc.backbone.patchSize);
    for (let s = 0; s < stages; s++) addConvNorm(params, `head.up.${s}`, C, C, 3, rng.fork(`up${s}`));
  }
  // Classifier: normal(0, 0.01) as mmseg's conv_seg.
  addParam(params, "head.cls.weight", [C, K], normal(rng.fork("cls"), C * K, 0.01));
  addParam(params, "head.cls.bias", [K]);
}

/** Encoder (without its final norm, which the head does not read) + head, initialised from a seed. */
export function buildSegmenter(sc: SegmenterConfig, seed: number): Params {
  const rng = new Rng(seed).fork("segmentation-init");
  const params: Params = new Map();
  initEncoder(params, sc.backbone, rng.fork("encoder"));
  for (const n of ["norm.weight", "norm.bias"]) {
    params.get(n)!.dispose();
    params.delete(n);
  }
  initSegmentationHead(params, sc, rng.fork("head"));
  return params;
}

function keepMask(batch: number, rate: number, rng: Rng): tf.Tensor2D {
  const keep = 1 - rate;
  const m = new Float32Array(batch);
  for (let b = 0; b < batch; b++) m[b] = rng.next() < keep ? 1 / keep : 0;
  return tf.tensor2d(m, [batch, 1]);
}

/**
 * Patch-token outputs of the blocks `indices` (any order, repeats allowed), each `[B·L, D]` without the
 * CLS token; blocks after the last index are not run. Drop path follows `encoderBlocks`' linear rule.
 */
export function blockOutputs(
  params: Params,
  cfg: VitConfig,
  images: Float32Array,
  batch: number,
  indices: number[],
  dropPath?: { rate: number; rng: Rng },
): tf.Tensor2D[] {
  const L = gridOf(cfg).count;
  const last = Math.max(...indices);
  if (last >= cfg.depth || Math.min(...indices) < 0) {
    throw new RangeError(`block indices [${indices}] for depth ${cfg.depth}`);
  }
  let x = embedImages(params, cfg, images, batch); // [B·(1+L), D]
  const byBlock = new Map<number, tf.Tensor2D>();
  for (let i = 0; i <= last; i++) {
    let masks: { attn: tf.Tensor2D; mlp: tf.Tensor2D } | undefined;
    if (dropPath && dropPath.rate > 0) {
      const rate = cfg.depth > 1 ? (dropPath.rate * i) / (cfg.depth - 1) : dropPath.rate;
      if (rate > 0) {
        masks = { attn: keepMask(batch, rate, dropPath.rng), mlp: keepMask(batch, rate, dropPath.rng) };
      }
    }
    x = blockForward(params, `blocks.${i}`, x, batch, cfg.heads, { dropPath: masks }).x;
    if (indices.includes(i)) {
      const patches = tf.slice(tf.reshape(x, [batch, 1 + L, cfg.dim]), [0, 1, 0], [batch, L, cfg.dim]);
      byBlock.set(i, tf.reshape(patches, [batch * L, cfg.dim]));
    }
  }
  return indices.map((i) => byBlock.get(i)!);
}

/** conv (1×1 or 3×3, no bias) → LayerNorm → ReLU on NHWC maps. */
function convNormRelu(params: Params, prefix: string, x: tf.Tensor4D, k: 1 | 3): tf.Tensor4D {
  const w = param<tf.Tensor2D>(params, `${prefix}.conv.weight`);
  const y = k === 1 ? pointwise(x, w) : conv3x3(x, w);
  return tf.relu(
    channelNorm(y, param(params, `${prefix}.norm.weight`), param(params, `${prefix}.norm.bias`)),
  );
}

/** Head outputs of `segmentationLogits`. */
export interface SegmentationLogits {
  /** `[B, H, W, K]` logits at the requested output size (default: the input size). */
  logits: tf.Tensor4D;
  /** `[B, h, w, K]` logits at the head's own resolution (UperNet: 4·grid; progressive: grid·2^stages). */
  headLogits: tf.Tensor4D;
}

/** Per-pixel class logits of normalised NHWC images `[B, S, S, 3]` (S = `backbone.imageSize`). */
export function segmentationLogits(
  params: Params,
  sc: SegmenterConfig,
  images: Float32Array,
  batch: number,
  opts: { outputSize?: [number, number]; dropPath?: { rate: number; rng: Rng } } = {},
): SegmentationLogits {
  const cfg = sc.backbone;
  const g = gridOf(cfg).rows;
  const D = cfg.dim;
  const [outH, outW] = opts.outputSize ?? [cfg.imageSize, cfg.imageSize];
  const levelMap = (t: tf.Tensor2D, i: number) =>
    tf.reshape(
      layerNorm(
        t,
        param(params, `head.levels.${i}.norm.weight`),
        param(params, `head.levels.${i}.norm.bias`),
      ),
      [batch, g, g, D],
    ) as tf.Tensor4D;
  let fused: tf.Tensor4D;
  if (sc.head === "upernet") {
    const feats = blockOutputs(params, cfg, images, batch, sc.outIndices, opts.dropPath).map(levelMap);
    const sizes = pyramidSizes(g);
    // Laterals at the grid resolution, then resampled to their level (bilinear ×4, ×2, ×1).
    const laterals: tf.Tensor4D[] = [];
    for (let i = 0; i < 3; i++) {
      laterals.push(resample(convNormRelu(params, `head.lateral.${i}`, feats[i], 1), sizes[i], sizes[i]));
    }
    // Top level: ×½ pooling, then the pyramid-pooling module (global context) and its 3×3 bottleneck.
    const top = resample(feats[3], sizes[3], sizes[3]); // [B, g/2, g/2, D]
    const context = tf.mean(tf.reshape(top, [batch, sizes[3] * sizes[3], D]), 1, true); // [B, 1, D]
    const pooled = convNormRelu(params, "head.ppm", tf.reshape(context, [batch, 1, 1, D]), 1); // [B, 1, 1, C]
    const broadcastContext = tf.mul(pooled, tf.ones([1, sizes[3], sizes[3], 1])) as tf.Tensor4D;
    laterals.push(convNormRelu(params, "head.psp_bottleneck", tf.concat([top, broadcastContext], 3), 3));
    // Top-down pathway.
    for (let i = 2; i >= 0; i--) {
      laterals[i] = tf.add(laterals[i], resample(laterals[i + 1], sizes[i], sizes[i]));
    }
    const outs: tf.Tensor4D[] = [];
    for (let i = 0; i < 3; i++) outs.push(convNormRelu(params, `head.fpn.${i}`, laterals[i], 3));
    outs.push(laterals[3]);
    const upsampled = outs.map((o) => resample(o, sizes[0], sizes[0]));
    fused = convNormRelu(params, "head.fpn_bottleneck", tf.concat(upsampled, 3), 3);
  } else {
    const [last] = blockOutputs(
      params,
      cfg,
      images,
      batch,
      [sc.outIndices[sc.outIndices.length - 1]],
      opts.dropPath,
    );
    let x = convNormRelu(params, "head.proj", levelMap(last, 0), 1);
    const stages = progressiveStages(cfg.patchSize);
    let size = g;
    for (let s = 0; s < stages; s++) {
      x = convNormRelu(params, `head.up.${s}`, x, 3);
      size *= 2;
      x = resample(x, size, size);
    }
    fused = x;
  }
  const headLogits = pointwise(fused, param(params, "head.cls.weight"), param(params, "head.cls.bias"));
  return { logits: resample(headLogits, outH, outW), headLogits };
}

/**
 * Mean per-pixel cross-entropy over the pixels whose label is not `ignoreLabel` (mmseg's
 * `CrossEntropyLoss` with `ignore_index`, reduction mean over valid pixels). logits `[B, H, W, K]`, labels
 * `[B·H·W]`. A batch without valid pixels has loss 0.
 */
export function pixelCrossEntropy(logits: tf.Tensor4D, labels: Int32Array, ignoreLabel: number): tf.Scalar {
  const [b, h, w, k] = logits.shape;
  const n = b * h * w;
  if (labels.length !== n) throw new RangeError(`${labels.length} labels for ${n} pixels`);
  // Void pixels become −1, whose one-hot row is all zeros.
  const targets = new Int32Array(n);
  let valid = 0;
  for (let i = 0; i < n; i++) {
    const t = labels[i];
    if (t === ignoreLabel) {
      targets[i] = -1;
      continue;
    }
    if (!(t >= 0 && t < k)) throw new RangeError(`label ${t} at pixel ${i} is outside 0..${k - 1}`);
    targets[i] = t;
    valid++;
  }
  const logProbs = tf.logSoftmax(tf.reshape(logits, [n, k]) as tf.Tensor2D); // [N, K]
  const picked = tf.mul(logProbs, tf.oneHot(tf.tensor1d(targets, "int32"), k)) as tf.Tensor2D;
  // Sum rows on the fast path, then the K class columns.
  return tf.div(tf.neg(tf.sum(sumRows(picked))), Math.max(valid, 1)) as tf.Scalar;
}

// ---------------------------------------------------------------------------------------------------------
// Schedules, classes, evaluation
// ---------------------------------------------------------------------------------------------------------

/** mmcv's linear warm-up start ratio. */
const WARMUP_RATIO = 1e-6;

/**
 * mmseg's poly schedule with linear warm-up at fractional epoch `epoch`: regular = (lr − minLr)·(1 − t/T)^power
 * + minLr over the whole run; during warm-up it is scaled by `1 − (1 − t/warm)·(1 − 1e-6)`.
 */
export function polyLr(
  epoch: number,
  o: { lr: number; minLr: number; warmupEpochs: number; epochs: number; power: number },
): number {
  const progress = Math.min(Math.max(epoch / o.epochs, 0), 1);
  const regular = (o.lr - o.minLr) * Math.pow(1 - progress, o.power) + o.minLr;
  if (epoch < o.warmupEpochs) return regular * (1 - (1 - epoch / o.warmupEpochs) * (1 - WARMUP_RATIO));
  return regular;
}

/** Learning rate of a recipe at fractional epoch `epoch`. */
export function segmentationLr(r: SegmentationRecipe, epoch: number): number {
  const o = { lr: r.lr, minLr: r.minLr, warmupEpochs: r.warmupEpochs, epochs: r.epochs };
  return r.schedule === "poly" ? polyLr(epoch, { ...o, power: r.polyPower }) : cosineLr(epoch, o);
}

/**
 * The segmentation classes of a split: a split with an ignore label (CamVid) has `numClasses` classes; a split
 * without one (synthetic shapes) labels background 0 and object `1 + class`, so it has `numClasses + 1`.
 */
export function segmentationClasses(
  split: ImageSplit,
): { count: number; names: string[]; ignoreLabel: number } {
  if (!split.segmentation) throw new Error(`split ${split.name} has no segmentation maps`);
  if (split.ignoreLabel !== undefined) {
    return { count: split.numClasses, names: [...split.classNames], ignoreLabel: split.ignoreLabel };
  }
  return {
    count: split.numClasses + 1,
    names: ["background", ...split.classNames],
    ignoreLabel: DEFAULT_IGNORE_LABEL,
  };
}

/** Metrics of a whole-image evaluation (percentages) with the per-class IoU (fractions; NaN = absent). */
export interface SegmentationEvaluation {
  miou: number;
  pixelAcc: number;
  meanAcc: number;
  perClassIoU: number[];
}

/**
 * Whole-image evaluation: every val image resized (bilinear) to the model's input size, logits resized back
 * to the split's label resolution, argmax, confusion against the split's own label maps (ignore label skipped).
 */
export async function evaluateSegmentation(
  params: Params,
  sc: SegmenterConfig,
  split: ImageSplit,
  ignoreLabel: number,
  batchSize = 16,
): Promise<SegmentationEvaluation> {
  if (split.width !== split.height) {
    throw new RangeError(
      `whole-image evaluation needs square images, ${split.name} is ${split.width}×${split.height}`,
    );
  }
  const conf = emptyConfusion(sc.numClasses);
  const size = sc.backbone.imageSize;
  const pixels = split.height * split.width;
  for (let s = 0; s < split.count; s += batchSize) {
    const idx = Int32Array.from({ length: Math.min(batchSize, split.count - s) }, (_, i) => s + i);
    const pred = tf.tidy(() => {
      const images = centerBatch(split, idx, size);
      const { logits } = segmentationLogits(params, sc, images, idx.length, {
        outputSize: [split.height, split.width],
      });
      return tf.argMax(logits, 3); // [B, H, W]
    });
    const p = await pred.data();
    pred.dispose();
    confusionMatrix(
      p,
      split.segmentation!.subarray(s * pixels, (s + idx.length) * pixels),
      sc.numClasses,
      ignoreLabel,
      conf,
    );
  }
  const m = miou(conf);
  return {
    miou: 100 * m.miou,
    pixelAcc: 100 * m.pixelAcc,
    meanAcc: 100 * m.meanAcc,
    perClassIoU: m.perClassIoU,
  };
}

// ---------------------------------------------------------------------------------------------------------
// The cached run
// ---------------------------------------------------------------------------------------------------------

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
    model: {
      imageSize: m.imageSize,
      patchSize: m.patchSize,
      dim: m.dim,
      depth: m.depth,
      heads: m.heads,
      mlpRatio: m.mlpRatio,
    },
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
export interface SegmentationOutcome {
  hash: string;
  /** mIoU (%) on the val split after the last epoch. */
  miou: number;
  /** IoU (%) per class name; null for classes absent from both predictions and labels. */
  perClassIoU: Record<string, number | null>;
  metrics: Record<string, unknown>;
  cacheHit: boolean;
  history: Record<string, number>[];
}

/**
 * Fine-tunes encoder + head for semantic segmentation (or loads the finished run from the cache).
 * `encoder` holds pre-trained encoder weights (or null for random init, matching `spec.from === null`).
 */
export async function segment(
  spec: SegmentationSpec,
  encoder: Params | null,
  data: { train: ImageSplit; val: ImageSplit },
  env: RunEnv,
): Promise<SegmentationOutcome> {
  const log = env.log ?? ((l: string) => console.error(l));
  if ((encoder === null) !== (spec.from === null)) {
    throw new Error(
      `segmentation spec.from is ${spec.from} but an encoder was ${encoder ? "" : "not "}given`,
    );
  }
  return await cachedRun<Omit<SegmentationOutcome, "hash" | "cacheHit">>({
    kind: "segmentation",
    identity: segmentationIdentity(spec),
    cache: env.cache,
    stopSignal: env.stopSignal,
    log,
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
    train: (run, heartbeat) => trainSegmenter(spec, encoder, data, env, run, heartbeat),
  });
}

async function trainSegmenter(
  spec: SegmentationSpec,
  encoder: Params | null,
  data: { train: ImageSplit; val: ImageSplit },
  env: RunEnv,
  run: RunDir,
  heartbeat: () => Promise<void>,
): Promise<Omit<SegmentationOutcome, "hash" | "cacheHit">> {
  const log = env.log ?? ((l: string) => console.error(l));
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
    log: env.log,
    progress: env.progress,
    stopSignal: env.stopSignal,
    lossHook: env.lossHook,
    heartbeat, // keeps the run's lock fresh on long runs
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
