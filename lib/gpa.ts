/**
 * Global Patch-wise Attention (GPA) from a frozen ViT teacher.
 *
 * GPA of patch m for head h of block b sums the pre-softmax logits that every query gives key m:
 * `GPA_m = Σ_i q_i·k_m / √(D/H)`. The sum is linear in the queries, so it is computed as
 * `(Σ_i q_i − q_m)·k_m / √dh` without materialising the L×L score matrix.
 *  - `paper` (Eq. 4–5): i over patches only, i ≠ m (no CLS query, no diagonal).
 *  - `official` (the authors' code): i over all tokens including CLS and m itself; the CLS key is dropped.
 * Maps are min–max scaled per image to [0, 1] for sampling. Head −1 sums all heads of the block (the
 * authors' code returns zeros there; here it works).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { embedImages } from "./encode.ts";
import { microBatchSize } from "./ops.ts";
import { blockQK, encoderBlocks, gridOf, type Params, type VitConfig } from "./vit.ts";
import type { Rng } from "./rng.ts";
import { applyCropToMap, centerBatch, type CropParams, randomResizedCropFlip } from "./data/augment.ts";
import type { ImageSplit } from "./data/types.ts";
import { GpaMasking, type GpaRounding } from "./masking/gpa.ts";
import type { MaskStrategy } from "./masking/types.ts";
import { type GpaVariant, minMaxScale, spearman } from "./gpa_math.ts";
import type { HeadRef } from "./head_selection.ts";

/** A teacher's head: block and head (0-based; head −1 = all heads of the block summed). */
export type HeadChoice = HeadRef;

/** Validates a head choice against a model. */
export function checkHead(choice: HeadChoice, cfg: VitConfig): void {
  if (!Number.isInteger(choice.block) || choice.block < 0 || choice.block >= cfg.depth) {
    throw new RangeError(`teacher block ${choice.block} out of range 0..${cfg.depth - 1}`);
  }
  if (!Number.isInteger(choice.head) || choice.head < -1 || choice.head >= cfg.heads) {
    throw new RangeError(`teacher head ${choice.head} out of range -1..${cfg.heads - 1} (-1 = all heads)`);
  }
}

/**
 * Raw GPA of every head of `block` plus their sum: `[H + 1, B, L]` (index H = all heads), for images already
 * embedded as tokens. No gradients are recorded.
 */
export function gpaAllHeads(
  params: Params,
  cfg: VitConfig,
  tokens: tf.Tensor2D, // [B·(1+L), D]
  batch: number,
  block: number,
  variant: GpaVariant,
): tf.Tensor3D {
  return tf.tidy(() => {
    const L = gridOf(cfg).count;
    const T = L + 1;
    const H = cfg.heads;
    const dh = cfg.dim / H;
    const x = block > 0 ? encoderBlocks(params, cfg, tokens, batch, { blocks: block }).x : tokens;
    const { q, k } = blockQK(params, `blocks.${block}`, x);
    const q3 = tf.reshape(q, [batch, T, cfg.dim]);
    const qPatches = tf.slice(q3, [0, 1, 0], [-1, L, -1]); // [B, L, D]
    const kPatches = tf.slice(tf.reshape(k, [batch, T, cfg.dim]), [0, 1, 0], [-1, L, -1]); // [B, L, D]
    let weights: tf.Tensor; // what multiplies k_m: [B, L, D]
    if (variant === "paper") {
      const sumQ = tf.sum(qPatches, 1, true); // [B, 1, D]
      weights = tf.sub(sumQ, qPatches);
    } else {
      weights = tf.tile(tf.sum(q3, 1, true), [1, L, 1]);
    }
    const perHead = tf.sum(tf.reshape(tf.mul(weights, kPatches), [batch, L, H, dh]), 3); // [B, L, H]
    const scaled = tf.mul(perHead, 1 / Math.sqrt(dh));
    const all = tf.sum(scaled, 2, true); // [B, L, 1]
    return tf.transpose(tf.concat([scaled, all], 2), [2, 0, 1]) as tf.Tensor3D; // [H+1, B, L]
  });
}

/** A frozen teacher that produces GPA maps. */
export class Teacher {
  constructor(
    readonly params: Params,
    readonly cfg: VitConfig,
    readonly head: HeadChoice,
    readonly variant: GpaVariant = "paper",
    readonly source: Record<string, unknown> = {},
  ) {
    checkHead(head, cfg);
  }

