/**
 * One run directory, `<cache>/runs/<hash>/`, and the files in it:
 * - `config.json` — the config that hashes to the directory name (written once);
 * - `manifest.json` — SHA-256 and size of every file below, rewritten atomically after each change;
 * - `ckpt-<epoch>.safetensors` — periodic checkpoints (weights, optimizer moments, and the training state
 *   such as step and RNG states as JSON in the metadata); the newest K are kept;
 * - `final.safetensors` + `metrics.json` — the finished run;
 * - `log.jsonl` — append-only per-epoch records (a torn last line is skipped); recorded in the manifest when the
 *   run finishes, so a log changed afterwards is detected and moved aside;
 * - `lock` — who is running this run (pid, host, heartbeat); the lock protocol itself lives in `lock.ts`.
 *
 * Every file is written with temp-file + rename; a file that fails verification is moved aside (renamed to
 * `*.corrupt-<time>`, with a warning naming it) and the run falls back to the next older checkpoint or is
 * recomputed. The manifest, quarantine and all the file kinds share one class because they share one
 * serialised read-modify-write queue on the manifest. This layer knows nothing about TensorFlow.js: tensors
 * are plain typed arrays.
 * @module
 */
import {
  atomicWriteFile,
  atomicWriteJson,
  CorruptFileError,
  ensureDir,
  exists,
  isTempName,
  moveAside,
  sha256Hex,
} from "../fsutil.ts";
import { encodeSafetensors, type NamedTensors, readSafetensors } from "../safetensors.ts";
import { canonicalJson, runHash } from "./hash.ts";
import { type AcquireLockOptions, acquireRunLock, type RunLock } from "./lock.ts";

/** Written into every checkpoint's metadata; a file without it is foreign. */
export const CHECKPOINT_FORMAT = "gpa-repro-checkpoint";
/** Bumped when the checkpoint layout changes incompatibly. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** Names of the periodic checkpoint files; the group is the epoch. */
const CHECKPOINT_NAME = /^ckpt-(\d+)\.safetensors$/;

/** Options shared by {@linkcode RunCache} and {@linkcode RunDir}. */
export interface RunCacheOptions {
  /** Receives warnings (moved-aside files, stale locks taken over…); default `console.warn`. */
  warn?: (message: string) => void;
  /** Periodic checkpoints kept per run (default 2, at least 1). */
  keepCheckpoints?: number;
}

/** A checkpoint read back by {@linkcode RunDir.latestCheckpoint}. */
export interface LoadedCheckpoint {
  epoch: number;
  tensors: NamedTensors;
  /** The `state` given to `saveCheckpoint` (step, RNG states, …), parsed back from JSON. */
  state: Record<string, unknown>;
  /** The checkpoint file. */
  path: string;
}

/** A finished run read back by {@linkcode RunDir.loadFinal}. */
export interface LoadedFinal {
  tensors: NamedTensors;
  metrics: Record<string, unknown>;
  /** Metadata of `final.safetensors` (format, run hash, and any extra metadata given to `saveFinal`). */
  metadata: Record<string, string>;
}

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

/** Options of {@linkcode RunDir.saveFinal}. */
export interface SaveFinalOptions {
  /** Extra string metadata for `final.safetensors`. */
  metadata?: Record<string, string>;
  /** Delete the periodic checkpoints once the final files are recorded (default true). */
  pruneCheckpoints?: boolean;
}

/** Manages one run directory `<cache>/runs/<hash>/`. Obtain from {@linkcode RunCache.runDir}. */
export class RunDir {
  /** The run's hash (the directory name). */
  readonly hash: string;
  /** The directory. */
  readonly path: string;
  /** `config.json`. */
  readonly configPath: string;
  /** `manifest.json`. */
  readonly manifestPath: string;
  /** `log.jsonl`. */
  readonly logPath: string;
  /** `lock`. */
  readonly lockPath: string;
  /** `final.safetensors`. */
  readonly finalPath: string;
  /** `metrics.json`. */
  readonly metricsPath: string;
  readonly #warn: (message: string) => void;
  readonly #keep: number;
  /** Serialises this object's read-modify-write operations on the manifest and log. */
  #queue: Promise<unknown> = Promise.resolve();

