/**
 * Batch augmentation on packed splits, producing ImageNet-normalised NHWC float batches for TF.js.
 *
 * Geometry model: a crop is a rectangle `(x, y, w, h)` in continuous source-pixel coordinates; output pixel
 * `(ox, oy)` of an `outW × outH` result samples the source at `x + (ox + 0.5)·w/outW` (pixel centres), i.e.
 * at grid index `… − 0.5`, bilinearly, clamped to the source grid. The same rule applied to a coarser
 * per-image map (`applyCropToMap`) keeps maps and images aligned. For crops inside the image this equals
 * torchvision's crop-then-resize (bilinear, no antialias) except within half a pixel of an interior crop edge,
 * where it blends the neighbour outside the crop instead of repeating the edge pixel.
 *
 * Everything works on precomputed per-row/per-column index and weight tables, without per-pixel allocation.
 * @module
 */
import type { Rng } from "../rng.ts";
import type { ImageSplit } from "./types.ts";

/** ImageNet channel means (RGB, in [0, 1]) used for normalisation. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB, in [0, 1]). */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** Default label written where a segmentation crop is padded, when the split has no `ignoreLabel`. */
export const DEFAULT_IGNORE_LABEL = 255;

/** Where an augmented image came from: a crop of the source (source pixels) and whether it was mirrored. */
export interface CropParams {
  /** Left edge, top edge, width and height of the crop in source pixel coordinates. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Mirrored left–right after cropping. */
  flipped: boolean;
  /** Size of the source image the crop refers to. */
  sourceWidth: number;
  sourceHeight: number;
}

/** Options of `randomResizedCropFlip` (defaults: MAE pre-training, scale 0.2–1, ratio 3/4–4/3, flip). */
export interface RandomResizedCropOptions {
  scale?: [number, number];
  ratio?: [number, number];
  flip?: boolean;
}

/** A normalised image batch with the crop of each image. */
export interface AugmentedBatch {
  /** `[B, outSize, outSize, 3]`, ImageNet-normalised. */
  images: Float32Array;
  crops: CropParams[];
}

/** A normalised image batch with aligned label maps. */
export interface SegmentationBatch {
  /** `[B, outSize, outSize, 3]`, ImageNet-normalised; padding is 0 (the mean colour). */
  images: Float32Array;
  /** `[B, outSize, outSize]` label ids; padding is the ignore label. */
  labels: Int32Array;
  /** Per image: scale factor, crop offset in the scaled image, and flip. */
  params: { scale: number; offsetX: number; offsetY: number; flipped: boolean }[];
}

// Per-channel affine map from a byte to its normalised value: v·a + b.
const NORM_A = IMAGENET_STD.map((s) => 1 / (255 * s));
const NORM_B = IMAGENET_MEAN.map((m, c) => -m / IMAGENET_STD[c]);

/**
 * Samples a RandomResizedCrop rectangle with torchvision's rule: up to 10 tries of an area fraction in
 * `scale` and a log-uniform aspect ratio in `ratio`, rounded to whole pixels and placed uniformly; if none
 * fits, the largest centred crop whose ratio is clamped into `ratio`.
 */
export function sampleResizedCrop(
  width: number,
  height: number,
  rng: Rng,
  scale: [number, number] = [0.2, 1],
  ratio: [number, number] = [3 / 4, 4 / 3],
): { x: number; y: number; w: number; h: number } {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const y = rng.int(height - h + 1);
      const x = rng.int(width - w + 1);
      return { x, y, w, h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    h = Math.round(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    w = Math.round(h * Math.max(ratio[0], ratio[1]));
  }
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), w, h };
}

/** Bilinear sampling tables of one axis: lower index, upper index (both pre-multiplied by `stride`), weight. */
interface AxisTable {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float32Array;
}

function makeAxisTable(outLength: number): AxisTable {
  return { lo: new Int32Array(outLength), hi: new Int32Array(outLength), frac: new Float32Array(outLength) };
}

/**
 * Fills `table` for an axis of `gridLength` cells covering `sourceLength` source pixels: output `o` samples
 * source position `start + (o + 0.5)·length/outLength`, mirrored when `flip`.
 */
