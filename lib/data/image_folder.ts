/**
 * Generic image-folder datasets (`<root>/{train,val}/<class>/*`, e.g. ImageNet-1K at paper scale) and the
 * shared machinery that turns a list of image files into a packed, resized `ImageSplit`.
 * @module
 */
import { decodeImageSquare, forEachConcurrent } from "./decode.ts";
import { DataError, type ImageSplit } from "./types.ts";

/** File extensions read as images. */
export const IMAGE_EXTENSIONS: RegExp = /\.(jpe?g|png|webp|bmp|tiff?|gif|avif)$/i;

/** Compares strings with digit runs as numbers ("img_2" < "img_10"), then by code units: a stable order. */
export function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const diff = Number(x) - Number(y);
      if (diff !== 0) return diff;
    }
    return x < y ? -1 : 1;
  }
  if (pa.length !== pb.length) return pa.length - pb.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The entries of `dir` with symbolic links followed: a link to a file is a file, a link to a folder a folder
 * (class subsets such as ImageNet-100 are folders of links). A link whose target is missing is a
 * `DataError` naming it — skipping it would lose an image without a word — unless `skipBroken` (searching
 * for datasets, where an unrelated dangling link is none of this suite's business).
 */
export async function readDirFollowingLinks(
  dir: string,
  o: { skipBroken?: boolean } = {},
): Promise<Deno.DirEntry[]> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isSymlink) {
      entries.push(entry);
      continue;
    }
    const target = await Deno.stat(`${dir}/${entry.name}`).catch(() => null);
    if (target === null) {
      if (o.skipBroken) continue;
      const to = await Deno.readLink(`${dir}/${entry.name}`).catch(() => "?");
      throw new DataError(`${dir}/${entry.name} is a symbolic link to ${to}, which does not exist`);
    }
    entries.push({
      name: entry.name,
      isFile: target.isFile,
      isDirectory: target.isDirectory,
      isSymlink: true,
    });
  }
  return entries;
}

/** Names of the entries of `dir` (symbolic links followed) that pass `keep`, in natural order. */
export async function listSorted(dir: string, keep: (entry: Deno.DirEntry) => boolean): Promise<string[]> {
  const names: string[] = [];
  try {
    for (const entry of await readDirFollowingLinks(dir)) if (keep(entry)) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new DataError(`missing directory ${dir}`);
    throw error;
  }
  return names.sort(naturalCompare);
}

/** One image to decode: its file, its class and optionally its main-object box in source pixels. */
export interface ImageItem {
  path: string;
  label: number;
  /** x0, y0, x1, y1 with x1, y1 inclusive pixel indices, as in ImageNet/Tiny-ImageNet annotations. */
  box?: [number, number, number, number];
}

/** Takes the first `limit` items of each key (e.g. class), keeping the input order; all when `limit` is absent. */
export function limitPerKey<T>(
  items: T[],
  key: (item: T) => string | number,
  limit: number | undefined,
): T[] {
  if (limit === undefined) return items;
  const taken = new Map<string | number, number>();
  return items.filter((item) => {
    const k = key(item);
    const n = taken.get(k) ?? 0;
    if (n >= limit) return false;
    taken.set(k, n + 1);
    return true;
  });
}

/** Takes the first `limit` items of each class, keeping the input order. */
export function limitPerClass<T extends { label: number }>(items: T[], limit: number | undefined): T[] {
  return limitPerKey(items, (item) => item.label, limit);
}

/**
 * Archive members of a class-folder layout (`…/<splitDir>/<class>/<image>`) that a load with per-class
 * limits reads: the first `limit` images of each class in natural order, as `listClassFolders` +
 * `limitPerClass` would take them. `limits` maps split folder names (e.g. "train", "test") to their limit.
 */
export function selectClassFolderMembers(
  members: string[],
  limits: Record<string, number | undefined>,
): string[] {
  const groups = new Map<string, { limit: number | undefined; files: string[] }>();
  for (const member of members) {
    const match = /^(.*?)([^/]+)\/([^/]+)\/([^/]+)$/.exec(member);
    if (!match || !(match[2] in limits) || !IMAGE_EXTENSIONS.test(match[4])) continue;
    const key = `${match[1]}${match[2]}/${match[3]}/`;
    const group = groups.get(key) ?? { limit: limits[match[2]], files: [] };
    group.files.push(match[4]);
    groups.set(key, group);
  }
  const chosen: string[] = [];
  for (const [dir, group] of groups) {
    for (const file of group.files.sort(naturalCompare).slice(0, group.limit)) chosen.push(dir + file);
  }
  return chosen;
}

/** What `decodeItems` needs besides the items. */
export interface DecodeContext {
  log: (message: string) => void;
  concurrency: number;
}

/**
 * Decodes `items` into a packed split at `size × size`. Boxes (when every item has one) are converted from
 * inclusive source pixel indices to continuous coordinates of the resized image and clipped to it.
 */