  /** Use {@linkcode RunCache.runDir} rather than this constructor. */
  constructor(path: string, hash: string, options: RunCacheOptions = {}) {
    this.path = path;
    this.hash = hash;
    this.configPath = `${path}/config.json`;
    this.manifestPath = `${path}/manifest.json`;
    this.logPath = `${path}/log.jsonl`;
    this.lockPath = `${path}/lock`;
    this.finalPath = `${path}/final.safetensors`;
    this.metricsPath = `${path}/metrics.json`;
    this.#warn = options.warn ?? ((message) => console.warn(message));
    this.#keep = options.keepCheckpoints ?? 2;
    if (!Number.isInteger(this.#keep) || this.#keep < 1) throw new RangeError("keepCheckpoints must be >= 1");
  }

  /** Path of the periodic checkpoint of `epoch`. */
  checkpointPath(epoch: number): string {
    return `${this.path}/ckpt-${epoch}.safetensors`;
  }

  #serial<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => {});
    return result;
  }

  // ----- config and manifest -----

  /**
   * Records the run's config in `config.json` (once). Throws if `config` does not hash to this run, or if a
   * different config is already recorded; an unreadable `config.json` is moved aside and rewritten.
   */
  writeConfig(config: unknown): Promise<void> {
    return this.#serial(async () => {
      const hash = runHash(config);
      if (hash !== this.hash) throw new Error(`config hashes to ${hash}, not to this run's ${this.hash}`);
      await ensureDir(this.path);
      const existing = await this.#readJsonOrQuarantine("config.json");
      if (existing !== null) {
        if (canonicalJson(existing) !== canonicalJson(config)) {
          throw new Error(`${this.configPath} holds a different config than the one given`);
        }
        return;
      }
      const bytes = new TextEncoder().encode(
        JSON.stringify(JSON.parse(canonicalJson(config)), null, 2) + "\n",
      );
      await atomicWriteFile(this.configPath, bytes);
      await this.#recordFiles({ "config.json": { sha256: await sha256Hex(bytes), size: bytes.length } });
    });
  }

  /** The recorded config, or null if none (an unreadable one is moved aside). */
  readConfig(): Promise<unknown | null> {
    return this.#serial(() => this.#readJsonOrQuarantine("config.json"));
  }

  /** The manifest (an empty one if missing; a corrupt or foreign one is moved aside and replaced by empty). */
  readManifest(): Promise<Manifest> {
    return this.#serial(() => this.#readManifest());
  }

  async #readJsonOrQuarantine(name: string): Promise<unknown | null> {
    const path = `${this.path}/${name}`;
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
      await this.#quarantine(name, `not valid JSON (${(error as Error).message})`);
      return null;
    }
  }

  #emptyManifest(): Manifest {
    return { formatVersion: CHECKPOINT_FORMAT_VERSION, runHash: this.hash, files: {} };
  }

  async #readManifest(): Promise<Manifest> {
    const raw = await this.#readJsonOrQuarantine("manifest.json");
    if (raw === null) return this.#emptyManifest();
    const manifest = raw as Partial<Manifest>;
    const valid = typeof manifest === "object" && manifest !== null && manifest.runHash === this.hash &&
      manifest.formatVersion === CHECKPOINT_FORMAT_VERSION && typeof manifest.files === "object" &&
      manifest.files !== null &&
      Object.values(manifest.files).every((entry) =>
        typeof entry?.sha256 === "string" && Number.isSafeInteger(entry?.size)
      );
    if (!valid) {
      await this.#quarantine("manifest.json", "not a manifest of this run");
      return this.#emptyManifest();
    }
    return manifest as Manifest;
  }

  /** Sets (entry) or deletes (null) manifest entries, then rewrites the manifest atomically. */
  async #recordFiles(changes: Record<string, ManifestEntry | null>): Promise<void> {
    const manifest = await this.#readManifest();
    for (const [name, entry] of Object.entries(changes)) {
      if (entry === null) delete manifest.files[name];
      else manifest.files[name] = entry;
    }
    const sorted: Record<string, ManifestEntry> = {};
    for (const name of Object.keys(manifest.files).sort()) sorted[name] = manifest.files[name];
    await atomicWriteJson(this.manifestPath, { ...manifest, files: sorted });
  }

  /** Moves a damaged file aside, warns with both paths, and forgets it in the manifest. */
  async #quarantine(name: string, reason: string): Promise<void> {
    const path = `${this.path}/${name}`;
    const movedTo = await moveAside(path, reason);
    this.#warn(`${path}: ${reason}; moved aside to ${movedTo}`);
    if (name !== "manifest.json") {
      const manifest = await this.#readManifest();
      if (manifest.files[name]) await this.#recordFiles({ [name]: null });
    }
  }

  /**
   * Reads a file in one go and checks it against the manifest. Throws {@linkcode CorruptFileError} if it is
   * not listed (an interrupted save or a file from elsewhere), or its size or checksum differs.
   */
  async #readVerified(name: string, manifest: Manifest): Promise<Uint8Array> {
    const path = `${this.path}/${name}`;
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

  // ----- checkpoints -----

  /** Epochs of the periodic checkpoint files present, ascending. */
  async listCheckpoints(): Promise<number[]> {
    const epochs: number[] = [];
    try {
      for await (const entry of Deno.readDir(this.path)) {
        const match = entry.isFile ? CHECKPOINT_NAME.exec(entry.name) : null;
        if (match) epochs.push(Number(match[1]));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return epochs.sort((a, b) => a - b);
  }

  /**
   * Saves the checkpoint of `epoch` (training state after that epoch): the file is written atomically, then
   * recorded in the manifest (also atomic); then only the newest `keepCheckpoints` are kept, and
   * checkpoints of later epochs (left by an abandoned, longer timeline) are deleted with a warning.
   * `state` (step, RNG states, schedules…) is stored as canonical JSON in the metadata. Returns the path.
   */
  saveCheckpoint(epoch: number, tensors: NamedTensors, state: Record<string, unknown>): Promise<string> {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`invalid epoch ${epoch}`);
    return this.#serial(async () => {
      await ensureDir(this.path);
      const bytes = encodeSafetensors(tensors, {
        format: CHECKPOINT_FORMAT,
        format_version: String(CHECKPOINT_FORMAT_VERSION),
        kind: "periodic",
        run_hash: this.hash,
        epoch: String(epoch),
        state: canonicalJson(state),
      });
      const name = `ckpt-${epoch}.safetensors`;
      const sha256 = await sha256Hex(bytes);
      await atomicWriteFile(`${this.path}/${name}`, bytes);
      await this.#recordFiles({ [name]: { sha256, size: bytes.length } });
      // Keep the newest K at or before this epoch; drop later ones (another timeline) and older ones.
      const epochs = await this.listCheckpoints();
      const kept = new Set(epochs.filter((e) => e <= epoch).slice(-this.#keep));
      const removed: Record<string, null> = {};
      for (const e of epochs) {
        if (kept.has(e)) continue;
        if (e > epoch) {
          this.#warn(
            `${this.checkpointPath(e)}: later than the checkpoint just saved (epoch ${epoch}); deleted`,
          );
        }
        await Deno.remove(this.checkpointPath(e)).catch((error) => {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        });
        removed[`ckpt-${e}.safetensors`] = null;
      }
      if (Object.keys(removed).length > 0) await this.#recordFiles(removed);
      return `${this.path}/${name}`;
    });
  }

  /**
   * The newest checkpoint that verifies (listed in the manifest, size and SHA-256 match, valid safetensors,
   * written for this run). Each one that fails is moved aside with a warning and the next older one is
   * tried. Returns null if none is left.
   */
  latestCheckpoint(): Promise<LoadedCheckpoint | null> {
    return this.#serial(async () => {
      const epochs = (await this.listCheckpoints()).reverse();
      for (const epoch of epochs) {
        const name = `ckpt-${epoch}.safetensors`;
        const path = `${this.path}/${name}`;
        try {
          const bytes = await this.#readVerified(name, await this.#readManifest());
          const { tensors, metadata } = readSafetensors(bytes, { path });
          this.#checkOwnMetadata(metadata, path, "periodic");
          if (metadata.epoch !== String(epoch)) {
            throw new CorruptFileError(
              path,
              `metadata says epoch ${metadata.epoch}, file name says ${epoch}`,
            );
          }
          let state: unknown;
          try {
            state = JSON.parse(metadata.state ?? "");
          } catch (cause) {
            throw new CorruptFileError(path, "state metadata is not valid JSON", { cause });
          }
          if (state === null || typeof state !== "object" || Array.isArray(state)) {
            throw new CorruptFileError(path, "state metadata is not a JSON object");
          }
          return { epoch, tensors, state: state as Record<string, unknown>, path };
        } catch (error) {
          if (!(error instanceof CorruptFileError)) throw error;
          await this.#quarantine(name, error.reason);
        }
      }
      return null;
    });
  }

  #checkOwnMetadata(metadata: Record<string, string>, path: string, kind: string): void {
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

  // ----- final results -----

  /**
   * Records the finished run: `final.safetensors` (weights) and `metrics.json`, both atomic, then the
   * manifest; then (by default) deletes the periodic checkpoints.
   */
  saveFinal(
    tensors: NamedTensors,
    metrics: Record<string, unknown>,
    options: SaveFinalOptions = {},
  ): Promise<void> {
    const { metadata = {}, pruneCheckpoints = true } = options;
    return this.#serial(async () => {
      await ensureDir(this.path);
      const weights = encodeSafetensors(tensors, {
        ...metadata,
        format: CHECKPOINT_FORMAT,
        format_version: String(CHECKPOINT_FORMAT_VERSION),
        kind: "final",
        run_hash: this.hash,
      });
      const metricsBytes = new TextEncoder().encode(JSON.stringify(metrics, null, 2) + "\n");
      await atomicWriteFile(this.finalPath, weights);
      await atomicWriteFile(this.metricsPath, metricsBytes);
      const changes: Record<string, ManifestEntry | null> = {
        "final.safetensors": { sha256: await sha256Hex(weights), size: weights.length },
        "metrics.json": { sha256: await sha256Hex(metricsBytes), size: metricsBytes.length },
      };
      // The log is complete now; reports read it (learning curves), so it is checksummed like the rest.
      const logBytes = await Deno.readFile(this.logPath).catch(() => null);
      if (logBytes) changes["log.jsonl"] = { sha256: await sha256Hex(logBytes), size: logBytes.length };
      if (pruneCheckpoints) {
        for (const epoch of await this.listCheckpoints()) changes[`ckpt-${epoch}.safetensors`] = null;
      }
      await this.#recordFiles(changes);
      if (pruneCheckpoints) {
        for (const epoch of await this.listCheckpoints()) await Deno.remove(this.checkpointPath(epoch));
      }
    });
  }

  /**
   * True if `final.safetensors` and `metrics.json` exist with the sizes the manifest records. Cheap (no
   * checksum); {@linkcode loadFinal} verifies fully.
   */
  async isComplete(): Promise<boolean> {
    let manifest: Manifest;
    try {
      const raw = JSON.parse(await Deno.readTextFile(this.manifestPath)) as Manifest;
      if (raw?.runHash !== this.hash || typeof raw.files !== "object" || raw.files === null) return false;
      manifest = raw;
    } catch {
      return false;
    }
    for (const name of ["final.safetensors", "metrics.json"]) {
      const entry = manifest.files[name];
      if (!entry) return false;
      try {
        if ((await Deno.stat(`${this.path}/${name}`)).size !== entry.size) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  /**
   * The finished run's weights and metrics after verifying both against the manifest; null if the run is
   * not finished. A file that fails verification is moved aside with a warning and null is returned, so the
   * caller recomputes the run (resuming from its checkpoints if they are still there).
   */
  loadFinal(): Promise<LoadedFinal | null> {
    return this.#serial(async () => {
      const manifest = await this.#readManifest();
      const present = await Promise.all(
        ["final.safetensors", "metrics.json"].map((name) => exists(`${this.path}/${name}`)),
      );
      if (!present[0] && !present[1]) return null;
      // One of the pair missing (e.g. the other was moved aside earlier): unfinished, nothing to move aside.
      const missing = ["final.safetensors", "metrics.json"].find((_, i) => !present[i]);
      if (missing) {
        this.#warn(`${this.path}/${missing}: missing although its partner exists; run is incomplete`);
        return null;
      }
      let name = "final.safetensors";
      try {
        const weightBytes = await this.#readVerified(name, manifest);
        const { tensors, metadata } = readSafetensors(weightBytes, { path: this.finalPath });
        this.#checkOwnMetadata(metadata, this.finalPath, "final");
        name = "metrics.json";
        const metricsBytes = await this.#readVerified(name, manifest);
        const metrics = JSON.parse(new TextDecoder().decode(metricsBytes)) as Record<string, unknown>;
        return { tensors, metrics, metadata };
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          this.#warn(`${this.path}/${name}: missing although its partner exists; run is incomplete`);
          return null;
        }
        if (!(error instanceof CorruptFileError)) throw error;
        await this.#quarantine(name, error.reason);
        return null;
      }
    });
  }

  /**
   * Marks a finished run's final files as unusable although their checksums hold (tensors that do not fit
   * the model, metrics without the value a stage reads): the pair — `final.safetensors` and `metrics.json` —
   * is moved aside with the reason, so the run is recomputed and no half of the pair is left to warn about.
   */
  rejectFinal(reason: string): Promise<void> {
    return this.#serial(async () => {
      for (const name of ["final.safetensors", "metrics.json"]) {
        if (await exists(`${this.path}/${name}`)) await this.#quarantine(name, reason);
      }
    });
  }

  // ----- log -----

  /**
   * Appends one JSON line to `log.jsonl`. Not atomic; if a previous append was torn (no final newline), a
   * newline is written first so the new record stays readable.
   */
  appendLog(record: Record<string, unknown>): Promise<void> {
    return this.#serial(async () => {
      await ensureDir(this.path);
      // A run trained again (its final files rejected) grows its log: the finished run's checksum goes.
      if ((await this.#readManifest()).files["log.jsonl"]) await this.#recordFiles({ "log.jsonl": null });
      const file = await Deno.open(this.logPath, { read: true, append: true, create: true });
      try {
        const size = (await file.stat()).size;
        let prefix = "";
        if (size > 0) {
          const last = new Uint8Array(1);
          await file.seek(size - 1, Deno.SeekMode.Start);
          await file.read(last);
          if (last[0] !== 0x0a) prefix = "\n";
        }
        const bytes = new TextEncoder().encode(prefix + JSON.stringify(record) + "\n");
        let written = 0;
        while (written < bytes.length) written += await file.write(bytes.subarray(written));
      } finally {
        file.close();
      }
    });
  }

  /**
   * Rewrites `log.jsonl` (atomically) to one record per epoch, the last one logged, for epochs 1..`epochs`:
   * what a training loop does when it starts or resumes from a checkpoint after `epochs` epochs, so that the
   * log holds exactly the epochs that checkpoint has done. An attempt that logged an epoch and then failed
   * before its checkpoint (a full disk) would otherwise leave one more copy of that record per retry.
   * Unreadable lines go too. Returns how many lines were dropped.
   */
  truncateLogToEpochs(epochs: number): Promise<number> {
    return this.#serial(async () => {
      let bytes: Uint8Array;
      try {
        bytes = await Deno.readFile(this.logPath);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return 0;
        throw error;
      }
      const lines = new TextDecoder().decode(bytes).split("\n").filter((l) => l.trim() !== "");
      const lastOfEpoch = new Map<number, string>();
      for (const line of lines) {
        let record: { type?: unknown; epoch?: unknown } | null = null;
        try {
          record = JSON.parse(line);
        } catch {
          continue;
        }
        const epoch = Number(record?.epoch);
        if (record?.type === "epoch" && Number.isInteger(epoch) && epoch >= 1 && epoch <= epochs) {
          lastOfEpoch.set(epoch, line);
        }
      }
      const kept = [...lastOfEpoch.keys()].sort((a, b) => a - b).map((e) => lastOfEpoch.get(e)!);
      if (kept.length === lines.length && bytes.at(-1) === 0x0a && kept.every((l, i) => l === lines[i])) {
        return 0;
      }
      if ((await this.#readManifest()).files["log.jsonl"]) await this.#recordFiles({ "log.jsonl": null });
      await atomicWriteFile(this.logPath, kept.map((l) => `${l}\n`).join(""));
      return lines.length - kept.length;
    });
  }

  /**
   * The records of `log.jsonl` in order. A torn last line (an append cut short) is skipped silently; other
   * unreadable lines are skipped with a warning.
   */
  async readLog(): Promise<Record<string, unknown>[]> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.logPath);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        if ((await this.#readManifest()).files["log.jsonl"]) {
          this.#warn(`${this.logPath}: missing although the finished run recorded it; no learning curve`);
        }
        return [];
      }
      throw error;
    }
    // A finished run's log is in the manifest: a log changed since (emptied, edited) is moved aside rather
    // than drawn as a learning curve.
    const recorded = (await this.#readManifest()).files["log.jsonl"];
    if (recorded && (bytes.length !== recorded.size || (await sha256Hex(bytes)) !== recorded.sha256)) {
      await this.#quarantine("log.jsonl", "does not match the checksum recorded when the run finished");
      return [];
    }
    const text = new TextDecoder().decode(bytes);
    const lines = text.split("\n");
    const records: Record<string, unknown>[] = [];
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === "") continue;
      let record: unknown;
      try {
        record = JSON.parse(lines[i]);
      } catch {
        record = undefined;
      }
      if (record !== null && typeof record === "object" && !Array.isArray(record)) {
        records.push(record as Record<string, unknown>);
      } else if (i !== lines.length - 1) {
        // The last element has no newline after it: that is a torn append, expected after a crash.
        this.#warn(`${this.logPath}: skipping unreadable line ${i + 1}`);
      }
    }
    return records;
  }

  // ----- locking -----

  /**
   * Takes the run's lock: creates `lock` exclusively with this process's pid, host, start time and a
   * heartbeat. An existing lock is taken over (with a warning) if it is stale: its pid is dead on this host,
   * or its heartbeat is older than `staleMs`. Otherwise waits (`wait: true`) or throws
   * {@linkcode RunLockedError}. Leftover temp files of crashed writers are removed once the lock is held.
   */
  async acquireLock(options: AcquireLockOptions = {}): Promise<RunLock> {
    await ensureDir(this.path);
    return await acquireRunLock(this.lockPath, options, {
      hash: this.hash,
      warn: this.#warn,
      // Only the holder may tidy: with the lock held nobody else trains this run, so another pid's temp file
      // is a crashed writer's leftover (this process's own may still be in flight).
      whenTaken: () => this.#removeTempFiles(),
    });
  }

  async #removeTempFiles(): Promise<void> {
    for await (const entry of Deno.readDir(this.path)) {
      if (entry.isFile && isTempName(entry.name) && !entry.name.includes(`.tmp-${Deno.pid}-`)) {
        await Deno.remove(`${this.path}/${entry.name}`).catch(() => {});
      }
    }
  }
}
