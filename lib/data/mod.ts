/**
 * The data layer's entry point: `loadDataset(spec, options)` returns the train and val splits of a dataset,
 * decoded and resized once and then served from the packed cache.
 *
 * Sources are searched in this order: `spec.root`, `options.dataDir` (the CLI passes GPA_DATA_DIR), the
 * project's `data/`, and `../shared/datasets` beside the project. Each may hold the extracted official
 * layout or the archive as distributed; archives are verified and extracted into
 * `<cacheDir>/datasets/raw/`. Source locations are never written to.
 * @module
 */
import { CAMVID_FORMAT, CIFAR_BINARY_FORMAT, CIFAR_IMAGES_FORMAT, defaultProjectRoot } from "./sources.ts";
import {
  type LocatedSource,
  locateSource,
  resolveSource,
  searchLocations,
  type SourceFormat,
  TINY_IMAGENET_FORMAT,
} from "./sources.ts";
import { cacheEntryKey, cacheKey, readCacheEntry, writeCacheEntry } from "./cache.ts";
import { acquireRunLock } from "../cache/lock.ts";
import { loadCamvid } from "./camvid.ts";
import { loadCifarBinary, loadCifarImages } from "./cifar10.ts";
import { defaultDecodeConcurrency } from "./decode.ts";
import { type DecodeContext, loadImageFolder } from "./image_folder.ts";
import { firstClasses } from "./subset.ts";
import { sourceFingerprint } from "./fingerprint.ts";
import { generateSynthetic } from "./synthetic.ts";
import { loadTinyImagenet } from "./tiny_imagenet.ts";
import { DataError, type DatasetName, type DatasetSpec, type ImageSplit, type LoadOptions } from "./types.ts";

export { DataError } from "./types.ts";
export type { DatasetName, DatasetSpec, ImageSplit, LoadOptions } from "./types.ts";
export { decodeStats } from "./decode.ts";
export { cacheEntryKey, cacheKey } from "./cache.ts";
export { generateSynthetic, generateSyntheticSplit, SYNTHETIC_CLASS_NAMES } from "./synthetic.ts";
export { CIFAR10_CLASS_NAMES, parseCifarBatch } from "./cifar10.ts";
export { CAMVID_CLASS_NAMES, CAMVID_VOID } from "./camvid.ts";
export { KNOWN_ARCHIVE_SHA256 } from "./archive.ts";

function checkSpec(spec: DatasetSpec): void {
  if (!(Number.isInteger(spec.resolution) && spec.resolution >= 8 && spec.resolution <= 4096)) {
    throw new RangeError(`dataset resolution must be an integer in 8..4096, got ${spec.resolution}`);
  }
  for (
    const [field, value] of [
      ["trainLimit", spec.trainLimit],
      ["valLimit", spec.valLimit],
      ["classes", spec.classes],
    ] as const
  ) {
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new RangeError(`${field} must be a positive integer, got ${value}`);
    }
  }
}

/** Source formats to look for, in priority order, and the reader of each. */
function formatsFor(spec: DatasetSpec): { label: string; formats: SourceFormat[] } {
  switch (spec.name) {
    case "tiny-imagenet":
      return { label: "Tiny-ImageNet-200", formats: [TINY_IMAGENET_FORMAT] };
    case "cifar10": {
      const format = spec.cifarFormat ?? "auto";
      const formats = format === "binary"
        ? [CIFAR_BINARY_FORMAT]
        : format === "images"
        ? [CIFAR_IMAGES_FORMAT]
        : [CIFAR_BINARY_FORMAT, CIFAR_IMAGES_FORMAT];
      return { label: "CIFAR-10", formats };
    }
    case "camvid":
      return { label: "CamVid", formats: [CAMVID_FORMAT] };
    default:
      throw new DataError(`no source formats for dataset ${spec.name}`);
  }
}

/**
 * Where `loadDataset` would read `name` from, without extracting or downloading anything: a directory or an
 * archive in `dataDir`, the project's `data/` or `../shared/datasets`; null when none is there (synthetic
 * and image folders are not searched for).
 */
