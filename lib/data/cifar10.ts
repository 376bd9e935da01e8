/**
 * CIFAR-10, from the official binary batches (`data_batch_1..5.bin`, `test_batch.bin`: records of one label
 * byte and 3072 bytes of 32×32 pixels, channel planes R, G, B) or from JPEG image folders
 * (`{train,test}/<class>/*.jpg`). Class ids are the official order, which is also the sorted folder order.
 * The test split is returned as `val`.
 * @module
 */
import { forEachConcurrent, resizeRgbSquare } from "./decode.ts";
import { type DecodeContext, loadImageFolder } from "./image_folder.ts";
import { DataError, type ImageSplit } from "./types.ts";

/** The official CIFAR-10 class names in label order. */
export const CIFAR10_CLASS_NAMES: readonly string[] = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];

/** Bytes of one record of a CIFAR-10 binary batch. */
export const CIFAR_RECORD_BYTES = 1 + 32 * 32 * 3;

/**
 * Parses CIFAR-10 binary batch bytes into HWC images `[N, 32, 32, 3]` and labels `[N]`.
 * Throws `DataError` when the length is not a whole number of records or a label is out of range.
 */
export function parseCifarBatch(
  bytes: Uint8Array,
  where = "CIFAR batch",
): { images: Uint8Array; labels: Int32Array } {
  if (bytes.length % CIFAR_RECORD_BYTES !== 0) {
    throw new DataError(`${where}: ${bytes.length} bytes is not a multiple of ${CIFAR_RECORD_BYTES}`);
  }
  const n = bytes.length / CIFAR_RECORD_BYTES;
  const images = new Uint8Array(n * 3072);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * CIFAR_RECORD_BYTES;
    const label = bytes[base];
    if (label > 9) throw new DataError(`${where}: record ${r} has label ${label}`);
    labels[r] = label;
    const out = r * 3072;
    for (let p = 0; p < 1024; p++) {
      images[out + p * 3] = bytes[base + 1 + p];
      images[out + p * 3 + 1] = bytes[base + 1 + 1024 + p];
      images[out + p * 3 + 2] = bytes[base + 1 + 2048 + p];
    }
  }
  return { images, labels };
}

async function readBatches(
  dir: string,
  files: string[],
): Promise<{ images: Uint8Array; labels: Int32Array }> {
  const parts = [];
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${dir}/${file}`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw new DataError(`missing CIFAR-10 batch ${dir}/${file}`);
      throw error;
    }
    parts.push(parseCifarBatch(bytes, `${dir}/${file}`));
  }
  const total = parts.reduce((sum, p) => sum + p.labels.length, 0);
  const images = new Uint8Array(total * 3072);
  const labels = new Int32Array(total);
  let at = 0;
  for (const part of parts) {
    images.set(part.images, at * 3072);
    labels.set(part.labels, at);
    at += part.labels.length;
  }
  return { images, labels };
}

async function toSplit(
  name: string,
  data: { images: Uint8Array; labels: Int32Array },
  limit: number | undefined,
  resolution: number,
  classNames: string[],
  ctx: DecodeContext,
): Promise<ImageSplit> {
  const taken = new Array<number>(10).fill(0);
  const keep: number[] = [];
  for (let i = 0; i < data.labels.length; i++) {
    if (limit !== undefined && taken[data.labels[i]] >= limit) continue;
    taken[data.labels[i]]++;
    keep.push(i);
  }
  const count = keep.length;
  const outBytes = resolution * resolution * 3;
  const images = new Uint8Array(count * outBytes);
  const labels = new Int32Array(count);
  await forEachConcurrent(count, ctx.concurrency, async (j) => {
    const i = keep[j];
    labels[j] = data.labels[i];
    const source = data.images.subarray(i * 3072, (i + 1) * 3072);
    images.set(resolution === 32 ? source : await resizeRgbSquare(source, 32, 32, resolution), j * outBytes);
  });
  return { name, count, height: resolution, width: resolution, images, labels, numClasses: 10, classNames };
}

/** Loads CIFAR-10 from a `cifar-10-batches-bin` directory (test batch as `val`). */
export async function loadCifarBinary(
  dir: string,
  options: { resolution: number; trainLimit?: number; valLimit?: number },
  ctx: DecodeContext,
): Promise<{ train: ImageSplit; val: ImageSplit }> {
  let classNames = [...CIFAR10_CLASS_NAMES];
  try {
    const meta = (await Deno.readTextFile(`${dir}/batches.meta.txt`)).split(/\r?\n/).map((s) => s.trim())
      .filter((s) => s.length > 0);
    if (meta.length === 10) classNames = meta;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const trainFiles = [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`);
  const res = options.resolution;
  ctx.log(`reading CIFAR-10 binary batches from ${dir}`);
  const train = await toSplit(
    `cifar10/train@${res}`,
    await readBatches(dir, trainFiles),
    options.trainLimit,
    res,
    classNames,
    ctx,
  );
  const val = await toSplit(
    `cifar10/val@${res}`,
    await readBatches(dir, ["test_batch.bin"]),
    options.valLimit,
    res,
    classNames,
    ctx,
  );
  return { train, val };
}

/** Loads CIFAR-10 from `cifar-10-images/{train,test}/<class>/*.jpg` (test as `val`). */
export async function loadCifarImages(
  dir: string,
  options: { resolution: number; trainLimit?: number; valLimit?: number },
  ctx: DecodeContext,
): Promise<{ train: ImageSplit; val: ImageSplit }> {
  return await loadImageFolder(dir, { ...options, datasetName: "cifar10", valDir: "test" }, ctx);
}
