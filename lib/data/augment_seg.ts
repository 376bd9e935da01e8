/**
 * Segmentation batches (mmseg-style): random rescale, crop and flip of images with their label maps kept
 * aligned (images bilinear, labels nearest), and the evaluation batch of whole resized images.
 * @module
 */
import type { Rng } from "../rng.ts";
import { centerBatch } from "./augment.ts";
import { fillAxisTable, makeAxisTable, resampleRgbNormalised } from "./resample.ts";
import type { ImageSplit } from "./types.ts";

/** Default label written where a segmentation crop is padded, when the split has no `ignoreLabel`. */
export const DEFAULT_IGNORE_LABEL = 255;

/** A normalised image batch with aligned label maps. */
export interface SegmentationBatch {
  /** `[B, outSize, outSize, 3]`, ImageNet-normalised; padding is 0 (the mean colour). */
  images: Float32Array;
  /** `[B, outSize, outSize]` label ids; padding is the ignore label. */
  labels: Int32Array;
  /** Per image: scale factor, crop offset in the scaled image, and flip. */
  params: { scale: number; offsetX: number; offsetY: number; flipped: boolean }[];
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
