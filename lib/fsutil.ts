/**
 * File-system helpers for the run cache: crash-safe writes, checksums and quarantine of damaged files.
 *
 * A file written with {@linkcode atomicWriteFile} is either absent, or the old version, or the complete new
 * version — never a partial one: the bytes go to a temporary file in the same directory, which is flushed to
 * disk and then renamed over the target (rename is atomic within one file system).
 * @module
 */
import { createHash } from "node:crypto";

/** A file whose bytes are not what they should be (truncated, bit-flipped, foreign). */
export class CorruptFileError extends Error {
  /** The offending file (or a label such as `<memory>`). */
  readonly path: string;
  /** What is wrong, without the path. */
  readonly reason: string;

  /** Creates the error; the message is `<path>: <reason>`. */
  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`${path}: ${reason}`, options);
    this.name = "CorruptFileError";
    this.path = path;
    this.reason = reason;
  }
}

/** What {@linkcode atomicWriteFile} accepts: bytes, text, or chunks written in order. */
export type FileContent = Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Options of {@linkcode atomicWriteFile}. */
export interface AtomicWriteOptions {
  /** Flush file and directory to disk before returning (default true). */
  fsync?: boolean;
  /** Permission bits of the new file (default: the process umask applied to 0o666). */
  mode?: number;
}

/** Splits a path into its directory and base name ("/" separators; Deno accepts them on every OS). */
function splitPath(path: string): { dir: string; base: string } {
  const i = path.lastIndexOf("/");
  return i < 0 ? { dir: ".", base: path } : { dir: path.slice(0, i) || "/", base: path.slice(i + 1) };
}

/** A name for a temporary sibling of `path`; hidden and unique per process and call. */
export function tempSiblingPath(path: string): string {
  const { dir, base } = splitPath(path);
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${dir}/.${base}.tmp-${Deno.pid}-${random[0].toString(16)}${random[1].toString(16)}`;
}

/** True for names made by {@linkcode tempSiblingPath} (leftovers of a crashed writer). */
export function isTempName(name: string): boolean {
  return /^\..+\.tmp-\d+-[0-9a-f]+$/.test(name);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/** Best effort: flush a directory entry change (the rename) to disk. Not every platform allows it. */
async function syncDir(dir: string): Promise<void> {
  let handle: Deno.FsFile | undefined;
  try {
    handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Opening or syncing a directory is unsupported on some platforms; the rename itself is still atomic.
  } finally {
    handle?.close();
  }
}

/**
 * Writes `content` to `path` atomically: temp file in the same directory, fsync, rename.
 * If anything fails (including an iterable of chunks throwing midway), the temp file is removed, the
 * target is left untouched, and the error is rethrown.
 */
export async function atomicWriteFile(
  path: string,
  content: FileContent,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const { fsync = true, mode } = options;
  const tempPath = tempSiblingPath(path);
  const file = await Deno.open(tempPath, { write: true, createNew: true, mode });
  let closed = false;
  try {
    if (typeof content === "string") {
      await writeAll(file, new TextEncoder().encode(content));
    } else if (content instanceof Uint8Array) {
      await writeAll(file, content);
    } else {
      for await (const chunk of content) await writeAll(file, chunk);
    }
    if (fsync) await file.sync();
    file.close();
    closed = true;
    await Deno.rename(tempPath, path);
  } catch (error) {
    if (!closed) file.close();
    await Deno.remove(tempPath).catch(() => {});
    throw error;
  }
  if (fsync) await syncDir(splitPath(path).dir);
}

/** Writes `value` as pretty JSON (2-space indent, trailing newline) with {@linkcode atomicWriteFile}. */
export async function atomicWriteJson(
  path: string,
  value: unknown,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await atomicWriteFile(path, JSON.stringify(value, null, 2) + "\n", options);
}

/** Lower-case hex of a byte array. */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, "0");
  return hex;
}

/** SHA-256 of `bytes` as 64 lower-case hex characters (Web Crypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // Copy only when the view does not start at a plain ArrayBuffer (Web Crypto wants a BufferSource).
  const source: Uint8Array<ArrayBuffer> = bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", source)));
}

/**
 * SHA-256 of a file's contents. Streams the file in chunks (Web Crypto has no incremental digest, so this
 * uses `node:crypto`), so multi-GB checkpoints are hashed without holding them in memory.
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  try {
    const buffer = new Uint8Array(1 << 22);
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return hash.digest("hex");
}

/** Creates `path` and its parents if missing (no error if it exists as a directory). */
export async function ensureDir(path: string): Promise<void> {
  await Deno.mkdir(path, { recursive: true });
}

/** True if `path` is (or can be created as) a directory in which this process can create files. */
export async function isWritableDir(path: string): Promise<boolean> {
  try {
    await ensureDir(path);
    const probe = tempSiblingPath(`${path}/.write-probe`);
    await Deno.writeFile(probe, new Uint8Array([1]), { createNew: true });
    await Deno.remove(probe);
    return true;
  } catch {
    return false;
  }
}

/** `2024-05-01T12-30-00-123Z`: an ISO time that is safe in file names. */
function fileTimestamp(date = new Date()): string {
  return date.toISOString().replaceAll(":", "-").replaceAll(".", "-");
}

/**
 * Renames a damaged file to `<path>.corrupt-<timestamp>` so that it is neither used nor lost, and writes the
 * reason next to it (`<new path>.reason.txt`, best effort). Returns the new path.
 */
export async function moveAside(path: string, reason: string): Promise<string> {
  const stamp = fileTimestamp();
  for (let attempt = 0;; attempt++) {
    const target = attempt === 0 ? `${path}.corrupt-${stamp}` : `${path}.corrupt-${stamp}-${attempt}`;
    try {
      await Deno.lstat(target);
      continue; // taken (two moves within one millisecond)
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    await Deno.rename(path, target);
    await Deno.writeTextFile(`${target}.reason.txt`, reason + "\n").catch(() => {});
    return target;
  }
}

/** True if `path` exists (any kind of entry). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** One file to write. */
export interface FileToWrite {
  path: string;
  content: string | Uint8Array;
}

/**
 * Writes a set of files together (a report's .md and .json): every file goes to a temporary sibling first,
 * and only when all are written and synced are they renamed over their targets, so a reader sees the old or
 * the new version of each, never a partial one, and a failed write leaves the targets untouched. Writes all
 * `files` atomically: writes and syncs every temporary file, then renames them onto their targets
 * in order. Temporaries are removed if any write fails. Parent directories must exist.
 */
export async function atomicWriteFiles(files: readonly FileToWrite[]): Promise<void> {
  const encoder = new TextEncoder();
  const temporaries: Array<{ tmp: string; path: string }> = [];
  try {
    for (const file of files) {
      const tmp = tempSiblingPath(file.path);
      temporaries.push({ tmp, path: file.path });
      const bytes = typeof file.content === "string" ? encoder.encode(file.content) : file.content;
      using handle = await Deno.open(tmp, { write: true, createNew: true });
      let written = 0;
      while (written < bytes.length) written += await handle.write(bytes.subarray(written));
      await handle.sync();
    }
  } catch (error) {
    for (const { tmp } of temporaries) await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  for (let i = 0; i < temporaries.length; i++) {
    try {
      await Deno.rename(temporaries[i].tmp, temporaries[i].path);
    } catch (error) {
      for (const { tmp } of temporaries.slice(i)) await Deno.remove(tmp).catch(() => {});
      throw error;
    }
  }
}