export async function locateDataset(
  name: Exclude<DatasetName, "synthetic" | "imagefolder">,
  options: { dataDir?: string; projectRoot?: string } = {},
): Promise<LocatedSource | null> {
  const { formats } = formatsFor({ name, resolution: 8 });
  return await locateSource(
    formats,
    searchLocations([options.dataDir], options.projectRoot ?? defaultProjectRoot()),
  );
}

async function buildFromSource(
  spec: DatasetSpec,
  options: LoadOptions,
  log: (message: string) => void,
  ctx: DecodeContext,
): Promise<{ splits: { train: ImageSplit; val: ImageSplit }; source: string; originPath: string }> {
  const limits = {
    resolution: spec.resolution,
    trainLimit: spec.trainLimit,
    valLimit: spec.valLimit,
    ...(spec.classes !== undefined ? { classLimit: spec.classes } : {}),
  };
  if (spec.name === "imagefolder") {
    if (!spec.root) {
      throw new DataError(NO_IMAGE_FOLDER);
    }
    return {
      splits: await loadImageFolder(spec.root, { ...limits, datasetName: "imagefolder" }, ctx),
      source: spec.root,
      originPath: spec.root,
    };
  }
  const { label, formats } = formatsFor(spec);
  const locations = searchLocations(
    [spec.root, options.dataDir],
    options.projectRoot ?? defaultProjectRoot(),
  );
  const source = await resolveSource(
    label,
    formats,
    locations,
    options.cacheDir,
    log,
    limits,
    options.download,
  );
  log(`${label}: reading ${source.dir} (from ${source.origin})`);
  let splits: { train: ImageSplit; val: ImageSplit };
  if (source.format === TINY_IMAGENET_FORMAT) splits = await loadTinyImagenet(source.dir, limits, ctx);
  else if (source.format === CIFAR_BINARY_FORMAT) splits = await loadCifarBinary(source.dir, limits, ctx);
  else if (source.format === CIFAR_IMAGES_FORMAT) splits = await loadCifarImages(source.dir, limits, ctx);
  else splits = await loadCamvid(source.dir, limits, ctx);
  return { splits, source: `${source.format.id}: ${source.origin}`, originPath: source.origin };
}

/**
 * Loads the train and val splits of `spec`. Synthetic data is generated (no files, no cache). Other
 * datasets come from the packed cache `<cacheDir>/datasets/<cacheKey(spec)>/` when it verifies; otherwise
 * (missing, or corrupt: moved aside with a warning) they are read from the sources, decoded, resized and
 * written to the cache. Throws `DataError` when no source is found.
 */
export async function loadDataset(
  spec: DatasetSpec,
  options: LoadOptions,
): Promise<{ train: ImageSplit; val: ImageSplit }> {
  checkSpec(spec);
  if (spec.classes !== undefined) {
    const { classes, ...full } = spec;
    // A source that can select classes is decoded for those classes only (its own packed entry), unless
    // the whole dataset is packed already: then the subset is cut from it. Both give the same splits.
    if (selectsClasses(full) && !(await packedEntryExists(full, options))) {
      const { train, val } = await loadPacked(spec, options);
      if (classes > train.numClasses) {
        throw new RangeError(`classes ${classes} exceeds the ${train.numClasses} classes of ${spec.name}`);
      }
      return { train, val };
    }
    const { train, val } = await loadPacked(full, options);
    if (classes > train.numClasses) {
      throw new RangeError(`classes ${classes} exceeds the ${train.numClasses} classes of ${spec.name}`);
    }
    return { train: firstClasses(train, classes), val: firstClasses(val, classes) };
  }
  return await loadPacked(spec, options);
}

/** Whether the dataset's source formats can decode a class subset alone (`SourceFormat.selectsClasses`). */
function selectsClasses(spec: DatasetSpec): boolean {
  if (spec.name === "synthetic" || spec.name === "imagefolder") return false;
  return formatsFor(spec).formats.every((f) => f.selectsClasses === true);
}

/** Whether the packed entry of `spec` (every class) is in the cache, without reading it. */
async function packedEntryExists(spec: DatasetSpec, options: LoadOptions): Promise<boolean> {
  const fingerprint = await locateFingerprint(spec, options);
  if (!fingerprint) return false;
  const dir = `${options.cacheDir}/datasets/${cacheEntryKey(spec, fingerprint)}`;
  return await Deno.stat(dir).then((st) => st.isDirectory, () => false);
}

