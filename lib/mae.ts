/**
 * Masked Autoencoder (He et al., MAE): the encoder sees only kept patches; a light decoder sees the encoded
 * tokens plus mask tokens and predicts the pixels of masked patches; loss = MSE on masked patches, optionally
 * against per-patch normalised pixels (`normPixLoss`, eps 1e-6).
 *
 * Gathers happen in JS on the batch's Float32Arrays (patches and fixed positional rows need no gradient), so the
 * graph has no gather op. Tokens are kept in "kept first, then masked" order per sample instead of being
 * unshuffled: attention does not depend on token order and positions are attached explicitly.
 *
 * UM-MAE's secondary masking (`visMaskToken`): a mask's `secondaryMask` marks kept patches that stay in the
 * encoder's sequence but enter it as a learned `vis_mask_token` plus their position instead of their content,
 * so the encoder still sees all K kept positions (UM-MAE keeps the 2-D layout for pyramid backbones). The
 * decoder and the loss do not change: the targets are the masked (dropped) patches only.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { layerNorm, linear, repeatRow } from "./ops.ts";
import type { MaskBatch } from "./masking/types.ts";
import type { Rng } from "./rng.ts";
import {
  addParam,
  blockForward,
  embedTokens,
  encoderBlocks,
  gatherRows,
  gridOf,
  initBlock,
  initEncoder,
  normalInit,
  param,
  type Params,
  patchify,
  sinCosPosEmbed,
  validateVitConfig,
  type VitConfig,
  xavierUniform,
} from "./vit.ts";

/** The decoder's shape: width Dd, blocks, attention heads (must divide Dd). */
export interface MaeDecoderShape {
  decoderDim: number;
  decoderDepth: number;
  decoderHeads: number;
}

/** The paper's model: ViT-B/16 at 224 px (768-d × 12 blocks × 12 heads) with MAE's 512-d × 8 × 16 decoder. */
export const VIT_B16_MAE: Readonly<VitConfig & MaeDecoderShape> = Object.freeze({
  imageSize: 224,
  patchSize: 16,
  dim: 768,
  depth: 12,
  heads: 12,
  mlpRatio: 4,
  decoderDim: 512,
  decoderDepth: 8,
  decoderHeads: 16,
});

/** Encoder plus decoder shape and loss options. */
export interface MaeConfig extends VitConfig, MaeDecoderShape {
  /** Normalise each target patch by its own mean and variance (MAE's `norm_pix_loss`). */
  normPixLoss: boolean;
  /**
   * UM-MAE's secondary masking: the encoder gets a learnable `vis_mask_token` `[1, D]` that replaces the content
   * of the kept patches a mask marks in `secondaryMask`. Absent (or false) in every other model, so their
   * parameters, checkpoints and run identities are those of MAE.
   */
  visMaskToken?: boolean;
}

/** Validates an MAE config (encoder and decoder). */
export function validateMaeConfig(cfg: MaeConfig): void {
  validateVitConfig(cfg);
  for (const k of ["decoderDim", "decoderDepth", "decoderHeads"] as const) {
    if (!(Number.isInteger(cfg[k]) && cfg[k] > 0)) {
      throw new RangeError(`model.${k} must be a positive integer`);
    }
  }
  if (cfg.decoderDim % cfg.decoderHeads !== 0) {
    throw new RangeError(`decoderDim ${cfg.decoderDim} is not divisible by decoderHeads ${cfg.decoderHeads}`);
  }
  if (cfg.visMaskToken !== undefined && typeof cfg.visMaskToken !== "boolean") {
    throw new RangeError(`model.visMaskToken must be a boolean, got ${cfg.visMaskToken}`);
  }
}

