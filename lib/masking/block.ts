/**
 * BEiT's block-wise masking (Bao et al., "BEiT: BERT Pre-Training of Image Transformers", ICLR 2022),
 * made exact: every sample gets exactly `maskedCount(L, maskRatio)` masked patches.
 *
 * Rectangle phase (BEiT's generator): while patches remain to be masked, make up to `maxAttempts` tries
 * at a rectangle: target area uniform in [minBlock, max(minBlock, min(remaining, maxBlock))], aspect ratio
 * log-uniform in [minAspect, maxAspect], height = round(√(area·aspect)), width = round(√(area/aspect));
 * it must be strictly smaller than the grid in both directions (as BEiT), at a uniform position. A try is
 * accepted when it adds between 1 and `remaining` new patches (overlaps with earlier rectangles are
 * allowed, so BEiT never overshoots). The phase ends when the target is reached or a round of tries fails.
 *
 * Differences from BEiT, so that counts are exact and blocks keep their minimum size:
 * - A try whose rounded area `h·w` is below `minBlock` fails (BEiT can place e.g. 2×7 = 14 < 16, and draws
 *   areas below the minimum near the end).
 * - BEiT stops short of the target when a round of tries fails; here the shortfall is filled one patch
 *   at a time (`fill: "adjacent"`, default: uniformly among unmasked patches 4-adjacent to a masked one,
 *   so the fill grows the existing blocks; uniformly among all unmasked ones if none is adjacent;
 *   `fill: "random"`: uniformly among all unmasked patches).
 *
 * Defaults: mask ratio 0.75 (MAE-style use; BEiT used 75 of 196 patches ≈ 0.4 — pass `maskRatio`),
 * minBlock = max(1, round(16·L/196)) (BEiT's 16 at 14×14, scaled by area), capped so a rectangle smaller
 * than the grid can reach it; maxBlock = the masked count (BEiT's default); aspect [0.3, 1/0.3]; 10 tries.
 * @module
 */
import type { Rng } from "../rng.ts";
import { type MaskBatch, type MaskContext, maskedCount, type MaskStrategy } from "./types.ts";

/** An axis-aligned block of patches: rows `top … top+height−1`, columns `left … left+width−1`. */
export interface PatchRect {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** Options of `BlockMasking`. */
export interface BlockMaskingOptions {
  /** Fraction of patches masked per sample. Default 0.75. */
  maskRatio?: number;
  /** Minimum rectangle area in patches. Default max(1, round(16·L/196)), capped by (rows−1)(cols−1). */
  minBlockPatches?: number;
  /** Maximum target area of one rectangle. Default: the masked count. */
  maxBlockPatches?: number;
  /** Smallest aspect ratio h/w; the largest is `maxAspect` (default 1/minAspect). Default 0.3. */
  minAspect?: number;
  maxAspect?: number;
  /** Tries per rectangle before the rectangle phase ends. Default 10. */
  maxAttempts?: number;
  /** How the shortfall after the rectangle phase is filled. Default "adjacent". */
  fill?: "adjacent" | "random";
}

/** Masks of one batch plus how each was built. */
export interface BlockMaskBatch extends MaskBatch {
  /** Per sample, the rectangles placed (each added ≥ 1 new patch), in placement order. */
  rectangles: PatchRect[][];
  /** Per sample, the patch indices added by the fill step, in order. */
  filled: number[][];
  info: { rectanglePatches: number; filledPatches: number; rectangles: number };
}

/** Default minimum block size for a grid: BEiT's 16 patches at 14×14, scaled by area. */
export function defaultMinBlockPatches(rows: number, cols: number): number {
  return Math.max(1, Math.round((16 * rows * cols) / 196));
}

/** BEiT-style block-wise masking with an exact masked count per sample. */
export class BlockMasking implements MaskStrategy {
  readonly name = "block";
  readonly maskRatio: number;
  readonly #options: Required<Omit<BlockMaskingOptions, "minBlockPatches" | "maxBlockPatches">> & {
    minBlockPatches?: number;
    maxBlockPatches?: number;
  };