/**
 * `spec` from its packed cache entry, or built from the sources into it. A spec with `classes` reaches here
 * only for a source that decodes those classes alone (its entry's key says `-c<k>`).
 */
async function loadPacked(
  spec: DatasetSpec,
  options: LoadOptions,
): Promise<{ train: ImageSplit; val: ImageSplit }> {
  const log = options.log ?? ((message: string) => console.error(message));
  if (spec.name === "synthetic") {
    return generateSynthetic({
      seed: spec.seed ?? 0,
      size: spec.resolution,
      trainPerClass: spec.trainLimit,
      valPerClass: spec.valLimit,
      numClasses: spec.numClasses,
    });
  }
  // The packed cache is keyed by the source's fingerprint too: changed data is never served stale.
  let fingerprint = await locateFingerprint(spec, options);
  const entryFor = (fp: string | undefined) => {
    const key = cacheEntryKey(spec, fp);
    return { key, dir: `${options.cacheDir}/datasets/${key}` };
  };
  let entry = entryFor(fingerprint);
  const cached = fingerprint ? await readCacheEntry(entry.dir) : { status: "missing" as const };
  if (cached.status === "hit") {
    // An image folder's entry is keyed by its files, not its path: the same files elsewhere reuse it.
    const elsewhere = spec.name === "imagefolder" && spec.root !== undefined &&
      cached.manifest.source !== spec.root;
    log(
      `dataset ${entry.key}: loaded from cache ${entry.dir} (built from ${cached.manifest.source}` +
        (elsewhere ? `; ${spec.root} holds the same files` : "") + ")",
    );
    checkTrainCoversVal(cached.splits, cached.manifest.source);
    return withFingerprint(cached.splits, fingerprint!);
  }
  if (cached.status === "bad") {
    log(
      `warning: dataset cache ${entry.dir} is corrupt (${cached.reason}); moved to ${cached.movedTo}, rebuilding`,
    );
  }
  // One process builds an entry; the others wait and read it (the lock runs take): concurrent `data` calls
  // on one folder decoded it once each. The holder also removes what interrupted builds left.
  const datasetsDir = `${options.cacheDir}/datasets`;
  await Deno.mkdir(datasetsDir, { recursive: true });
  const lock = await acquireRunLock(`${datasetsDir}/${cacheKey(spec)}.lock`, { wait: true, onWait: log }, {
    hash: cacheKey(spec),
    subject: `dataset ${cacheKey(spec)}: another process is building it`,
    warn: log,
    whenTaken: () => removeAbandonedEntryBuilds(datasetsDir, cacheKey(spec), log),
  });
  try {
    if (fingerprint) {
      const built = await readCacheEntry(entry.dir);
      if (built.status === "hit") {
        log(`dataset ${entry.key}: built by another process while waiting (${entry.dir})`);
        checkTrainCoversVal(built.splits, built.manifest.source);
        return withFingerprint(built.splits, fingerprint);
      }
    }
    const ctx: DecodeContext = { log, concurrency: options.decodeConcurrency ?? defaultDecodeConcurrency() };
    const started = performance.now();
    const { splits, source, originPath } = await buildFromSource(spec, options, log, ctx);
    checkTrainCoversVal(splits, source);
    // Nothing was found locally before the build (it downloaded the archive): fingerprint what it read.
    fingerprint ??= await sourceFingerprint(originPath);
    entry = entryFor(fingerprint);
    await writeCacheEntry(entry.dir, splits, { key: entry.key, spec, source });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    log(
      `dataset ${entry.key}: built ${splits.train.count} train + ${splits.val.count} val in ${seconds} s -> ${entry.dir}`,
    );
    return withFingerprint(splits, fingerprint);
  } finally {
    await lock.release();
  }
}

/**
 * With the build lock of `key` held, a temporary entry of `key` (`.tmp-<key>-<fingerprint>-…`, written then
 * renamed) is a killed build's leftover: removed, said in the log.
 */
