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
 * Everything works on precomputed per-row/per-column index and weight tables, without per-pixel allocation
 * (`resample.ts`, with the ImageNet normalisation); segmentation batches are `augment_seg.ts`.
 * @module
 */
import type { Rng } from "../rng.ts";
import type { ImageSplit } from "./types.ts";
import { fillAxisTable, makeAxisTable, resampleRgbNormalised } from "./resample.ts";

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