  constructor(options: BlockMaskingOptions = {}) {
    this.maskRatio = options.maskRatio ?? 0.75;
    maskedCount(4, this.maskRatio); // validates the ratio
    const minAspect = options.minAspect ?? 0.3;
    const maxAspect = options.maxAspect ?? 1 / minAspect;
    if (!(minAspect > 0 && maxAspect >= minAspect)) {
      throw new RangeError(`aspect range must satisfy 0 < min ≤ max, got [${minAspect}, ${maxAspect}]`);
    }
    const maxAttempts = options.maxAttempts ?? 10;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts must be ≥ 1`);
    for (const key of ["minBlockPatches", "maxBlockPatches"] as const) {
      const v = options[key];
      if (v !== undefined && !(Number.isInteger(v) && v >= 1)) {
        throw new RangeError(`${key} must be a positive integer, got ${v}`);
      }
    }
    const fill = options.fill ?? "adjacent";
    if (fill !== "adjacent" && fill !== "random") throw new RangeError(`fill must be "adjacent" or "random"`);
    this.#options = {
      maskRatio: this.maskRatio,
      minAspect,
      maxAspect,
      maxAttempts,
      fill,
      minBlockPatches: options.minBlockPatches,
      maxBlockPatches: options.maxBlockPatches,
    };
  }

  /** The minimum rectangle area used on a `rows × cols` grid. */
  minBlockFor(rows: number, cols: number): number {
    const wanted = this.#options.minBlockPatches ?? defaultMinBlockPatches(rows, cols);
    // A rectangle must be strictly smaller than the grid, so (rows−1)(cols−1) is the largest reachable area.
    return Math.max(1, Math.min(wanted, (rows - 1) * (cols - 1)));
  }

  generate(ctx: MaskContext): BlockMaskBatch {
    const { rows, cols } = ctx.grid;
    const L = rows * cols;
    const numMasked = maskedCount(L, this.maskRatio);
    const mask = new Uint8Array(ctx.batchSize * L);
    const rectangles: PatchRect[][] = [];
    const filled: number[][] = [];
    let rectanglePatches = 0;
    let rectangleCount = 0;
    for (let b = 0; b < ctx.batchSize; b++) {
      const row = mask.subarray(b * L, (b + 1) * L);
      const rects = this.#placeRectangles(row, rows, cols, numMasked, ctx.rng);
      let count = 0;
      for (let j = 0; j < L; j++) count += row[j];
      rectanglePatches += count;
      rectangleCount += rects.length;
      rectangles.push(rects);
      filled.push(this.#fill(row, rows, cols, numMasked - count, ctx.rng));
    }
    return {
      mask,
      batchSize: ctx.batchSize,
      numPatches: L,
      numMasked,
      rectangles,
      filled,
      info: {
        rectanglePatches,
        filledPatches: ctx.batchSize * numMasked - rectanglePatches,
        rectangles: rectangleCount,
      },
    };
  }

  /** Rectangle phase on one sample's `[rows·cols]` mask; returns the rectangles placed. */
  #placeRectangles(mask: Uint8Array, rows: number, cols: number, target: number, rng: Rng): PatchRect[] {
    const minBlock = this.minBlockFor(rows, cols);
    const maxBlock = this.#options.maxBlockPatches ?? target;
    const logMin = Math.log(this.#options.minAspect);
    const logMax = Math.log(this.#options.maxAspect);
    const placed: PatchRect[] = [];
    let count = 0;
    while (count < target) {
      const remaining = target - count;
      const upper = Math.max(minBlock, Math.min(remaining, maxBlock));
      let accepted = false;
      for (let attempt = 0; attempt < this.#options.maxAttempts && !accepted; attempt++) {
        const area = rng.uniform(minBlock, upper);
        const aspect = Math.exp(rng.uniform(logMin, logMax));
        const height = Math.round(Math.sqrt(area * aspect));
        const width = Math.round(Math.sqrt(area / aspect));
        if (height < 1 || width < 1 || height >= rows || width >= cols || height * width < minBlock) continue;
        const top = rng.int(rows - height + 1);
        const left = rng.int(cols - width + 1);
        let fresh = 0;
        for (let i = top; i < top + height; i++) {
          for (let j = left; j < left + width; j++) fresh += 1 - mask[i * cols + j];
        }
        if (fresh === 0 || fresh > remaining) continue;
        for (let i = top; i < top + height; i++) mask.fill(1, i * cols + left, i * cols + left + width);
        count += fresh;
        placed.push({ top, left, height, width });
        accepted = true;
      }
      if (!accepted) break;
    }
    return placed;
  }

  /** Fill phase: masks `need` more patches of one sample; returns their indices. */
  #fill(mask: Uint8Array, rows: number, cols: number, need: number, rng: Rng): number[] {
    const added: number[] = [];
    const L = rows * cols;
    for (let n = 0; n < need; n++) {
      const candidates: number[] = [];
      const unmasked: number[] = [];
      for (let p = 0; p < L; p++) {
        if (mask[p] === 1) continue;
        unmasked.push(p);
        if (this.#options.fill === "adjacent" && hasMaskedNeighbour(mask, rows, cols, p)) candidates.push(p);
      }
      const pool = candidates.length > 0 ? candidates : unmasked;
      const pick = pool[rng.int(pool.length)];
      mask[pick] = 1;
      added.push(pick);
    }
    return added;
  }

  describe(): Record<string, unknown> {
    const o = this.#options;
    return {
      name: this.name,
      maskRatio: this.maskRatio,
      minBlockPatches: o.minBlockPatches ?? "auto: max(1, round(16·L/196))",
      maxBlockPatches: o.maxBlockPatches ?? "auto: masked count",
      minAspect: o.minAspect,
      maxAspect: o.maxAspect,
      maxAttempts: o.maxAttempts,
      fill: o.fill,
    };
  }
}

function hasMaskedNeighbour(mask: Uint8Array, rows: number, cols: number, p: number): boolean {
  const i = Math.floor(p / cols);
  const j = p % cols;
  return (i > 0 && mask[p - cols] === 1) || (i < rows - 1 && mask[p + cols] === 1) ||
    (j > 0 && mask[p - 1] === 1) || (j < cols - 1 && mask[p + 1] === 1);
}