async function removeAbandonedEntryBuilds(datasetsDir: string, key: string, log: (m: string) => void) {
  const pattern = new RegExp(`^\\.tmp-${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[0-9a-f]{12}-`);
  for (const e of [...Deno.readDirSync(datasetsDir)]) {
    if (!pattern.test(e.name)) continue;
    await Deno.remove(`${datasetsDir}/${e.name}`, { recursive: true }).catch(() => {});
    log(`removed ${datasetsDir}/${e.name}, left by an interrupted dataset build`);
  }
}

/**
 * Every class with val images has train images: a class the model is never shown would still count its val
 * images in top-1 (an emptied class folder, a Tiny-ImageNet class whose images were removed). Segmentation
 * splits, whose labels are per pixel, are not checked.
 */
export function checkTrainCoversVal(splits: { train: ImageSplit; val: ImageSplit }, source: string): void {
  const { train, val } = splits;
  if (train.segmentation || val.segmentation) return;
  const n = Math.max(train.numClasses, val.numClasses);
  const trainCounts = new Int32Array(n);
  const valCounts = new Int32Array(n);
  for (const c of train.labels) trainCounts[c]++;
  for (const c of val.labels) valCounts[c]++;
  const empty: string[] = [];
  for (let c = 0; c < n; c++) {
    if (trainCounts[c] === 0 && valCounts[c] > 0) {
      empty.push(`'${train.classNames[c] ?? c}' (${valCounts[c]} val images)`);
    }
  }
  if (empty.length > 0) {
    throw new DataError(
      `${empty.length} class${empty.length === 1 ? "" : "es"} of ${source} ha${
        empty.length === 1 ? "s" : "ve"
      } val images but no train images: ${empty.slice(0, 5).join(", ")}${empty.length > 5 ? ", …" : ""}. ` +
        "A class the model never sees would still count in top-1; restore its train images or remove it " +
        "from val too",
    );
  }
}

function withFingerprint(
  splits: { train: ImageSplit; val: ImageSplit },
  fingerprint: string,
): { train: ImageSplit; val: ImageSplit } {
  return { train: { ...splits.train, fingerprint }, val: { ...splits.val, fingerprint } };
}

const NO_IMAGE_FOLDER =
  "this profile reads an image folder (ImageNet-1K for the paper profile): pass --data-dir DIR or set " +
  "GPA_DATA_DIR to a folder with train/<class>/ and val/<class>/ images";

/** An image folder root must hold train/ and val/ folders; anything else is a bad --data-dir, said plainly. */
async function checkImageFolderRoot(root: string): Promise<void> {
  for (const split of ["train", "val"]) {
    const st = await Deno.stat(`${root}/${split}`).catch(() => null);
    if (!st?.isDirectory) {
      throw new DataError(
        `${root} is not an image folder: it needs train/<class>/ and val/<class>/ folders (${root}/${split} ` +
          `${st ? "is not a folder" : "is missing"})`,
      );
    }
  }
}

/**
 * The fingerprint of the source {@linkcode loadDataset} would read for `spec` (local or already downloaded),
 * without decoding anything; undefined for generated data or when no source is there yet (it would be
 * downloaded). An image folder that is not given or not one throws `DataError`, as loading would.
 */
export function datasetFingerprint(spec: DatasetSpec, options: LoadOptions): Promise<string | undefined> {
  if (spec.name === "synthetic") return Promise.resolve(undefined);
  const { classes: _, ...full } = spec; // the subset is cut from the full source
  return locateFingerprint(full, options);
}

async function locateFingerprint(spec: DatasetSpec, options: LoadOptions): Promise<string | undefined> {
  if (spec.name === "imagefolder") {
    if (!spec.root) throw new DataError(NO_IMAGE_FOLDER); // nothing would download it
    await checkImageFolderRoot(spec.root);
    return await sourceFingerprint(spec.root);
  }
  const { formats } = formatsFor(spec);
  const locations = searchLocations(
    [spec.root, options.dataDir],
    options.projectRoot ?? defaultProjectRoot(),
  );
  const found = await locateSource(formats, [...locations, `${options.cacheDir}/datasets/downloads`]);
  return found ? await sourceFingerprint(found.path) : undefined;
}
