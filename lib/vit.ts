/**
 * Vision Transformer encoder as in MAE (He et al.): patch embedding, CLS token, fixed 2-D sin-cos positional
 * embedding, pre-norm blocks (multi-head self-attention, GELU MLP, LayerNorm eps 1e-6), final norm.
 *
 * Parameters live in a flat `Params` map with timm-style names; linear weights are stored `[in, out]` (the
 * safetensors converter transposes timm's `[out, in]` and splits its fused `qkv`). Activations are token-major
 * 2-D tensors `[B·T, D]` so every linear layer is one plain 2-D matMul.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { gelu, layerNorm, linear, multiHeadAttention, repeatRow } from "./ops.ts";
import type { Rng } from "./rng.ts";

/** Shape of a ViT encoder. */
export interface VitConfig {
  /** Square input side in pixels, e.g. 224. */
  imageSize: number;
  /** Square patch side in pixels, e.g. 16. */
  patchSize: number;
  /** Embedding width D. */
  dim: number;
  /** Number of blocks. */
  depth: number;
  /** Attention heads (must divide `dim`). */
  heads: number;
  /** MLP hidden width / block width, e.g. 4. */
  mlpRatio: number;
}

/** The encoder's shape alone out of a larger config (e.g. an MAE config with decoder fields). */
export function encoderConfig(m: VitConfig): VitConfig {
  return {
    imageSize: m.imageSize,
    patchSize: m.patchSize,
    dim: m.dim,
    depth: m.depth,
    heads: m.heads,
    mlpRatio: m.mlpRatio,
  };
}

/** Named presets; ViT-B/16 is the paper's backbone. */
export const VIT_PRESETS: Record<string, Omit<VitConfig, "imageSize" | "patchSize">> = {
  "vit-base": { dim: 768, depth: 12, heads: 12, mlpRatio: 4 },
  "vit-small": { dim: 384, depth: 12, heads: 6, mlpRatio: 4 },
  "vit-tiny": { dim: 192, depth: 12, heads: 3, mlpRatio: 4 },
};

/** A flat map of named trainable tensors. */
export type Params = Map<string, tf.Variable>;

/** Patches per side and in total. */
export function gridOf(
  cfg: { imageSize: number; patchSize: number },
): { rows: number; cols: number; count: number } {
  const rows = cfg.imageSize / cfg.patchSize;
  return { rows, cols: rows, count: rows * rows };
}

/** Validates a ViT config, throwing a RangeError that names the bad field. */
export function validateVitConfig(cfg: VitConfig): void {
  for (const k of ["imageSize", "patchSize", "dim", "depth", "heads", "mlpRatio"] as const) {
    if (!(Number.isFinite(cfg[k]) && cfg[k] > 0)) {
      throw new RangeError(`model.${k} must be positive, got ${cfg[k]}`);
    }
  }
  if (cfg.imageSize % cfg.patchSize !== 0) {
    throw new RangeError(`patch size ${cfg.patchSize} does not divide image size ${cfg.imageSize}`);
  }
  if (cfg.dim % cfg.heads !== 0) {
    throw new RangeError(`dim ${cfg.dim} is not divisible by heads ${cfg.heads}`);
  }
}

/**
 * Fixed 2-D sin-cos positional embedding `[1 + L, dim]` (row 0, the CLS position, is zeros), as MAE:
 * half the channels encode the row (h) coordinate, half the column (w) coordinate.
 */
export function sinCosPosEmbed(dim: number, gridSide: number): Float32Array {
  if (dim % 4 !== 0) {
    throw new RangeError(`sin-cos positional embedding needs dim divisible by 4, got ${dim}`);
  }
  const L = gridSide * gridSide;
  const out = new Float32Array((1 + L) * dim);
  const quarter = dim / 4;
  const omega = new Float64Array(quarter);
  for (let i = 0; i < quarter; i++) omega[i] = 1 / Math.pow(10000, i / quarter);
  for (let h = 0; h < gridSide; h++) {
    for (let w = 0; w < gridSide; w++) {
      const row = (1 + h * gridSide + w) * dim;
      // MAE's meshgrid puts w first: the first half encodes w, the second half h.
      for (let i = 0; i < quarter; i++) {
        out[row + i] = Math.sin(w * omega[i]);
        out[row + quarter + i] = Math.cos(w * omega[i]);
        out[row + 2 * quarter + i] = Math.sin(h * omega[i]);
        out[row + 3 * quarter + i] = Math.cos(h * omega[i]);
      }
    }
  }
  return out;
}