  /** Raw GPA maps `[B, L]` of the chosen head for normalised NHWC images `[B, H, W, 3]`. */
  rawMaps(images: Float32Array, batch: number): Promise<Float32Array> {
    return this.#chunked(images, batch, (imgs, n) => {
      const tokens = embedImages(this.params, this.cfg, imgs, n);
      const all = gpaAllHeads(this.params, this.cfg, tokens, n, this.head.block, this.variant);
      const idx = this.head.head === -1 ? this.cfg.heads : this.head.head;
      return tf.squeeze(tf.slice(all, [idx, 0, 0], [1, -1, -1]), [0]);
    });
  }

  /**
   * Runs `f` on chunks of at most `microBatchSize()` images (a forward pass keeps every intermediate until
   * its tidy ends; tfjs-wasm's heap is capped at 4 GiB) and concatenates the results along the image axis.
   * `f` returns `[n, …]` (or `[C, n, …]` with `imageAxis` 1).
   */
  async #chunked(
    images: Float32Array,
    batch: number,
    f: (imgs: Float32Array, n: number) => tf.Tensor,
    imageAxis = 0,
  ): Promise<Float32Array> {
    const chunk = microBatchSize(batch);
    const px = images.length / batch;
    const parts: Float32Array[] = [];
    let shape: number[] = [];
    for (let s = 0; s < batch; s += chunk) {
      const e = Math.min(batch, s + chunk);
      const t = tf.tidy(() => f(images.subarray(s * px, e * px), e - s));
      shape = t.shape;
      parts.push((await t.data()) as Float32Array);
      t.dispose();
    }
    if (parts.length === 1) return parts[0];
    // Concatenate along the image axis: axis 0 → plain concatenation; axis 1 → per leading slice.
    const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
    if (imageAxis === 0) {
      let o = 0;
      for (const p of parts) out.set(p, (o += p.length) - p.length);
      return out;
    }
    const lead = shape[0];
    const inner = out.length / lead;
    let offset = 0;
    for (const p of parts) {
      const per = p.length / lead;
      for (let c = 0; c < lead; c++) out.set(p.subarray(c * per, (c + 1) * per), c * inner + offset);
      offset += per;
    }
    return out;
  }

  /** Min–max scaled GPA maps `[B, L]` (what soft-to-hard masking samples from). */
  async maps(images: Float32Array, batch: number): Promise<Float32Array> {
    const raw = await this.rawMaps(images, batch);
    return minMaxScale(raw, batch, raw.length / batch);
  }

  /** Raw maps of every head of a block and their sum `[H + 1, B, L]` (head selection, Figure 4). */
  allHeads(images: Float32Array, batch: number, block: number): Promise<Float32Array> {
    return this.#chunked(
      images,
      batch,
      (imgs, n) =>
        gpaAllHeads(
          this.params,
          this.cfg,
          embedImages(this.params, this.cfg, imgs, n),
          n,
          block,
          this.variant,
        ),
      1,
    );
  }

  /**
   * Post-softmax attention of the CLS query to each patch key in the last block, averaged over heads:
   * `[B, L]` (the signal of AttMask / AMT).
   */
  clsAttention(images: Float32Array, batch: number): Promise<Float32Array> {
    const cfg = this.cfg;
    return this.#chunked(images, batch, (imgs, n) => {
      const batch = n;
      const tokens = embedImages(this.params, cfg, imgs, batch);
      const last = cfg.depth - 1;
      const { logits } = encoderBlocks(this.params, cfg, tokens, batch, { logitsOf: [last] });
      const l = logits.get(last)!; // [Tq, B·H, Tk]
      const T = l.shape[2];
      const cls = tf.softmax(tf.reshape(tf.slice(l, [0, 0, 0], [1, -1, -1]), [batch, cfg.heads, T]));
      return tf.slice(tf.mean(cls, 1), [0, 1], [-1, T - 1]); // [B, L]
    });
  }

  /** Identity of the teacher for run metadata and hashes. */
  describe(): Record<string, unknown> {
    return { ...this.source, block: this.head.block, head: this.head.head, variant: this.variant };
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
  }
}

/** Options of GPA soft-to-hard masking (paper defaults when omitted). */
export interface GpaStrategyOptions {
  /**
   * Where maps come from: the teacher on every augmented view ("per-step", the paper) or one teacher pass per
   * image, cropped and flipped like each view ("cached": an approximation, see `GpaMapCache`).
   */
  maps?: "per-step" | "cached";
  /** The cache for `maps: "cached"`. */
  cache?: GpaMapCache;
  maskRatio?: number;
  soft?: [number, number];
  hard?: [number, number];
  overlap?: "paper" | "official";
  /** Share-count rounding (default "nearest"; "floor" is the authors' code). */
  rounding?: GpaRounding;
  /** Clip the soft share to 1 − hard instead of rejecting soft + hard > 1 (the authors' code). */
  clipSoft?: boolean;
}