export async function decodeItems(
  name: string,
  items: ImageItem[],
  size: number,
  classNames: string[],
  ctx: DecodeContext,
): Promise<ImageSplit> {
  const count = items.length;
  const pixelBytes = size * size * 3;
  const images = new Uint8Array(count * pixelBytes);
  const labels = new Int32Array(count);
  const withBoxes = count > 0 && items.every((item) => item.box !== undefined);
  const boxes = withBoxes ? new Float32Array(count * 4) : undefined;
  ctx.log(`decoding ${count} images for ${name}`);
  await forEachConcurrent(count, ctx.concurrency, async (i) => {
    const item = items[i];
    const decoded = await decodeImageSquare(item.path, size);
    images.set(decoded.pixels, i * pixelBytes);
    labels[i] = item.label;
    if (boxes && item.box) {
      const sx = size / decoded.sourceWidth;
      const sy = size / decoded.sourceHeight;
      const [x0, y0, x1, y1] = item.box;
      boxes[i * 4] = Math.min(size, Math.max(0, x0 * sx));
      boxes[i * 4 + 1] = Math.min(size, Math.max(0, y0 * sy));
      boxes[i * 4 + 2] = Math.min(size, Math.max(0, (x1 + 1) * sx));
      boxes[i * 4 + 3] = Math.min(size, Math.max(0, (y1 + 1) * sy));
    }
  }, (done) => ctx.log(`  ${name}: ${done}/${count}`));
  const split: ImageSplit = {
    name,
    count,
    height: size,
    width: size,
    images,
    labels,
    numClasses: classNames.length,
    classNames,
  };
  if (boxes) split.boxes = boxes;
  return split;
}

/** Lists `<dir>/<class>/<image>` with classes mapped through `classIndex`, class-major, natural order. */
export async function listClassFolders(dir: string, classIndex: Map<string, number>): Promise<ImageItem[]> {
  const items: ImageItem[] = [];
  const classes = await listSorted(dir, (e) => e.isDirectory);
  for (const className of classes) {
    const label = classIndex.get(className);
    if (label === undefined) throw new DataError(`${dir}/${className} is not a class of the train split`);
    const files = await listSorted(`${dir}/${className}`, (e) => e.isFile && IMAGE_EXTENSIONS.test(e.name));
    for (const file of files) items.push({ path: `${dir}/${className}/${file}`, label });
  }
  return items;
}

/**
 * Loads `<root>/train/<class>/*` and `<root>/<valDir>/<class>/*` (class ids: sorted train folder names),
 * taking the first `trainLimit`/`valLimit` images of each class.
 */
export async function loadImageFolder(
  root: string,
  options: {
    datasetName: string;
    resolution: number;
    trainLimit?: number;
    valLimit?: number;
    valDir?: string;
  },
  ctx: DecodeContext,
): Promise<{ train: ImageSplit; val: ImageSplit }> {
  const valDir = options.valDir ?? "val";
  const classNames = await listSorted(`${root}/train`, (e) => e.isDirectory);
  if (classNames.length === 0) throw new DataError(`no class folders in ${root}/train`);
  const classIndex = new Map(classNames.map((name, i) => [name, i]));
  const trainItems = limitPerClass(await listClassFolders(`${root}/train`, classIndex), options.trainLimit);
  const valItems = limitPerClass(await listClassFolders(`${root}/${valDir}`, classIndex), options.valLimit);
  for (const [dir, items] of [[`${root}/train`, trainItems], [`${root}/${valDir}`, valItems]] as const) {
    if (items.length === 0) {
      throw new DataError(
        `no images in ${dir}: its class folders hold no files named like images (${IMAGE_EXTENSIONS.source})`,
      );
    }
  }
  const res = options.resolution;
  return {
    train: await decodeItems(`${options.datasetName}/train@${res}`, trainItems, res, classNames, ctx),
    val: await decodeItems(`${options.datasetName}/val@${res}`, valItems, res, classNames, ctx),
  };
}

/**
 * Whether `root` is an image-folder dataset: a `train/` folder with at least one class folder holding image
 * files directly, and a `val/` folder. Tiny-ImageNet's extracted layout (`train/<wnid>/images/`) and
 * CIFAR-10's JPEG folders (`test/`, not `val/`) are not.
 */
export async function isImageFolderLayout(root: string): Promise<boolean> {
  const val = await Deno.stat(`${root}/val`).catch(() => null);
  if (!val?.isDirectory) return false;
  let classes: string[];
  try {
    classes = await listSorted(`${root}/train`, (e) => e.isDirectory);
  } catch {
    return false;
  }
  for (const c of classes) {
    const files = await listSorted(`${root}/train/${c}`, (e) => e.isFile && IMAGE_EXTENSIONS.test(e.name))
      .catch(() => []);
    if (files.length > 0) return true;
  }
  return false;
}
