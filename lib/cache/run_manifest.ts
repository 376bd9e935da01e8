/**
 * The manifest of one run directory (`manifest.json`: SHA-256 and size of every file) and what is built on it:
 * reading a file verified against it, moving a damaged file aside (quarantine) and forgetting it, and the
 * checkpoint-format metadata every weights file carries. Every writer of a run directory goes through one
 * {@linkcode RunManifest}'s queue, because they all read-modify-write the same manifest.
 * @module
 */
import { atomicWriteJson, CorruptFileError, moveAside, sha256Hex } from "../fsutil.ts";

/** Written into every checkpoint's metadata; a file without it is foreign. */
export const CHECKPOINT_FORMAT = "gpa-repro-checkpoint";
/** Bumped when the checkpoint layout changes incompatibly. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** One file's entry in `manifest.json`. */
export interface ManifestEntry {
  sha256: string;
  size: number;
}

/** The content of `manifest.json`. */
export interface Manifest {
  formatVersion: number;
  runHash: string;
  /** File name (within the run directory) → checksum and size. */
  files: Record<string, ManifestEntry>;
}

/**
 * The manifest of one run directory and its serialised read-modify-write queue; owned by a `RunDir`, which
 * shares it with the checkpoint and log helpers so they all queue on the same manifest.
 */
export class RunManifest {
  /** The run directory. */
  readonly dir: string;
  /** The run's hash (the directory name). */
  readonly hash: string;
  /** `manifest.json`. */
  readonly path: string;
  /** Receives warnings (moved-aside files…). */
  readonly warn: (message: string) => void;
  /** Serialises the read-modify-write operations on the manifest and log. */
  #queue: Promise<unknown> = Promise.resolve();

  /** The manifest of the run `hash` in `dir`. */
  constructor(dir: string, hash: string, warn: (message: string) => void) {
    this.dir = dir;
    this.hash = hash;
    this.path = `${dir}/manifest.json`;
    this.warn = warn;
  }

  /** Runs `operation` after every operation queued before it (a failed one does not block the queue). */
  serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }

  /** A JSON file of the run directory, or null if absent; one that does not parse is moved aside (null). */
  async readJsonOrQuarantine(name: string): Promise<unknown | null> {
    const path = `${this.dir}/${name}`;
    let text: string;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return null;
      throw error;
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      await this.quarantine(name, `not valid JSON (${(error as Error).message})`);
      return null;
    }
  }

  #empty(): Manifest {
    return { formatVersion: CHECKPOINT_FORMAT_VERSION, runHash: this.hash, files: {} };
  }

  /** The manifest (an empty one if missing; a corrupt or foreign one is moved aside and replaced by empty). */
  async read(): Promise<Manifest> {
    const raw = await this.readJsonOrQuarantine("manifest.json");
    if (raw === null) return this.#empty();
    const manifest = raw as Partial<Manifest>;
    const valid = typeof manifest === "object" && manifest !== null && manifest.runHash === this.hash &&
      manifest.formatVersion === CHECKPOINT_FORMAT_VERSION && typeof manifest.files === "object" &&
      manifest.files !== null &&
      Object.values(manifest.files).every((entry) =>
        typeof entry?.sha256 === "string" && Number.isSafeInteger(entry?.size)
      );
    if (!valid) {
      await this.quarantine("manifest.json", "not a manifest of this run");
      return this.#empty();
    }
    return manifest as Manifest;
  }

  /** Sets (entry) or deletes (null) manifest entries, then rewrites the manifest atomically. */
  async record(changes: Record<string, ManifestEntry | null>): Promise<void> {
    const manifest = await this.read();
    for (const [name, entry] of Object.entries(changes)) {
      if (entry === null) delete manifest.files[name];
      else manifest.files[name] = entry;
    }
    const sorted: Record<string, ManifestEntry> = {};
    for (const name of Object.keys(manifest.files).sort()) sorted[name] = manifest.files[name];
    await atomicWriteJson(this.path, { ...manifest, files: sorted });
  }

  /** Moves a damaged file aside, warns with both paths, and forgets it in the manifest. */
  async quarantine(name: string, reason: string): Promise<void> {
    const path = `${this.dir}/${name}`;
    const movedTo = await moveAside(path, reason);
    this.warn(`${path}: ${reason}; moved aside to ${movedTo}`);
    if (name !== "manifest.json") {
      const manifest = await this.read();
      if (manifest.files[name]) await this.record({ [name]: null });
    }
  }

  /**
   * Reads a file in one go and checks it against the manifest. Throws {@linkcode CorruptFileError} if it is
   * not listed (an interrupted save or a file from elsewhere), or its size or checksum differs.
   */
  async readVerified(name: string, manifest: Manifest): Promise<Uint8Array> {
    const path = `${this.dir}/${name}`;
    const expected = manifest.files[name];
    if (!expected) {
      throw new CorruptFileError(path, "not listed in manifest.json (interrupted save or foreign file)");
    }
    const bytes = await Deno.readFile(path);
    if (bytes.length !== expected.size) {
      throw new CorruptFileError(path, `size ${bytes.length} differs from the recorded ${expected.size}`);
    }
    const sha256 = await sha256Hex(bytes);
    if (sha256 !== expected.sha256) {
      throw new CorruptFileError(path, `SHA-256 ${sha256} differs from the recorded ${expected.sha256}`);
    }
    return bytes;
  }

  /**
   * Throws {@linkcode CorruptFileError} unless a weights file's metadata says it is this project's format and
   * version, written for this run, of the `kind` expected ("periodic" or "final").
   */
  checkOwnMetadata(metadata: Record<string, string>, path: string, kind: string): void {
    if (metadata.format !== CHECKPOINT_FORMAT) throw new CorruptFileError(path, "not a gpa-repro checkpoint");
    if (metadata.format_version !== String(CHECKPOINT_FORMAT_VERSION)) {
      throw new CorruptFileError(
        path,
        `checkpoint format version ${metadata.format_version} is not supported`,
      );
    }
    if (metadata.run_hash !== this.hash) {
      throw new CorruptFileError(path, `written for run ${metadata.run_hash}, not ${this.hash}`);
    }
    if (metadata.kind !== kind) throw new CorruptFileError(path, `a ${metadata.kind} file, not ${kind}`);
  }
}