/**
 * MAE's patchify on NHWC float images: `[B, H, W, 3]` → `[B, L, p·p·3]`, patches row-major over the grid,
 * pixels inside a patch in (row, column, channel) order.
 */
export function patchify(images: Float32Array, batch: number, size: number, p: number): Float32Array {
  const out = new Float32Array(batch * size * size * 3);
  forEachPatchRow(batch, size, p, (pixel, patch, n) => out.set(images.subarray(pixel, pixel + n), patch));
  return out;
}

/** Inverse of `patchify`. */
export function unpatchify(patches: Float32Array, batch: number, size: number, p: number): Float32Array {
  const out = new Float32Array(batch * size * size * 3);
  forEachPatchRow(batch, size, p, (pixel, patch, n) => out.set(patches.subarray(patch, patch + n), pixel));
  return out;
}

/**
 * Visits every row of pixels inside every patch: `f(pixel, patch, n)` gets the row's offset in the
 * `[batch, size, size, 3]` image and in the `[batch, L, p·p·3]` patches, and its length (p·3 floats).
 */
function forEachPatchRow(
  batch: number,
  size: number,
  p: number,
  f: (pixel: number, patch: number, n: number) => void,
): void {
  const g = size / p;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const base = b * size * size * 3;
    for (let gh = 0; gh < g; gh++) {
      for (let gw = 0; gw < g; gw++) {
        for (let i = 0; i < p; i++) {
          f(base + ((gh * p + i) * size + gw * p) * 3, o, p * 3);
          o += p * 3;
        }
      }
    }
  }
}

/** Xavier-uniform `[fanIn, fanOut]` weights from a seeded stream (MAE initialises every Linear this way). */
export function xavierUniform(rng: Rng, fanIn: number, fanOut: number): Float32Array {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  const w = new Float32Array(fanIn * fanOut);
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * a;
  return w;
}

/** Normal(0, std²) values (MAE: CLS and mask tokens, std 0.02). */
export function normalInit(rng: Rng, n: number, std: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = rng.normal() * std;
  return w;
}

/** Adds a variable to a parameter map. */
export function addParam(params: Params, name: string, shape: number[], values?: Float32Array): void {
  if (params.has(name)) throw new Error(`duplicate parameter ${name}`);
  const t = values ? tf.tensor(values, shape) : tf.zeros(shape);
  params.set(name, tf.variable(t, true, name.replace(/[^A-Za-z0-9_.\-/]/g, "_") + "_" + nextId++));
  t.dispose();
}
let nextId = 0;

/** Adds the parameters of one transformer block (`prefix` like "blocks.3"). */
export function initBlock(params: Params, prefix: string, dim: number, mlpRatio: number, rng: Rng): void {
  const hidden = Math.round(dim * mlpRatio);
  const ones = new Float32Array(dim).fill(1);
  addParam(params, `${prefix}.norm1.weight`, [dim], ones);
  addParam(params, `${prefix}.norm1.bias`, [dim]);
  // timm fuses q, k, v into one [3D, D] Linear, xavier-initialised on the fused shape; keep that bound.
  const qkvBound = Math.sqrt(6 / (dim + 3 * dim));
  for (const n of ["q", "k", "v"]) {
    const w = new Float32Array(dim * dim);
    for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * qkvBound;
    addParam(params, `${prefix}.attn.${n}.weight`, [dim, dim], w);
    addParam(params, `${prefix}.attn.${n}.bias`, [dim]);
  }
  addParam(params, `${prefix}.attn.proj.weight`, [dim, dim], xavierUniform(rng, dim, dim));
  addParam(params, `${prefix}.attn.proj.bias`, [dim]);
  addParam(params, `${prefix}.norm2.weight`, [dim], ones);
  addParam(params, `${prefix}.norm2.bias`, [dim]);
  addParam(params, `${prefix}.mlp.fc1.weight`, [dim, hidden], xavierUniform(rng, dim, hidden));
  addParam(params, `${prefix}.mlp.fc1.bias`, [hidden]);
  addParam(params, `${prefix}.mlp.fc2.weight`, [hidden, dim], xavierUniform(rng, hidden, dim));
  addParam(params, `${prefix}.mlp.fc2.bias`, [dim]);
}

