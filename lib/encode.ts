/**
 * Encoder passes on whole images (no masking): the shared front of fine-tuning, linear probing, k-NN and
 * teachers.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { layerNorm } from "./ops.ts";
import type { Rng } from "./rng.ts";
import { embedTokens, encoderBlocks, gridOf, param, type Params, patchify, type VitConfig } from "./vit.ts";
import { sinCosPosEmbed } from "./vit.ts";

const fullPosCache = new Map<string, Float32Array>();

/** Positional rows of every patch, tiled over a batch: `[B·L, D]`. */
export function fullPositions(cfg: VitConfig, batch: number): tf.Tensor2D {
  const g = gridOf(cfg);
  const key = `${cfg.dim}/${g.rows}`;
  let table = fullPosCache.get(key);
  if (!table) fullPosCache.set(key, table = sinCosPosEmbed(cfg.dim, g.rows));
  const rows = table.subarray(cfg.dim); // drop the CLS row
  const out = new Float32Array(batch * rows.length);
  for (let b = 0; b < batch; b++) out.set(rows, b * rows.length);
  return tf.tensor2d(out, [batch * g.count, cfg.dim]);
}

/** All-patch tokens `[B·(1+L), D]` for normalised NHWC images `[B, H, W, 3]`. */
export function embedImages(
  params: Params,
  cfg: VitConfig,
  images: Float32Array,
  batch: number,
): tf.Tensor2D {
  const g = gridOf(cfg);
  const P = cfg.patchSize * cfg.patchSize * 3;
  const patches = tf.tensor2d(patchify(images, batch, cfg.imageSize, cfg.patchSize), [batch * g.count, P]);
  const pos = fullPositions(cfg, batch);
  const tokens = embedTokens(params, patches, pos, batch);
  patches.dispose();
  pos.dispose();
  return tokens;
}

/** Pooled features of an encoder pass. */
export type Pooling = "cls" | "mean";

/**
 * Image features `[B, D]`: `cls` = the CLS token after the final norm (MAE's linear probe); `mean` = mean of
 * the patch tokens, normalised by `fc_norm` when present (MAE's fine-tuning with global pooling) else by the
 * final norm.
 */
export function encodeImages(
  params: Params,
  cfg: VitConfig,
  images: Float32Array,
  batch: number,
  opts: { pooling: Pooling; dropPath?: { rate: number; rng: Rng } },
): tf.Tensor2D {
  const tokens = embedImages(params, cfg, images, batch);
  const L = gridOf(cfg).count;
  if (opts.pooling === "cls") {
    const x = encoderBlocks(params, cfg, tokens, batch, { dropPath: opts.dropPath }).x; // [B·(1+L), D]
    return tf.reshape(tf.slice(tf.reshape(x, [batch, 1 + L, cfg.dim]), [0, 0, 0], [-1, 1, -1]), [
      batch,
      cfg.dim,
    ]);
  }
  const x = encoderBlocks(params, cfg, tokens, batch, { dropPath: opts.dropPath, skipNorm: true }).x;
  const patchTokens = tf.slice(tf.reshape(x, [batch, 1 + L, cfg.dim]), [0, 1, 0], [-1, L, -1]);
  const pooled = tf.mean(patchTokens, 1) as tf.Tensor2D; // [B, D]
  const normName = params.has("fc_norm.weight") ? "fc_norm" : "norm";
  return layerNorm(pooled, param(params, `${normName}.weight`), param(params, `${normName}.bias`));
}

/** Features of a whole split in batches, without gradients: `[N, D]`. */
export async function featuresOf(
  params: Params,
  cfg: VitConfig,
  getBatch: (start: number, end: number) => Float32Array,
  count: number,
  pooling: Pooling,
  batchSize = 256,
): Promise<Float32Array> {
  // Forward-only passes still hold every intermediate until their tidy ends: keep chunks small on wasm.
  if (tf.getBackend() === "wasm") batchSize = Math.min(batchSize, 32);
  const out = new Float32Array(count * cfg.dim);
  for (let s = 0; s < count; s += batchSize) {
    const e = Math.min(count, s + batchSize);
    const f = tf.tidy(() => encodeImages(params, cfg, getBatch(s, e), e - s, { pooling }));
    out.set(await f.data(), s * cfg.dim);
    f.dispose();
  }
  return out;
}

/**
 * Names of encoder parameters (what fine-tuning and probing take from a pre-trained model). UM-MAE's
 * `vis_mask_token` is not one: it stands in for hidden patches during pre-training only, and a fine-tuned or
 * exported ViT sees every patch.
 */
export function isEncoderParam(name: string): boolean {
  return !(name.startsWith("decoder") || name === "mask_token" || name === "vis_mask_token" ||
    name.startsWith("mam_") || name.startsWith("hpm_") || name.startsWith("head") ||
    name.startsWith("fc_norm"));
}
