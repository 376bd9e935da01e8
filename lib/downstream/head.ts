/**
 * The segmentation network: its shape (`SegmenterConfig`), its parameters (the encoder without its final
 * norm, plus a UperNet-style or a progressive head) and its forward pass, the small-scale stand-in for the
 * paper's ADE20K UperNet evaluation (BEiT/MAE's mmsegmentation setup). Features of 4 evenly spaced blocks
 * (the encoder's intermediate outputs, `encoderBlocks`' `intermediatesOf`) are turned into a 4-level
 * pyramid, fused by the head, and the per-pixel logits are upsampled bilinearly to the image.
 *
 * Departures from mmseg's UPerHead, all for speed on CPU backends and stated once here:
 * - Pyramid: the 4 block outputs (each LayerNorm-ed) are resampled ×4, ×2, ×1, ×½ (bilinear; for even grids
 *   ×½ is exactly 2×2 average pooling) instead of BEiT's learned deconvolutions / max pooling, and the
 *   resampling happens after the lateral 1×1 conv (exactly equivalent for the linear part, 16× cheaper).
 * - Normalisation: LayerNorm over channels after each conv (stateless) instead of BatchNorm.
 * - The pyramid-pooling module keeps only the global (scale 1) branch; no auxiliary FCN head; no dropout.
 *
 * Every op has a gradient on the wasm backend and stays on its fast path: dense layers are `linear`, 3×3
 * convolutions are `conv3x3` (./conv.ts), bilinear resampling is `resample` (./resample.ts); no gather.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { embedImages } from "../encode.ts";
import { layerNorm, linear } from "../ops.ts";
import { Rng } from "../rng.ts";
import {
  addParam,
  encoderBlocks,
  gridOf,
  initEncoder,
  normalInit,
  param,
  type Params,
  type VitConfig,
} from "../vit.ts";
import { conv3x3 } from "./conv.ts";
import { resample } from "./resample.ts";

/** Decoder head on top of the encoder. */
export type SegmentationHead = "upernet" | "progressive";

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
// Parameters
// ---------------------------------------------------------------------------------------------------------

/** A conv (no bias) + LayerNorm block's parameters; weights Kaiming-normal on the fan-in (ReLU follows). */
function addConvNorm(params: Params, prefix: string, cin: number, cout: number, k: 1 | 3, rng: Rng): void {
  const fanIn = cin * k * k;
  addParam(
    params,
    `${prefix}.conv.weight`,
    [cin, k * k * cout],
    normalInit(rng, cin * k * k * cout, Math.sqrt(2 / fanIn)),
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
  addParam(params, "head.cls.weight", [C, K], normalInit(rng.fork("cls"), C * K, 0.01));
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

// ---------------------------------------------------------------------------------------------------------
// Forward
// ---------------------------------------------------------------------------------------------------------

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
  const last = Math.max(...indices);
  if (last >= cfg.depth || Math.min(...indices) < 0) {
    throw new RangeError(`block indices [${indices}] for depth ${cfg.depth}`);
  }
  // The segmenter has no final norm: `skipNorm` matters when the last index is the last block.
  const { intermediates } = encoderBlocks(params, cfg, embedImages(params, cfg, images, batch), batch, {
    blocks: last + 1,
    skipNorm: true,
    dropPath,
    intermediatesOf: indices,
  });
  return indices.map((i) => intermediates.get(i)!);
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