/** A GPA soft-to-hard mask strategy whose maps come from `teacher` on the student's augmented view. */
export function gpaStrategy(teacher: Teacher, o: GpaStrategyOptions): MaskStrategy {
  const cached = o.maps === "cached";
  if (cached && !o.cache) throw new Error("cached GPA maps need a GpaMapCache");
  return new GpaMasking({
    maskRatio: o.maskRatio ?? 0.75,
    soft: o.soft,
    hard: o.hard,
    overlap: o.overlap,
    rounding: o.rounding,
    clipSoft: o.clipSoft,
    // Per-step maps (the paper) add nothing to the identity, so earlier runs keep their hashes.
    describeTeacher: { ...teacher.describe(), ...(cached ? { maps: "cached" } : {}) },
    mapProvider: (mctx) => {
      if (cached) {
        if (!mctx.sampleIds || !mctx.crops) {
          throw new Error("cached GPA maps need the batch's indices and crops");
        }
        return Promise.resolve(o.cache!.mapsFor(mctx.sampleIds, mctx.crops));
      }
      if (!mctx.imageData) throw new Error("gpa masking needs the batch's images");
      return teacher.maps(mctx.imageData, mctx.batchSize);
    },
  });
}

/**
 * Min–max scaled GPA maps `[n, L]` of a split's images at `indices` (whole images at the model's size, the
 * view a centre crop gives), in chunks: the input of a mean map and of the position-vs-content measures.
 */
export async function splitMaps(
  teacher: Teacher,
  split: ImageSplit,
  indices: Int32Array,
): Promise<Float32Array> {
  const g = gridOf(teacher.cfg).rows;
  const L = g * g;
  const out = new Float32Array(indices.length * L);
  const chunk = 256;
  for (let s = 0; s < indices.length; s += chunk) {
    const idx = indices.subarray(s, Math.min(indices.length, s + chunk));
    out.set(await teacher.maps(centerBatch(split, idx, teacher.cfg.imageSize), idx.length), s * L);
  }
  return out;
}

/**
 * GPA maps computed once per training image (the whole image at the model's resolution) and then cropped and
 * flipped with each augmented view's geometry (bilinear on the patch grid). An approximation of the paper's
 * per-step teacher: attention is not equivariant to crops, and a crop's patches see a different context.
 * `agreement` measures how close the two are.
 */
export class GpaMapCache {
  private constructor(readonly teacher: Teacher, readonly raw: Float32Array, readonly grid: number) {}

  /** Runs the teacher once over a split (whole images). */
  static async build(teacher: Teacher, split: ImageSplit): Promise<GpaMapCache> {
    const cfg = teacher.cfg;
    const g = gridOf(cfg).rows;
    const raw = new Float32Array(split.count * g * g);
    const chunk = 256;
    for (let s = 0; s < split.count; s += chunk) {
      const idx = Int32Array.from({ length: Math.min(chunk, split.count - s) }, (_, i) => s + i);
      raw.set(await teacher.rawMaps(centerBatch(split, idx, cfg.imageSize), idx.length), s * g * g);
    }
    return new GpaMapCache(teacher, raw, g);
  }

  /** Min–max scaled maps `[B, L]` of the views: each image's map cropped and flipped like its view. */
  mapsFor(ids: Int32Array, crops: CropParams[]): Float32Array {
    const L = this.grid * this.grid;
    const out = new Float32Array(ids.length * L);
    ids.forEach((id, b) => {
      const m = this.raw.subarray(id * L, (id + 1) * L);
      out.set(applyCropToMap(m, this.grid, this.grid, crops[b], this.grid, this.grid), b * L);
    });
    return minMaxScale(out, ids.length, L);
  }

  /**
   * Agreement of cached with per-step maps on `n` random views of a split: mean Spearman rank correlation and
   * mean overlap of the top-k (k = masked count) patch sets.
   */
  async agreement(
    split: ImageSplit,
    n: number,
    maskRatio: number,
    rng: Rng,
  ): Promise<{ spearman: number; topKOverlap: number }> {
    const cfg = this.teacher.cfg;
    const L = this.grid * this.grid;
    const ids = Int32Array.from({ length: n }, () => rng.int(split.count));
    const { images, crops } = randomResizedCropFlip(split, ids, cfg.imageSize, rng, { scale: [0.2, 1] });
    const cached = this.mapsFor(ids, crops);
    const fresh = await this.teacher.maps(images, n);
    const k = L - Math.floor(L * (1 - maskRatio) + 1e-9);
    let rho = 0;
    let overlap = 0;
    for (let b = 0; b < n; b++) {
      const a = cached.subarray(b * L, (b + 1) * L);
      const c = fresh.subarray(b * L, (b + 1) * L);
      rho += spearman(a, c);
      const top = (x: Float32Array) => new Set([...x.keys()].sort((i, j) => x[j] - x[i]).slice(0, k));
      const ta = top(a);
      let hit = 0;
      for (const i of top(c)) if (ta.has(i)) hit++;
      overlap += hit / k;
    }
    return { spearman: rho / n, topKOverlap: overlap / n };
  }
}