/** Adds a decoder stack (`prefix` = "decoder" or e.g. "mam_decoder") with its norm and prediction head. */
export function initDecoderStack(
  params: Params,
  cfg: MaeConfig,
  prefix: string,
  outDim: number,
  rng: Rng,
): void {
  for (let i = 0; i < cfg.decoderDepth; i++) {
    initBlock(params, `${prefix}_blocks.${i}`, cfg.decoderDim, 4, rng);
  }
  addParam(params, `${prefix}_norm.weight`, [cfg.decoderDim], new Float32Array(cfg.decoderDim).fill(1));
  addParam(params, `${prefix}_norm.bias`, [cfg.decoderDim]);
  addParam(
    params,
    `${prefix}_pred.weight`,
    [cfg.decoderDim, outDim],
    xavierUniform(rng, cfg.decoderDim, outDim),
  );
  addParam(params, `${prefix}_pred.bias`, [outDim]);
}

/** Creates all MAE parameters with MAE's initialisation, from a seeded stream. */
export function initMae(cfg: MaeConfig, rng: Rng): Params {
  validateMaeConfig(cfg);
  const params: Params = new Map();
  initEncoder(params, cfg, rng);
  addParam(
    params,
    "decoder_embed.weight",
    [cfg.dim, cfg.decoderDim],
    xavierUniform(rng, cfg.dim, cfg.decoderDim),
  );
  addParam(params, "decoder_embed.bias", [cfg.decoderDim]);
  addParam(params, "mask_token", [1, cfg.decoderDim], normalInit(rng, cfg.decoderDim, 0.02));
  initDecoderStack(params, cfg, "decoder", cfg.patchSize * cfg.patchSize * 3, rng);
  if (cfg.visMaskToken) {
    // Drawn last, so every other parameter gets the values plain MAE gets from the same seed (paired rows).
    // Initialised as MAE's mask_token (normal, std 0.02).
    addParam(params, "vis_mask_token", [1, cfg.dim], normalInit(rng, cfg.dim, 0.02));
  }
  return params;
}

/** Fixed positional tables, computed once per config. */
export interface PosTables {
  encoder: Float32Array; // [1 + L, D]
  decoder: Float32Array; // [1 + L, Dd]
}

const posCache = new Map<string, PosTables>();
/** The encoder's and decoder's sin-cos tables for a config (cached). */
export function posTables(cfg: MaeConfig): PosTables {
  const g = gridOf(cfg).rows;
  const key = `${cfg.dim}/${cfg.decoderDim}/${g}`;
  let t = posCache.get(key);
  if (!t) {
    posCache.set(
      key,
      t = { encoder: sinCosPosEmbed(cfg.dim, g), decoder: sinCosPosEmbed(cfg.decoderDim, g) },
    );
  }
  return t;
}

/** One batch laid out for MAE: JS-side gathers done, tensors ready. Call `dispose()` when done. */
export interface MaeBatch {
  batch: number;
  numPatches: number;
  numKept: number;
  numMasked: number;
  /** Patch ids per sample in token order: kept `[B, Lk]` then masked `[B, Lm]`. */
  keptIds: Int32Array;
  maskedIds: Int32Array;
  /** All patches `[B, L, p·p·3]` in grid order (for teachers and figures). */
  patches: Float32Array;
  /** Kept patches `[B·Lk, p·p·3]` and their positional rows `[B·Lk, D]`. */
  keptPatches: tf.Tensor2D;
  keptPos: tf.Tensor2D;
  /**
   * UM-MAE's secondary mask over the kept tokens `[B·Lk, 1]` (1 = the encoder sees `vis_mask_token` there);
   * present only when the model has that token and the mask carries a secondary mask.
   */
  keptSecondary?: tf.Tensor2D;
  /** Decoder positional rows for `[CLS, kept…, masked…]` per sample: `[B·(1+L), Dd]`. */
  decoderPos: tf.Tensor2D;
  /** Targets of the masked patches `[B·Lm, p·p·3]` (normalised per patch when `normPixLoss`). */
  target: tf.Tensor2D;
  dispose(): void;
}