/** Creates the encoder's parameters (patch embedding, CLS token, blocks, final norm). */
export function initEncoder(params: Params, cfg: VitConfig, rng: Rng): void {
  validateVitConfig(cfg);
  const P = cfg.patchSize * cfg.patchSize * 3;
  // MAE initialises the patch-embedding conv like a Linear on its flattened view.
  addParam(params, "patch_embed.proj.weight", [P, cfg.dim], xavierUniform(rng, P, cfg.dim));
  addParam(params, "patch_embed.proj.bias", [cfg.dim]);
  addParam(params, "cls_token", [1, cfg.dim], normalInit(rng, cfg.dim, 0.02));
  for (let i = 0; i < cfg.depth; i++) initBlock(params, `blocks.${i}`, cfg.dim, cfg.mlpRatio, rng);
  addParam(params, "norm.weight", [cfg.dim], new Float32Array(cfg.dim).fill(1));
  addParam(params, "norm.bias", [cfg.dim]);
}

/** Looks a parameter up, with a clear error naming it. */
export function param<T extends tf.Tensor = tf.Tensor>(params: Params, name: string): T {
  const p = params.get(name);
  if (!p) throw new Error(`missing parameter ${name}`);
  return p as unknown as T;
}

/** Per-call options of a transformer block. */
export interface BlockOptions {
  /** Per-sample residual keep mask `[B, 1]`, already divided by the keep probability (drop path). */
  dropPath?: { attn?: tf.Tensor2D; mlp?: tf.Tensor2D };
  /** Return the block's pre-softmax attention logits `[Tq, B·H, Tk]`. */
  returnLogits?: boolean;
}

function residual(x: tf.Tensor2D, branch: tf.Tensor2D, batch: number, keep?: tf.Tensor2D): tf.Tensor2D {
  if (!keep) return tf.add(x, branch);
  const [bt, d] = branch.shape;
  return tf.add(x, tf.reshape(tf.mul(tf.reshape(branch, [batch, (bt / batch) * d]), keep), [bt, d]));
}

/** A linear layer's parameters: weight `[in, out]`, bias `[out]`. */
export interface LinearParams {
  weight: tf.Tensor2D;
  bias: tf.Tensor1D;
}

/** A norm's parameters: scale and shift `[D]`. */
export interface NormParams {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
}

/** One transformer block's parameters under timm's names (`norm1`, `attn.{q,k,v,proj}`, `norm2`, `mlp.fc1/2`). */
export interface BlockParams {
  norm1: NormParams;
  q: LinearParams;
  k: LinearParams;
  v: LinearParams;
  proj: LinearParams;
  norm2: NormParams;
  fc1: LinearParams;
  fc2: LinearParams;
}

/** The typed view of the block at `prefix` (e.g. "blocks.3"): each tensor looked up once, by name. */
export function blockParams(params: Params, prefix: string): BlockParams {
  const linearAt = (n: string): LinearParams => ({
    weight: param<tf.Tensor2D>(params, `${prefix}.${n}.weight`),
    bias: param<tf.Tensor1D>(params, `${prefix}.${n}.bias`),
  });
  const normAt = (n: string): NormParams => ({
    weight: param<tf.Tensor1D>(params, `${prefix}.${n}.weight`),
    bias: param<tf.Tensor1D>(params, `${prefix}.${n}.bias`),
  });
  return {
    norm1: normAt("norm1"),
    q: linearAt("attn.q"),
    k: linearAt("attn.k"),
    v: linearAt("attn.v"),
    proj: linearAt("attn.proj"),
    norm2: normAt("norm2"),
    fc1: linearAt("mlp.fc1"),
    fc2: linearAt("mlp.fc2"),
  };
}

/** The q and k projections of a block's normalised input (what GPA needs from a teacher). */
export function blockQK(params: Params, prefix: string, x: tf.Tensor2D): { q: tf.Tensor2D; k: tf.Tensor2D } {
  const b = blockParams(params, prefix);
  const h = layerNorm(x, b.norm1.weight, b.norm1.bias);
  return { q: linear(h, b.q.weight, b.q.bias), k: linear(h, b.k.weight, b.k.bias) };
}

