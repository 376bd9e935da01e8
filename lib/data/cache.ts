/**
 * The packed dataset cache: decoded, resized splits stored as flat binary files plus a manifest.
 *
 * Layout of an entry `<cacheDir>/datasets/<key>/`:
 * - `manifest.json`: format version, what was loaded from where, and per split its shapes, class names,
 *   section offsets, byte size and SHA-256;
 * - `train.bin`, `val.bin`: the sections images `[N, H, W, 3]` u8 (padded to 4 bytes), labels `[N]` i32,
 *   then optionally boxes `[N, 4]` f32 and segmentation `[N, H, W]` u8, little-endian.
 * An entry is written into a temporary directory and renamed into place, so it is either whole or absent.
 * On load every file is checked against the manifest; a bad entry is moved aside (never deleted) and the
 * caller rebuilds it.
 * @module
 */
import { sha256Bytes } from "./archive.ts";
import type { DatasetSpec, ImageSplit } from "./types.ts";

/** Version of the packed format; entries of another version are set aside and rebuilt. */
export const CACHE_FORMAT_VERSION = 1;

/** One split's record in `manifest.json`. */
export interface SplitManifest {
  name: string;
  file: string;
  bytes: number;
  sha256: string;
  count: number;
  height: number;
  width: number;
  numClasses: number;
  classNames: string[];
  ignoreLabel?: number;
  offsets: { images: number; labels: number; boxes?: number; segmentation?: number };
}

/** Contents of `manifest.json`. */
export interface CacheManifest {
  formatVersion: number;
  littleEndian: true;
  key: string;
  spec: DatasetSpec;
  source: string;
  createdAt: string;
  splits: { train: SplitManifest; val: SplitManifest };
}

function assertLittleEndian(): void {
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    throw new Error("the packed dataset cache supports little-endian machines only");
  }
}

/**
 * The cache entry name of a spec: `<name>-<resolution>-t<trainLimit|all>-v<valLimit|all>`, plus the CIFAR
 * format when forced. An image folder is told apart by its content's fingerprint ({@linkcode cacheEntryKey}),
 * not its path: the same ImageNet mounted at two paths shares one packed entry in a shared cache.
 */
export function cacheKey(spec: DatasetSpec): string {
  let key = `${spec.name}-${spec.resolution}-t${spec.trainLimit ?? "all"}-v${spec.valLimit ?? "all"}`;
  if (spec.name === "cifar10" && spec.cifarFormat && spec.cifarFormat !== "auto") {
    key += `-${spec.cifarFormat}`;
  }
  // A class subset decoded alone (the whole dataset's entry has no such suffix).
  if (spec.classes !== undefined) key += `-c${spec.classes}`;
  return key;
}

/**
 * The cache entry of a spec read from a source with `fingerprint`: `cacheKey(spec)` plus the fingerprint's
 * first 12 hex digits, so that changed data gets its own entry.
 */
export function cacheEntryKey(spec: DatasetSpec, fingerprint: string | undefined): string {
  return fingerprint
    ? `${cacheKey(spec)}-${fingerprint.replace(/^[a-z0-9]+:/, "").slice(0, 12)}`
    : cacheKey(spec);
}

function sectionLayout(split: ImageSplit): { offsets: SplitManifest["offsets"]; bytes: number } {
  const n = split.count;
  const imageBytes = n * split.height * split.width * 3;
  let offset = Math.ceil(imageBytes / 4) * 4;
  const offsets: SplitManifest["offsets"] = { images: 0, labels: offset };
  offset += n * 4;
  if (split.boxes) {
    offsets.boxes = offset;
    offset += n * 16;
  }
  if (split.segmentation) {
    offsets.segmentation = offset;
    offset += n * split.height * split.width;
  }
  return { offsets, bytes: offset };
}

function checkSplitShapes(split: ImageSplit): void {
  const n = split.count;
  const pixels = split.height * split.width;
  const problems: string[] = [];
  if (split.images.length !== n * pixels * 3) problems.push("images");
  if (split.labels.length !== n) problems.push("labels");
  if (split.boxes && split.boxes.length !== n * 4) problems.push("boxes");
  if (split.segmentation && split.segmentation.length !== n * pixels) problems.push("segmentation");
  if (split.classNames.length !== split.numClasses) problems.push("classNames");
  if (problems.length > 0) throw new Error(`split ${split.name}: wrong length of ${problems.join(", ")}`);
}

/** Serialises a split into its packed bytes and manifest record. */
export function packSplit(split: ImageSplit, file: string): { bytes: Uint8Array; manifest: SplitManifest } {
  assertLittleEndian();
  checkSplitShapes(split);
  const { offsets, bytes: total } = sectionLayout(split);
  const bytes = new Uint8Array(total);
  bytes.set(split.images, offsets.images);
  bytes.set(
    new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.labels.byteLength),
    offsets.labels,
  );
  if (split.boxes && offsets.boxes !== undefined) {
    bytes.set(
      new Uint8Array(split.boxes.buffer, split.boxes.byteOffset, split.boxes.byteLength),
      offsets.boxes,
    );
  }
  if (split.segmentation && offsets.segmentation !== undefined) {
    bytes.set(split.segmentation, offsets.segmentation);
  }
  const manifest: SplitManifest = {
    name: split.name,
    file,
    bytes: total,
    sha256: sha256Bytes(bytes),
    count: split.count,
    height: split.height,
    width: split.width,
    numClasses: split.numClasses,
    classNames: split.classNames,
    offsets,
  };
  if (split.ignoreLabel !== undefined) manifest.ignoreLabel = split.ignoreLabel;
  return { bytes, manifest };
}