function fillAxisTable(
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
function resampleRgbNormalised(
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

/**
 * Crops `crop` out of every image of `indices` and resizes it to `outSize × outSize` (bilinear), mirrored
 * when `crop.flipped`, normalised; the deterministic core of the random and centre variants.
 */
export function cropBatch(
  split: ImageSplit,
  indices: ArrayLike<number>,
  crops: CropParams[],
  outSize: number,
): Float32Array {
  const batch = indices.length;
  const out = new Float32Array(batch * outSize * outSize * 3); // [B, S, S, 3]
  const rows = makeAxisTable(outSize);
  const cols = makeAxisTable(outSize);
  const imageBytes = split.height * split.width * 3;
  for (let b = 0; b < batch; b++) {
    const crop = crops[b];
    fillAxisTable(rows, outSize, crop.y, crop.h, split.height, split.height, split.width * 3, false);
    fillAxisTable(cols, outSize, crop.x, crop.w, split.width, split.width, 3, crop.flipped);
    resampleRgbNormalised(
      split.images,
      indices[b] * imageBytes,
      rows,
      cols,
      outSize,
      outSize,
      out,
      b * outSize * outSize * 3,
    );
  }
  return out;
}

/**
 * RandomResizedCrop + horizontal flip (torchvision semantics, bilinear) of the images `indices` of
 * `split`, normalised with the ImageNet mean/std. Random draws per image: the crop, then the flip.
 */
export function randomResizedCropFlip(
  split: ImageSplit,
  indices: ArrayLike<number>,
  outSize: number,
  rng: Rng,
  options: RandomResizedCropOptions = {},
): AugmentedBatch {
  const scale = options.scale ?? [0.2, 1];
  const ratio = options.ratio ?? [3 / 4, 4 / 3];
  const flip = options.flip ?? true;
  const crops: CropParams[] = [];
  for (let b = 0; b < indices.length; b++) {
    const rect = sampleResizedCrop(split.width, split.height, rng, scale, ratio);
    const flipped = flip ? rng.next() < 0.5 : false;
    crops.push({ ...rect, flipped, sourceWidth: split.width, sourceHeight: split.height });
  }
  return { images: cropBatch(split, indices, crops, outSize), crops };
}

/**
 * Random erasing (Zhong et al. 2020) with timm's `RandomErasing` semantics as MAE's fine-tuning uses it
 * (`reprob`, mode "pixel", one rectangle): each image of normalised NHWC `images` `[B, S, S, 3]` is, with
 * probability `prob`, given one rectangle of area ∈ [0.02, 1/3] of the image and aspect ratio log-uniform in
 * [0.3, 1/0.3] (h = round(√(area·r)), w = round(√(area/r)); up to 10 tries until it fits strictly inside),
 * filled with independent standard-normal values per pixel and channel. Mutates `images`; returns how many
 * images were erased.
 */
export function randomErasing(
  images: Float32Array,
  batch: number,
  size: number,
  prob: number,
  rng: Rng,
): number {
  if (!(prob >= 0 && prob <= 1)) {
    throw new RangeError(`random-erasing probability must be in [0, 1], got ${prob}`);
  }
  if (prob === 0) return 0;
  const area = size * size;
  const logLo = Math.log(0.3), logHi = Math.log(1 / 0.3);
  let erased = 0;
  for (let b = 0; b < batch; b++) {
    if (rng.next() > prob) continue;
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = rng.uniform(0.02, 1 / 3) * area;
      const ratio = Math.exp(rng.uniform(logLo, logHi));
      const h = Math.round(Math.sqrt(target * ratio));
      const w = Math.round(Math.sqrt(target / ratio));
      if (!(w < size && h < size)) continue;
      const top = rng.int(size - h + 1);
      const left = rng.int(size - w + 1);
      for (let y = top; y < top + h; y++) {
        const row = ((b * size + y) * size + left) * 3;
        for (let i = 0; i < w * 3; i++) images[row + i] = rng.normal();
      }
      erased++;
      break;
    }
  }
  return erased;
}

/**
 * The evaluation crop of a `width × height` image: the centred square of side `min(width, height)·cropPct`
 * (MAE eval resizes the shorter side to `out/cropPct` and centre-crops `out`, which is the same region).
 */
export function centerCrop(width: number, height: number, cropPct = 1): CropParams {
  const side = Math.min(width, height) * cropPct;
  return {
    x: (width - side) / 2,
    y: (height - side) / 2,
    w: side,
    h: side,
    flipped: false,
    sourceWidth: width,
    sourceHeight: height,
  };
}

/**
 * Evaluation batch: the centre crop (`cropPct`, default 1 = the whole square image) resized to
 * `outSize × outSize`, normalised. With square images of size `outSize` and `cropPct` 1 this is an exact copy.
 */
export function centerBatch(
  split: ImageSplit,
  indices: ArrayLike<number>,
  outSize: number,
  options: { cropPct?: number } = {},
): Float32Array {
  const crop = centerCrop(split.width, split.height, options.cropPct ?? 1);
  return cropBatch(split, indices, Array.from({ length: indices.length }, () => crop), outSize);
}

/**
 * Applies an image's crop and flip to a per-image 2-D map `[mapH, mapW]` that covers the whole source image
 * (e.g. a patch-grid attention map), resampling bilinearly to `[outH, outW]` with the same geometry as the
 * image.
 */
export function applyCropToMap(
  map: Float32Array,
  mapH: number,
  mapW: number,
  crop: CropParams,
  outH: number,
  outW: number,
): Float32Array {
  if (map.length !== mapH * mapW) {
    throw new RangeError(`map has ${map.length} values, expected ${mapH}×${mapW}`);
  }
  const rows = makeAxisTable(outH);
  const cols = makeAxisTable(outW);
  fillAxisTable(rows, outH, crop.y, crop.h, crop.sourceHeight, mapH, mapW, false);
  fillAxisTable(cols, outW, crop.x, crop.w, crop.sourceWidth, mapW, 1, crop.flipped);
  const out = new Float32Array(outH * outW);
  let o = 0;
  for (let oy = 0; oy < outH; oy++) {
    const top = rows.lo[oy];
    const bottom = rows.hi[oy];
    const fy = rows.frac[oy];
    for (let ox = 0; ox < outW; ox++) {
      const fx = cols.frac[ox];
      const upper = map[top + cols.lo[ox]] * (1 - fx) + map[top + cols.hi[ox]] * fx;
      const lower = map[bottom + cols.lo[ox]] * (1 - fx) + map[bottom + cols.hi[ox]] * fx;
      out[o++] = upper + (lower - upper) * fy;
    }
  }
  return out;
}

/** Options of `randomScaleCropFlipSeg` (defaults: scale 0.5–2, flip). */
export interface SegAugmentOptions {
  scale?: [number, number];
  flip?: boolean;
  /** Label written into padding (default: the split's `ignoreLabel`, else 255). */
  ignoreLabel?: number;
}

/**
 * Segmentation augmentation (mmseg-style): rescale the image by a factor uniform in `scale`, take a random
 * `outSize × outSize` crop of the rescaled image (padding at the bottom/right when it is smaller, with the
 * normalised mean colour 0 and the ignore label), mirror with probability 0.5. Images are sampled
 * bilinearly, labels by nearest neighbour from the same positions, so both stay aligned.
 * Random draws per image: the scale, the crop offset (x, then y, only along axes larger than the crop), the flip.
 */
export function randomScaleCropFlipSeg(
  split: ImageSplit,
  indices: ArrayLike<number>,
  outSize: number,
  rng: Rng,
  options: SegAugmentOptions = {},
): SegmentationBatch {
  if (!split.segmentation) throw new Error(`split ${split.name} has no segmentation maps`);
  const [scaleLo, scaleHi] = options.scale ?? [0.5, 2];
  const flip = options.flip ?? true;
  const ignore = options.ignoreLabel ?? split.ignoreLabel ?? DEFAULT_IGNORE_LABEL;
  const batch = indices.length;
  const { width, height } = split;
  const images = new Float32Array(batch * outSize * outSize * 3); // [B, S, S, 3]; padding stays 0
  const labels = new Int32Array(batch * outSize * outSize).fill(ignore); // [B, S, S]
  const params: SegmentationBatch["params"] = [];
  const rows = makeAxisTable(outSize);
  const cols = makeAxisTable(outSize);
  const labelRow = new Int32Array(outSize);
  const labelCol = new Int32Array(outSize);
  const imageBytes = width * height * 3;
  for (let b = 0; b < batch; b++) {
    const scale = rng.uniform(scaleLo, scaleHi);
    const scaledW = Math.max(1, Math.round(width * scale));
    const scaledH = Math.max(1, Math.round(height * scale));
    const offsetX = scaledW > outSize ? rng.int(scaledW - outSize + 1) : 0;
    const offsetY = scaledH > outSize ? rng.int(scaledH - outSize + 1) : 0;
    const flipped = flip ? rng.next() < 0.5 : false;
    params.push({ scale, offsetX, offsetY, flipped });
    const cropW = Math.min(outSize, scaledW);
    const cropH = Math.min(outSize, scaledH);
    // The crop in source pixels: scaled pixels [offset, offset + crop) map to source · (size / scaledSize).
    const sx = width / scaledW;
    const sy = height / scaledH;
    fillAxisTable(rows, cropH, offsetY * sy, cropH * sy, height, height, width * 3, false);
    fillAxisTable(cols, cropW, offsetX * sx, cropW * sx, width, width, 3, flipped);
    for (let o = 0; o < cropH; o++) {
      labelRow[o] = Math.min(height - 1, Math.floor((offsetY + o + 0.5) * sy)) * width;
    }
    for (let o = 0; o < cropW; o++) {
      const src = flipped ? cropW - 1 - o : o;
      labelCol[o] = Math.min(width - 1, Math.floor((offsetX + src + 0.5) * sx));
    }
    const index = indices[b];
    // The crop fills the top-left cropH × cropW block of the padded output.
    resampleRgbNormalised(
      split.images,
      index * imageBytes,
      rows,
      cols,
      cropH,
      cropW,
      images,
      b * outSize * outSize * 3,
      outSize * 3,
    );
    for (let oy = 0; oy < cropH; oy++) {
      const segBase = index * width * height + labelRow[oy];
      const labelBase = (b * outSize + oy) * outSize;
      for (let ox = 0; ox < cropW; ox++) labels[labelBase + ox] = split.segmentation[segBase + labelCol[ox]];
    }
  }
  return { images, labels, params };
}

/**
 * Evaluation batch for segmentation: whole images resized to `outSize × outSize` (bilinear) with label maps
 * resized by nearest neighbour (exact copies when the split already has that size).
 */
export function centerBatchSeg(split: ImageSplit, indices: ArrayLike<number>, outSize: number): {
  images: Float32Array;
  labels: Int32Array;
} {
  if (!split.segmentation) throw new Error(`split ${split.name} has no segmentation maps`);
  const images = centerBatch(split, indices, outSize);
  const labels = new Int32Array(indices.length * outSize * outSize); // [B, S, S]
  const { width, height } = split;
  for (let b = 0; b < indices.length; b++) {
    const base = indices[b] * width * height;
    for (let oy = 0; oy < outSize; oy++) {
      const sy = Math.min(height - 1, Math.floor((oy + 0.5) * height / outSize));
      for (let ox = 0; ox < outSize; ox++) {
        const sx = Math.min(width - 1, Math.floor((ox + 0.5) * width / outSize));
        labels[(b * outSize + oy) * outSize + ox] = split.segmentation[base + sy * width + sx];
      }
    }
  }
  return { images, labels };
}

/**
 * Yields the batches of one epoch: consecutive `batchSize` slices of a seeded permutation of `0..count-1`.
 * The last, shorter batch is yielded unless `dropLast`.
 */
export function* epochBatches(
  count: number,
  batchSize: number,
  rng: Rng,
  options: { dropLast?: boolean } = {},
): Generator<Int32Array> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new RangeError(`batchSize must be > 0, got ${batchSize}`);
  }
  const order = rng.permutation(count);
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    if (end - start < batchSize && options.dropLast) return;
    yield order.slice(start, end);
  }
}