/** Splits masks into per-sample kept and masked patch ids (ascending within each set). */
export function splitMask(mask: MaskBatch): { keptIds: Int32Array; maskedIds: Int32Array; numKept: number } {
  const { batchSize: B, numPatches: L, numMasked } = mask;
  const numKept = L - numMasked;
  const keptIds = new Int32Array(B * numKept);
  const maskedIds = new Int32Array(B * numMasked);
  for (let b = 0; b < B; b++) {
    let k = 0;
    let m = 0;
    for (let l = 0; l < L; l++) {
      if (mask.mask[b * L + l]) {
        if (m >= numMasked) throw new Error(`sample ${b} has more than ${numMasked} masked patches`);
        maskedIds[b * numMasked + m++] = l;
      } else {
        if (k >= numKept) throw new Error(`sample ${b} has fewer than ${numMasked} masked patches`);
        keptIds[b * numKept + k++] = l;
      }
    }
  }
  return { keptIds, maskedIds, numKept };
}

/** Gathers `[B, L, P]` rows by per-sample ids `[B, N]` → `[B·N, P]`. */
export function gatherPatches(patches: Float32Array, L: number, P: number, ids: Int32Array, batch: number) {
  const n = ids.length / batch;
  const out = new Float32Array(ids.length * P);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < n; j++) {
      const src = (b * L + ids[b * n + j]) * P;
      out.set(patches.subarray(src, src + P), (b * n + j) * P);
    }
  }
  return out;
}

/** Per-patch normalisation of targets `[N, P]`: (x − mean) / sqrt(var + eps), unbiased variance (MAE). */
export function normalizePatches(x: Float32Array, P: number, eps = 1e-6): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length; r += P) {
    let mean = 0;
    for (let i = 0; i < P; i++) mean += x[r + i];
    mean /= P;
    let v = 0;
    for (let i = 0; i < P; i++) v += (x[r + i] - mean) ** 2;
    // MAE uses torch's var (unbiased, N−1).
    const rstd = 1 / Math.sqrt(v / (P - 1) + eps);
    for (let i = 0; i < P; i++) out[r + i] = (x[r + i] - mean) * rstd;
  }
  return out;
}

/**
 * The secondary mask gathered over each sample's kept tokens, `[B·Lk]` in token order, or undefined when the
 * mask has none (absent or all zero) and the model no token. Throws when a mask marks a dropped patch or asks
 * for a token the model does not have (training on would silently be plain uniform sampling).
 */
export function keptSecondaryMask(
  cfg: MaeConfig,
  mask: MaskBatch,
  keptIds: Int32Array,
): Float32Array | undefined {
  const s = mask.secondaryMask;
  if (!s) return undefined;
  const B = mask.batchSize, L = mask.numPatches, K = keptIds.length / B;
  if (s.length !== B * L) throw new Error(`secondary mask has ${s.length} entries, expected ${B}×${L}`);
  let total = 0;
  for (const v of s) total += v;
  if (total === 0 && !cfg.visMaskToken) return undefined;
  if (!cfg.visMaskToken) {
    throw new Error(
      "the mask carries a secondary mask but the model has no vis_mask_token (model.visMaskToken)",
    );
  }
  const out = new Float32Array(B * K);
  let onKept = 0;
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < K; j++) {
      out[b * K + j] = s[b * L + keptIds[b * K + j]];
      onKept += out[b * K + j];
    }
  }
  if (onKept !== total) throw new Error(`the secondary mask marks ${total - onKept} dropped patches`);
  return out;
}

