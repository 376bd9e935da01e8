/**
 * Shared types of the data layer: in-memory image splits, dataset specs and the data error.
 * @module
 */

/**
 * One split of a dataset, decoded and resized once, held packed in memory.
 *
 * Every image of a split has the same size. Boxes are continuous pixel coordinates of this split's images
 * (after the resize): a box covering pixel columns 3..5 inclusive is `x0 = 3, x1 = 6`.
 */
export interface ImageSplit {
  /** e.g. "tiny-imagenet/train@32". */
  name: string;
  /** Number of images N. */
  count: number;
  /** Image height H in pixels (all images of a split share one size). */
  height: number;
  /** Image width W in pixels. */
  width: number;
  /** Packed RGB bytes, `[N, H, W, 3]`. */
  images: Uint8Array;
  /** Class id per image, `[N]` (segmentation splits: 0). */
  labels: Int32Array;
  /** Number of classes (segmentation splits: number of segmentation classes without void). */
  numClasses: number;
  /** Human-readable class names, `numClasses` entries. */
  classNames: string[];
  /** Main-object boxes `[N, 4]` as x0, y0, x1, y1 in this split's pixel coordinates (x1, y1 exclusive). */
  boxes?: Float32Array;
  /**
   * Per-pixel label ids `[N, H, W]`. CamVid: 0..10 classes, 11 = void. Synthetic: 0 = background,
   * 1 + class id on the object's pixels.
   */
  segmentation?: Uint8Array;
  /** Label id in `segmentation` that losses and metrics ignore (CamVid: 11). */
  ignoreLabel?: number;
  /**
   * Fingerprint of the source the split was read from (`lib/data/fingerprint.ts`); part of every run's
   * identity. Absent for generated (synthetic) data, which the spec alone determines.
   */
  fingerprint?: string;
}

/** The datasets `loadDataset` knows. */
export type DatasetName = "synthetic" | "tiny-imagenet" | "cifar10" | "camvid" | "imagefolder";

/** What to load: the dataset, the resolution to resize to once, and per-class limits. */
export interface DatasetSpec {
  /** Which dataset. */
  name: DatasetName;
  /** Side length the images are resized to (square; see data/README.md for CamVid). */
  resolution: number;
  /**
   * Images per class taken from the train split, the first k of each class in a deterministic order
   * (CamVid and other unlabelled-per-image sets: the first k images). Synthetic: images per class
   * generated (default 200). Absent = all.
   */
  trainLimit?: number;
  /** As `trainLimit`, for the val (CIFAR: test) split. Synthetic default 50. */
  valLimit?: number;
  /**
   * Keep only the first k classes in class-id order (for Tiny-ImageNet: the first k sorted wnids), the way
   * ImageNet-100 is a class subset of ImageNet-1K. Absent = all. The packed cache holds the full set; the
   * subset is taken on load.
   */
  classes?: number;
  /**
   * Imagefolder: the root holding `train/<class>/*` and `val/<class>/*` (required). Other datasets: an
   * extracted directory or an archive searched before every other location.
   */
  root?: string;
  /** Synthetic: the generation seed (default 0). */
  seed?: number;
  /** Synthetic: number of shape classes, 2..10 (default 10). */
  numClasses?: number;
  /**
   * CIFAR-10: which distribution to read. Default "auto": the official binary batches when found (lossless),
   * else the JPEG image folders.
   */
  cifarFormat?: "auto" | "binary" | "images";
}

/** Options of `loadDataset`. */
export interface LoadOptions {
  /** A directory holding datasets (extracted or archives) or one archive; the CLI passes GPA_DATA_DIR. */
  dataDir?: string;
  /** Where extracted archives and packed splits are kept. */
  cacheDir: string;
  /** Progress and warnings; defaults to stderr. */
  log?: (message: string) => void;
  /** The project root whose `data/` and `../shared/datasets` are searched; defaults to this checkout. */
  projectRoot?: string;
  /** Concurrent image decodes (default: 2 × CPU cores, at most 16). */
  decodeConcurrency?: number;
  /** Download official archives when nothing is found locally (default true), optionally from a mirror. */
  download?: { enabled?: boolean; mirror?: string };
}

/** A dataset could not be found or read; the message says what to put where. */
export class DataError extends Error {
  /** Creates the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "DataError";
  }
}

/**
 * What of a dataset spec enters a run's identity: all of it, except where an image folder sits — its content
 * is in the run's data fingerprint, so the same ImageNet mounted at two paths gives the same runs (shared
 * caches and job arrays across nodes).
 */
export function datasetIdentity(spec: DatasetSpec): DatasetSpec {
  if (spec.name !== "imagefolder" || spec.root === undefined) return spec;
  const { root: _, ...rest } = spec;
  return rest;
}
