/**
 * Class subsets of a split (ImageNet-100-style proxies): the images of the first k classes, with their boxes
 * and masks, in the split's order.
 * @module
 */
import type { ImageSplit } from "./types.ts";

/**
 * The images of `split` whose class id is below `classes`, in their original order; `numClasses` and
 * `classNames` shrink to `classes`. Returns `split` itself when it already has at most that many classes.
 * Throws a RangeError for a count that is not a positive integer.
 */
export function firstClasses(split: ImageSplit, classes: number): ImageSplit {
  if (!(Number.isInteger(classes) && classes > 0)) {
    throw new RangeError(`classes must be a positive integer, got ${classes}`);
  }
  if (classes >= split.numClasses) return split;
  const keep: number[] = [];
  for (let i = 0; i < split.count; i++) if (split.labels[i] < classes) keep.push(i);
  const px = split.height * split.width;
  const images = new Uint8Array(keep.length * px * 3);
  const labels = new Int32Array(keep.length);
  const boxes = split.boxes ? new Float32Array(keep.length * 4) : undefined;
  const segmentation = split.segmentation ? new Uint8Array(keep.length * px) : undefined;
  keep.forEach((src, dst) => {
    images.set(split.images.subarray(src * px * 3, (src + 1) * px * 3), dst * px * 3);
    labels[dst] = split.labels[src];
    boxes?.set(split.boxes!.subarray(src * 4, src * 4 + 4), dst * 4);
    segmentation?.set(split.segmentation!.subarray(src * px, (src + 1) * px), dst * px);
  });
  return {
    ...split,
    name: `${split.name}/c${classes}`,
    count: keep.length,
    images,
    labels,
    numClasses: classes,
    classNames: split.classNames.slice(0, classes),
    ...(boxes ? { boxes } : {}),
    ...(segmentation ? { segmentation } : {}),
  };
}