/** One pre-norm transformer block on `[B·T, D]` tokens. */
export function blockForward(
  params: Params,
  prefix: string,
  x: tf.Tensor2D, // [B·T, D]
  batch: number,
  heads: number,
  opts: BlockOptions = {},
): { x: tf.Tensor2D; logits?: tf.Tensor3D } {
  const b = blockParams(params, prefix);
  const h = layerNorm(x, b.norm1.weight, b.norm1.bias);
  const q = linear(h, b.q.weight, b.q.bias); // [B·T, D]
  const k = linear(h, b.k.weight, b.k.bias);
  const v = linear(h, b.v.weight, b.v.bias);
  const att = multiHeadAttention(q, k, v, batch, heads, { returnLogits: opts.returnLogits });
  const a = linear(att.out, b.proj.weight, b.proj.bias);
  const x1 = residual(x, a, batch, opts.dropPath?.attn); // x + attn(norm1(x))
  const h2 = layerNorm(x1, b.norm2.weight, b.norm2.bias);
  const m = linear(gelu(linear(h2, b.fc1.weight, b.fc1.bias)), b.fc2.weight, b.fc2.bias); // [B·T, D]
  return { x: residual(x1, m, batch, opts.dropPath?.mlp), logits: att.logits };
}

/**
 * Tokens whose content is replaced by a learned token before the positions are added (UM-MAE's secondary
 * masking): `marks` `[B·N, 1]`, 1 = replace, 0 = keep; `token` `[1, D]`.
 */
export interface TokenReplacement {
  marks: tf.Tensor2D;
  token: tf.Tensor2D;
}

/**
 * Embeds patches and prepends the CLS token: patches `[B·N, p·p·3]` (N patches per sample, any subset of the
 * grid) plus their positional rows `[B·N, D]` → tokens `[B·(1+N), D]`, CLS first in every sample. With
 * `replace`, a marked patch's embedding becomes `replace.token`: token = e·(1 − s) + t·s + pos.
 */
export function embedTokens(
  params: Params,
  patches: tf.Tensor2D,
  pos: tf.Tensor2D,
  batch: number,
  replace?: TokenReplacement,
): tf.Tensor2D {
  const [bn] = patches.shape;
  const n = bn / batch;
  let content = linear(
    patches,
    param(params, "patch_embed.proj.weight"),
    param(params, "patch_embed.proj.bias"),
  ); // [B·N, D]
  if (replace) {
    // Mixed by products, not a select: 0·e = 0 and 1·t = t exactly, so a marked token is exactly t + pos and
    // an unmarked one exactly e + pos, and both paths of the ops layer differentiate it. s ⊗ t is a [B·N, 1] ×
    // [1, D] product, so t's gradient is sᵀ·dy on the fast path (a broadcast would sum rows slowly on wasm).
    const { marks, token } = replace;
    content = tf.add(tf.mul(content, tf.sub(1, marks)), linear(marks, token)) as tf.Tensor2D;
  }
  const e = tf.add(content, pos) as tf.Tensor2D; // [B·N, D]
  const d = e.shape[1];
  // The CLS position's embedding is zero in MAE, so the CLS token is used as is.
  const cls = tf.reshape(repeatRow(param(params, "cls_token"), batch), [batch, 1, d]);
  return tf.reshape(tf.concat([cls, tf.reshape(e, [batch, n, d])], 1), [batch * (1 + n), d]);
}

/** Options of an encoder pass. */
export interface EncoderOptions {
  /** Stop after this many blocks (a teacher that only needs early blocks). Default: all. */
  blocks?: number;
  /** Skip the final norm. */
  skipNorm?: boolean;
  /** Blocks whose pre-softmax logits to return. */
  logitsOf?: number[];
  /** Drop-path rate (stochastic depth, linearly increasing over blocks) and its random stream. */
  dropPath?: { rate: number; rng: Rng };
  /**
   * Blocks whose outputs to return, each in `[0, blocks)`, as timm's `forward_intermediates`: the patch
   * tokens `[B·(T−1), D]` right after that block, CLS token dropped (timm's default) and no final norm.
   * Dense heads (segmentation) read several depths of one pass; `blocks` plays timm's `stop_early`.
   */
  intermediatesOf?: number[];
}