/** Builds an `MaeBatch` from normalised NHWC images `[B, H, W, 3]` and masks. */
export function prepareMaeBatch(cfg: MaeConfig, images: Float32Array, mask: MaskBatch): MaeBatch {
  const B = mask.batchSize;
  const { count: L } = gridOf(cfg);
  if (mask.numPatches !== L) throw new Error(`mask has ${mask.numPatches} patches, model expects ${L}`);
  const P = cfg.patchSize * cfg.patchSize * 3;
  const patches = patchify(images, B, cfg.imageSize, cfg.patchSize);
  const { keptIds, maskedIds, numKept } = splitMask(mask);
  // A ratio close to 1 on a small grid can mask every patch (MAE's int(L·(1 − r)) = 0); the encoder would
  // then see no patch and wasm's XNNPACK fails on the empty products while training goes on.
  if (numKept < 1) {
    throw new RangeError(`the mask keeps no patch: all ${L} patches are masked; lower the mask ratio`);
  }
  const pos = posTables(cfg);
  const decIds = new Int32Array(B * (1 + L));
  for (let b = 0; b < B; b++) {
    const o = b * (1 + L);
    decIds[o] = -1; // CLS row
    decIds.set(keptIds.subarray(b * numKept, (b + 1) * numKept), o + 1);
    decIds.set(maskedIds.subarray(b * mask.numMasked, (b + 1) * mask.numMasked), o + 1 + numKept);
  }
  const rawTarget = gatherPatches(patches, L, P, maskedIds, B);
  const target = cfg.normPixLoss ? normalizePatches(rawTarget, P) : rawTarget;
  const secondary = keptSecondaryMask(cfg, mask, keptIds);
  const tensors = {
    keptPatches: tf.tensor2d(gatherPatches(patches, L, P, keptIds, B), [B * numKept, P]),
    keptPos: tf.tensor2d(gatherRows(pos.encoder, cfg.dim, keptIds), [B * numKept, cfg.dim]),
    ...(secondary ? { keptSecondary: tf.tensor2d(secondary, [B * numKept, 1]) } : {}),
    decoderPos: tf.tensor2d(gatherRows(pos.decoder, cfg.decoderDim, decIds), [B * (1 + L), cfg.decoderDim]),
    target: tf.tensor2d(target, [B * mask.numMasked, P]),
  };
  return {
    batch: B,
    numPatches: L,
    numKept,
    numMasked: mask.numMasked,
    keptIds,
    maskedIds,
    patches,
    ...tensors,
    dispose: () => Object.values(tensors).forEach((t) => t.dispose()),
  };
}

/**
 * The encoder's input tokens `[B·(1+Lk), D]`: CLS, then each kept patch's embedding plus its position; a
 * secondary-masked kept patch (UM-MAE) enters as `vis_mask_token` plus its position instead.
 */
export function encoderInput(params: Params, mb: MaeBatch): tf.Tensor2D {
  const replace = mb.keptSecondary
    ? { marks: mb.keptSecondary, token: param<tf.Tensor2D>(params, "vis_mask_token") }
    : undefined;
  return embedTokens(params, mb.keptPatches, mb.keptPos, mb.batch, replace);
}

/** Encoder on kept patches → latent `[B·(1+Lk), D]` (after the final norm). */
export function forwardEncoder(params: Params, cfg: MaeConfig, mb: MaeBatch): tf.Tensor2D {
  return encoderBlocks(params, cfg, encoderInput(params, mb), mb.batch).x;
}

/**
 * Decoder input: embed the latent, append one mask token per masked patch, add positions →
 * `[B·(1+L), Dd]` in `[CLS, kept…, masked…]` order per sample. Shared by the pixel and MAM decoders.
 */
export function decoderInput(params: Params, cfg: MaeConfig, latent: tf.Tensor2D, mb: MaeBatch): tf.Tensor2D {
  const Dd = cfg.decoderDim;
  const x = linear(latent, param(params, "decoder_embed.weight"), param(params, "decoder_embed.bias"));
  const maskTokens = repeatRow(param(params, "mask_token"), mb.batch * mb.numMasked);
  const seq = tf.concat([
    tf.reshape(x, [mb.batch, 1 + mb.numKept, Dd]),
    tf.reshape(maskTokens, [mb.batch, mb.numMasked, Dd]),
  ], 1); // [B, 1+L, Dd]
  return tf.add(tf.reshape(seq, [mb.batch * (1 + mb.numPatches), Dd]), mb.decoderPos);
}

