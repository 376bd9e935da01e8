/**
 * Image decoding and resizing with sharp, with a bounded number of decodes in flight.
 *
 * Every decode increments `decodeStats.images`, so callers (and tests) can tell, without timing, whether a
 * load decoded anything.
 * @module
 */
import sharp from "sharp";
import { DataError } from "./types.ts";

/** Counts images decoded or resized through sharp since the process started. */
export const decodeStats: { images: number } = { images: 0 };

/** A decoded RGB image resized to a square, with the size it had before the resize. */
export interface DecodedImage {
  /** `[size, size, 3]` RGB bytes. */
  pixels: Uint8Array;
  /** Width and height of the source image. */
  sourceWidth: number;
  sourceHeight: number;
}

function toRgb(data: Uint8Array, channels: number, pixelCount: number): Uint8Array {
  if (channels === 3) return data;
  const out = new Uint8Array(pixelCount * 3);
  for (let p = 0; p < pixelCount; p++) {
    const first = data[p * channels];
    out[p * 3] = first;
    out[p * 3 + 1] = channels >= 3 ? data[p * channels + 1] : first; // grey: replicate
    out[p * 3 + 2] = channels >= 3 ? data[p * channels + 2] : first;
  }
  return out;
}

/**
 * Decodes an image file (any format sharp reads) to RGB and resizes it to `size × size` (aspect ratio not
 * kept, Lanczos-3, which antialiases when shrinking). No resize when the source is already that size.
 */
export async function decodeImageSquare(path: string, size: number): Promise<DecodedImage> {
  try {
    const image = sharp(path, { failOn: "error" });
    const meta = await image.metadata();
    const sourceWidth = meta.autoOrient?.width ?? meta.width ?? 0;
    const sourceHeight = meta.autoOrient?.height ?? meta.height ?? 0;
    let pipeline = image.rotate().removeAlpha().toColourspace("srgb");
    if (sourceWidth !== size || sourceHeight !== size) {
      pipeline = pipeline.resize(size, size, { fit: "fill" });
    }
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    decodeStats.images++;
    const pixels = toRgb(
      new Uint8Array(data.buffer, data.byteOffset, data.length),
      info.channels,
      size * size,
    );
    return { pixels: pixels.slice(), sourceWidth, sourceHeight };
  } catch (error) {
    throw new DataError(`cannot decode image ${path}: ${(error as Error).message}`);
  }
}

/** Decodes a single-channel label PNG and resizes it to `size × size` with nearest-neighbour sampling. */
export async function decodeLabelSquare(path: string, size: number): Promise<Uint8Array> {
  try {
    const { data, info } = await sharp(path, { failOn: "error" })
      .extractChannel(0)
      .resize(size, size, { fit: "fill", kernel: "nearest" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    decodeStats.images++;
    if (info.channels !== 1 || data.length !== size * size) {
      throw new Error(`unexpected label raster ${info.width}x${info.height}x${info.channels}`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.length).slice();
  } catch (error) {
    throw new DataError(`cannot decode label map ${path}: ${(error as Error).message}`);
  }
}

/** Resizes a packed RGB raster `[height, width, 3]` to `size × size` (Lanczos-3, aspect ratio not kept). */
export async function resizeRgbSquare(
  pixels: Uint8Array,
  width: number,
  height: number,
  size: number,
): Promise<Uint8Array> {
  if (width === size && height === size) return pixels.slice();
  const { data } = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .resize(size, size, { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  decodeStats.images++;
  return new Uint8Array(data.buffer, data.byteOffset, data.length).slice();
}

/** Default number of decodes in flight: 2 × CPU cores, at most 16 (sharp decodes on libuv worker threads). */
export function defaultDecodeConcurrency(): number {
  return Math.max(2, Math.min(16, 2 * (navigator.hardwareConcurrency || 2)));
}

/**
 * Runs `task` over `0..count-1` with at most `concurrency` in flight; calls `progress(done)` every `every`
 * completions. Rejects with the first error (remaining tasks are not started).
 */
export async function forEachConcurrent(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
  progress?: (done: number) => void,
  every = 5000,
): Promise<void> {
  let next = 0;
  let done = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      const index = next++;
      try {
        await task(index);
      } catch (error) {
        failed = true;
        throw error;
      }
      done++;
      if (progress && done % every === 0) progress(done);
    }
  };
  const workers = [];
  for (let w = 0; w < Math.max(1, Math.min(concurrency, count)); w++) workers.push(worker());
  await Promise.all(workers);
}