/** What an encoder pass returns. */
export interface EncoderOutput {
  /** Tokens `[B·T, D]` after the last block run (and the final norm when all blocks ran and it is not skipped). */
  x: tf.Tensor2D;
  /** Pre-softmax attention logits of the blocks in `logitsOf`. */
  logits: Map<number, tf.Tensor3D>;
  /** Patch-token outputs `[B·(T−1), D]` of the blocks in `intermediatesOf` (empty when none were asked for). */
  intermediates: Map<number, tf.Tensor2D>;
}

/** Runs encoder blocks (and the final norm) on tokens `[B·T, D]`. */
export function encoderBlocks(
  params: Params,
  cfg: VitConfig,
  tokens: tf.Tensor2D,
  batch: number,
  opts: EncoderOptions = {},
): EncoderOutput {
  const n = opts.blocks ?? cfg.depth;
  const wanted = opts.intermediatesOf ?? [];
  // An index past the blocks run would silently come back missing: refuse it before any work.
  for (const i of wanted) {
    if (!(Number.isInteger(i) && i >= 0 && i < n)) {
      throw new RangeError(`intermediate block ${i} is outside the ${n} blocks run`);
    }
  }
  const logits = new Map<number, tf.Tensor3D>();
  const intermediates = new Map<number, tf.Tensor2D>();
  let x = tokens;
  for (let i = 0; i < n; i++) {
    let dropPath: BlockOptions["dropPath"];
    if (opts.dropPath && opts.dropPath.rate > 0) {
      const rate = cfg.depth > 1 ? (opts.dropPath.rate * i) / (cfg.depth - 1) : opts.dropPath.rate;
      if (rate > 0) {
        dropPath = {
          attn: keepMask(batch, rate, opts.dropPath.rng),
          mlp: keepMask(batch, rate, opts.dropPath.rng),
        };
      }
    }
    const out = blockForward(params, `blocks.${i}`, x, batch, cfg.heads, {
      dropPath,
      returnLogits: opts.logitsOf?.includes(i),
    });
    x = out.x;
    if (out.logits) logits.set(i, out.logits);
    // Sliced here, between blocks, rather than after the pass: where the slice sits on the autodiff tape
    // fixes the order in which a block output's gradients are summed (tfjs sums in reverse tape order), and
    // cached segmentation runs were trained with this order, so they stay reproducible bit for bit.
    if (wanted.includes(i)) intermediates.set(i, withoutCls(x, batch));
  }
  if (n === cfg.depth && !opts.skipNorm) {
    x = layerNorm(x, param(params, "norm.weight"), param(params, "norm.bias"));
  }
  return { x, logits, intermediates };
}

/** Tokens `[B·T, D]` without each sample's first (CLS) token: `[B·(T−1), D]`. */
function withoutCls(x: tf.Tensor2D, batch: number): tf.Tensor2D {
  const [bt, d] = x.shape;
  const n = bt / batch - 1;
  return tf.reshape(tf.slice(tf.reshape(x, [batch, 1 + n, d]), [0, 1, 0], [batch, n, d]), [batch * n, d]);
}

function keepMask(batch: number, rate: number, rng: Rng): tf.Tensor2D {
  const keep = 1 - rate;
  const m = new Float32Array(batch);
  for (let b = 0; b < batch; b++) m[b] = rng.next() < keep ? 1 / keep : 0;
  return tf.tensor2d(m, [batch, 1]);
}

/** Rows of a `[1 + L, D]` table for each sample's token order (`indices` `[B, N]` of patch ids, CLS excluded). */
export function gatherRows(table: Float32Array, dim: number, indices: Int32Array, offset = 1): Float32Array {
  const out = new Float32Array(indices.length * dim);
  for (let i = 0; i < indices.length; i++) {
    const src = (indices[i] + offset) * dim;
    out.set(table.subarray(src, src + dim), i * dim);
  }
  return out;
}

/** Number of trainable scalars in a parameter map. */
export function countParams(params: Params, filter: (name: string) => boolean = () => true): number {
  let n = 0;
  for (const [name, v] of params) if (filter(name)) n += v.size;
  return n;
}