/** Which decoder outputs to predict. */
export type PredictOn = "masked" | "all";

/**
 * A decoder stack (`prefix` "decoder" or "mam_decoder") on the decoder input; predicts masked tokens
 * `[B·Lm, out]` or all patch tokens `[B·L, out]` in `[kept…, masked…]` order.
 */
export function decoderStack(
  params: Params,
  cfg: MaeConfig,
  prefix: string,
  input: tf.Tensor2D,
  mb: MaeBatch,
  predictOn: PredictOn = "masked",
): tf.Tensor2D {
  let x = input;
  for (let i = 0; i < cfg.decoderDepth; i++) {
    x = blockForward(params, `${prefix}_blocks.${i}`, x, mb.batch, cfg.decoderHeads).x;
  }
  x = layerNorm(x, param(params, `${prefix}_norm.weight`), param(params, `${prefix}_norm.bias`));
  const Dd = cfg.decoderDim;
  const start = predictOn === "masked" ? 1 + mb.numKept : 1;
  const n = 1 + mb.numPatches - start;
  const sel = tf.reshape(
    tf.slice(tf.reshape(x, [mb.batch, 1 + mb.numPatches, Dd]), [0, start, 0], [-1, n, -1]),
    [
      mb.batch * n,
      Dd,
    ],
  );
  return linear(
    sel as tf.Tensor2D,
    param(params, `${prefix}_pred.weight`),
    param(params, `${prefix}_pred.bias`),
  );
}

/** MAE decoder → pixel predictions for masked patches `[B·Lm, p·p·3]`. */
export function forwardDecoder(
  params: Params,
  cfg: MaeConfig,
  latent: tf.Tensor2D,
  mb: MaeBatch,
): tf.Tensor2D {
  return decoderStack(params, cfg, "decoder", decoderInput(params, cfg, latent, mb), mb, "masked");
}

/** Mean squared error per patch, averaged over masked patches: pred and target `[B·Lm, P]`. */
export function forwardLoss(pred: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.squaredDifference(pred, target));
}

/** The MAE forward pass with the intermediates that pre-training's extensions read (MAM, HPM, probes). */
export interface MaeForward {
  /** Encoder output after the final norm, `[B·(1+Lk), D]`. */
  latent: tf.Tensor2D;
  /** Decoder input, `[B·(1+L), Dd]` in `[CLS, kept…, masked…]` order (shared with MAM's decoder). */
  decoderIn: tf.Tensor2D;
  /** Pixel predictions of the masked patches, `[B·Lm, p·p·3]`. */
  pixelPred: tf.Tensor2D;
  /** Their mean squared error against the (normalised) targets. */
  pixelLoss: tf.Scalar;
}

/**
 * One batch through MAE: encoder on the kept patches, decoder on latent + mask tokens, loss on the masked
 * patches (MAE's `forward_encoder` → `forward_decoder` → `forward_loss`). What pre-training differentiates.
 */
export function maeForward(params: Params, cfg: MaeConfig, mb: MaeBatch): MaeForward {
  const latent = forwardEncoder(params, cfg, mb); // [B·(1+Lk), D]
  const decoderIn = decoderInput(params, cfg, latent, mb); // [B·(1+L), Dd]
  const pixelPred = decoderStack(params, cfg, "decoder", decoderIn, mb, "masked"); // [B·Lm, p·p·3]
  return { latent, decoderIn, pixelPred, pixelLoss: forwardLoss(pixelPred, mb.target) };
}

/** The whole MAE objective for one batch. */
export function maeLoss(params: Params, cfg: MaeConfig, mb: MaeBatch): tf.Scalar {
  return maeForward(params, cfg, mb).pixelLoss;
}