/** Rebuilds a split from packed bytes (views into `bytes`, no copy). Throws on a size mismatch. */
export function unpackSplit(bytes: Uint8Array, manifest: SplitManifest): ImageSplit {
  assertLittleEndian();
  if (bytes.length !== manifest.bytes) {
    throw new Error(`${manifest.file} has ${bytes.length} bytes, manifest says ${manifest.bytes}`);
  }
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice(); // typed views need aligned offsets
  const n = manifest.count;
  const pixels = manifest.height * manifest.width;
  const at = (offset: number) => bytes.byteOffset + offset;
  const split: ImageSplit = {
    name: manifest.name,
    count: n,
    height: manifest.height,
    width: manifest.width,
    images: bytes.subarray(manifest.offsets.images, manifest.offsets.images + n * pixels * 3),
    labels: new Int32Array(bytes.buffer, at(manifest.offsets.labels), n),
    numClasses: manifest.numClasses,
    classNames: manifest.classNames,
  };
  if (manifest.offsets.boxes !== undefined) {
    split.boxes = new Float32Array(bytes.buffer, at(manifest.offsets.boxes), n * 4);
  }
  if (manifest.offsets.segmentation !== undefined) {
    split.segmentation = bytes.subarray(
      manifest.offsets.segmentation,
      manifest.offsets.segmentation + n * pixels,
    );
  }
  if (manifest.ignoreLabel !== undefined) split.ignoreLabel = manifest.ignoreLabel;
  return split;
}

/**
 * Writes a cache entry atomically: everything goes into a temporary sibling directory that is then renamed
 * to `entryDir`. An existing `entryDir` is replaced only if it was moved away before.
 */
export async function writeCacheEntry(
  entryDir: string,
  splits: { train: ImageSplit; val: ImageSplit },
  meta: { key: string; spec: DatasetSpec; source: string },
): Promise<void> {
  const parent = entryDir.slice(0, entryDir.lastIndexOf("/"));
  await Deno.mkdir(parent, { recursive: true });
  const temp = await Deno.makeTempDir({ dir: parent, prefix: `.tmp-${meta.key}-` });
  try {
    const train = packSplit(splits.train, "train.bin");
    await Deno.writeFile(`${temp}/train.bin`, train.bytes);
    const val = packSplit(splits.val, "val.bin");
    await Deno.writeFile(`${temp}/val.bin`, val.bytes);
    const manifest: CacheManifest = {
      formatVersion: CACHE_FORMAT_VERSION,
      littleEndian: true,
      key: meta.key,
      spec: meta.spec,
      source: meta.source,
      createdAt: new Date().toISOString(),
      splits: { train: train.manifest, val: val.manifest },
    };
    await Deno.writeTextFile(`${temp}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
    try {
      await Deno.rename(temp, entryDir);
    } catch (error) {
      // Another process wrote the same entry first: theirs stays, ours is dropped.
      const theirs = await Deno.stat(`${entryDir}/manifest.json`).then(() => true, () => false);
      if (!theirs) throw error;
      await Deno.remove(temp, { recursive: true });
    }
  } catch (error) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw error;
  }
}

/** Result of `readCacheEntry`: the splits, or why the entry was unusable. */
export type CacheReadResult =
  | { status: "hit"; splits: { train: ImageSplit; val: ImageSplit }; manifest: CacheManifest }
  | { status: "missing" }
  | { status: "bad"; reason: string; movedTo: string };

/**
 * Reads and verifies a cache entry. A missing entry gives "missing"; an entry with a bad manifest, another
 * format version, a truncated file or a wrong SHA-256 is renamed to `<entryDir>.corrupt-<timestamp>` and
 * gives "bad" with the reason and the new path.
 */
export async function readCacheEntry(entryDir: string): Promise<CacheReadResult> {
  let manifestText: string;
  try {
    manifestText = await Deno.readTextFile(`${entryDir}/manifest.json`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    try {
      await Deno.stat(entryDir);
    } catch (statError) {
      if (statError instanceof Deno.errors.NotFound) return { status: "missing" };
      throw statError;
    }
    return await setAside(entryDir, "manifest.json missing");
  }
  try {
    const manifest = JSON.parse(manifestText) as CacheManifest;
    if (manifest.formatVersion !== CACHE_FORMAT_VERSION) {
      throw new Error(`format version ${manifest.formatVersion}, expected ${CACHE_FORMAT_VERSION}`);
    }
    const load = async (record: SplitManifest) => {
      const bytes = await Deno.readFile(`${entryDir}/${record.file}`);
      if (bytes.length !== record.bytes) {
        throw new Error(`${record.file} has ${bytes.length} bytes, manifest says ${record.bytes}`);
      }
      const digest = sha256Bytes(bytes);
      if (digest !== record.sha256) {
        throw new Error(`${record.file} sha256 ${digest}, manifest ${record.sha256}`);
      }
      return unpackSplit(bytes, record);
    };
    const train = await load(manifest.splits.train);
    const val = await load(manifest.splits.val);
    return { status: "hit", splits: { train, val }, manifest };
  } catch (error) {
    return await setAside(entryDir, (error as Error).message);
  }
}

async function setAside(entryDir: string, reason: string): Promise<CacheReadResult> {
  const movedTo = `${entryDir}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  await Deno.rename(entryDir, movedTo);
  return { status: "bad", reason, movedTo };
}
