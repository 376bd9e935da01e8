/**
 * ImageNet normalisation and the bilinear resampling that every augmentation shares: per-row/per-column index
 * and weight tables for one crop geometry (see `augment.ts` for the geometry model), and the resample of one
 * packed RGB image through them into normalised floats, without per-pixel allocation.
 * @module
 */

/** ImageNet channel means (RGB, in [0, 1]) used for normalisation. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB, in [0, 1]). */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

// Per-channel affine map from a byte to its normalised value: v·a + b.
const NORM_A = IMAGENET_STD.map((s) => 1 / (255 * s));
const NORM_B = IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]);

/** Bilinear sampling tables of one axis: lower index, upper index (both pre-multiplied by `stride`), weight. */
export interface AxisTable {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float32Array;
}

/** Tables for `outLength` output positions, to be filled by `fillAxisTable` (reused across images). */
export function makeAxisTable(outLength: number): AxisTable {
  return { lo: new Int32Array(outLength), hi: new Int32Array(outLength), frac: new Float32Array(outLength) };
}

/**
 * Fills `table` for an axis of `gridLength` cells covering `sourceLength` source pixels: output `o` samples
 * source position `start + (o + 0.5)·length/outLength`, mirrored when `flip`.
 */
export function fillAxisTable(
  table: AxisTable,
  outLength: number,
  start: number,
  length: number,
  sourceLength: number,
  gridLength: number,
  stride: number,
  flip: boolean,
): void {
  const toGrid = gridLength / sourceLength;
  for (let o = 0; o < outLength; o++) {
    const position = start + ((flip ? outLength - 1 - o : o) + 0.5) * length / outLength;
    let g = position * toGrid - 0.5;
    if (g < 0) g = 0;
    if (g > gridLength - 1) g = gridLength - 1;
    const lo = Math.floor(g);
    table.lo[o] = lo * stride;
    table.hi[o] = Math.min(lo + 1, gridLength - 1) * stride;
    table.frac[o] = g - lo;
  }
}

/** Bilinear RGB resample of one packed image through the tables into normalised floats. */
export function resampleRgbNormalised(
  source: Uint8Array,
  sourceBase: number,
  rows: AxisTable,
  cols: AxisTable,
  outH: number,
  outW: number,
  out: Float32Array,
  outBase: number,
  outRowStride: number = outW * 3,
): void {
  const a0 = NORM_A[0], a1 = NORM_A[1], a2 = NORM_A[2];
  const b0 = NORM_B[0], b1 = NORM_B[1], b2 = NORM_B[2];
  for (let oy = 0; oy < outH; oy++) {
    let o = outBase + oy * outRowStride;
    const top = sourceBase + rows.lo[oy];
    const bottom = sourceBase + rows.hi[oy];
    const fy = rows.frac[oy];
    for (let ox = 0; ox < outW; ox++) {
      const left = cols.lo[ox];
      const right = cols.hi[ox];
      const fx = cols.frac[ox];
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const p00 = top + left, p01 = top + right, p10 = bottom + left, p11 = bottom + right;
      out[o] = (source[p00] * w00 + source[p01] * w01 + source[p10] * w10 + source[p11] * w11) * a0 + b0;
      out[o + 1] =
        (source[p00 + 1] * w00 + source[p01 + 1] * w01 + source[p10 + 1] * w10 + source[p11 + 1] * w11) *
          a1 + b1;
      out[o + 2] =
        (source[p00 + 2] * w00 + source[p01 + 2] * w01 + source[p10 + 2] * w10 + source[p11 + 2] * w11) *
          a2 + b2;
      o += 3;
    }
  }
}
