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
 * recomputed. {@linkcode RunDir} is the one entry point to all the file kinds, because they share one
 * serialised read-modify-write queue on the manifest. The parts live beside it: `run_manifest.ts` (the
 * manifest, verification, quarantine and that queue), `run_checkpoints.ts` (periodic checkpoints) and
 * `run_log.ts` (the log); this file keeps the config, the final files and the lock. This layer knows nothing
 * about TensorFlow.js: tensors are plain typed arrays.
 * @module
 */
import { atomicWriteFile, CorruptFileError, ensureDir, exists, isTempName, sha256Hex } from "../fsutil.ts";
import { encodeSafetensors, type NamedTensors, readSafetensors } from "../safetensors.ts";
import { canonicalJson, runHash } from "./hash.ts";
import { type AcquireLockOptions, acquireRunLock, type RunLock } from "./lock.ts";
import * as checkpoints from "./run_checkpoints.ts";
import type { LoadedCheckpoint } from "./run_checkpoints.ts";
import * as runLog from "./run_log.ts";
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type Manifest,
  type ManifestEntry,
  RunManifest,
} from "./run_manifest.ts";

/** Options shared by {@linkcode RunCache} and {@linkcode RunDir}. */
export interface RunCacheOptions {
  /** Receives warnings (moved-aside files, stale locks taken over…); default `console.warn`. */
  warn?: (message: string) => void;
  /** Periodic checkpoints kept per run (default 2, at least 1). */
  keepCheckpoints?: number;
}

/** A finished run read back by {@linkcode RunDir.loadFinal}. */
export interface LoadedFinal {
  tensors: NamedTensors;
  metrics: Record<string, unknown>;
  /** Metadata of `final.safetensors` (format, run hash, and any extra metadata given to `saveFinal`). */
  metadata: Record<string, string>;
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
  readonly #keep: number;
  /** The manifest, its checks and the queue every read-modify-write of this directory goes through. */
  readonly #files: RunManifest;

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
    this.#files = new RunManifest(path, hash, options.warn ?? ((message) => console.warn(message)));
    this.#keep = options.keepCheckpoints ?? 2;
    if (!Number.isInteger(this.#keep) || this.#keep < 1) throw new RangeError("keepCheckpoints must be >= 1");
  }

  /** Path of the periodic checkpoint of `epoch`. */
  checkpointPath(epoch: number): string {
    return checkpoints.checkpointPath(this.path, epoch);
  }

  // ----- config and manifest -----

  /**
   * Records the run's config in `config.json` (once). Throws if `config` does not hash to this run, or if a
   * different config is already recorded; an unreadable `config.json` is moved aside and rewritten.
   */
  writeConfig(config: unknown): Promise<void> {
    return this.#files.serial(async () => {
      const hash = runHash(config);
      if (hash !== this.hash) throw new Error(`config hashes to ${hash}, not to this run's ${this.hash}`);
      await ensureDir(this.path);
      const existing = await this.#files.readJsonOrQuarantine("config.json");
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
      await this.#files.record({ "config.json": { sha256: await sha256Hex(bytes), size: bytes.length } });
    });
  }

  /** The recorded config, or null if none (an unreadable one is moved aside). */
  readConfig(): Promise<unknown | null> {
    return this.#files.serial(() => this.#files.readJsonOrQuarantine("config.json"));
  }

  /** The manifest (an empty one if missing; a corrupt or foreign one is moved aside and replaced by empty). */
  readManifest(): Promise<Manifest> {
    return this.#files.serial(() => this.#files.read());
  }

  // ----- checkpoints -----

  /** Epochs of the periodic checkpoint files present, ascending. */
  listCheckpoints(): Promise<number[]> {
    return checkpoints.listCheckpoints(this.path);
  }

  /**
   * Saves the checkpoint of `epoch` (training state after that epoch): the file is written atomically, then
   * recorded in the manifest (also atomic); then only the newest `keepCheckpoints` are kept, and
   * checkpoints of later epochs (left by an abandoned, longer timeline) are deleted with a warning.
   * `state` (step, RNG states, schedules…) is stored as canonical JSON in the metadata. Returns the path.
   */
  saveCheckpoint(epoch: number, tensors: NamedTensors, state: Record<string, unknown>): Promise<string> {
    return checkpoints.saveCheckpoint(this.#files, this.#keep, epoch, tensors, state);
  }

  /**
   * The newest checkpoint that verifies (listed in the manifest, size and SHA-256 match, valid safetensors,
   * written for this run). Each one that fails is moved aside with a warning and the next older one is
   * tried. Returns null if none is left.
   */
  latestCheckpoint(): Promise<LoadedCheckpoint | null> {
    return checkpoints.latestCheckpoint(this.#files);
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
    return this.#files.serial(async () => {
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
      await this.#files.record(changes);
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
    return this.#files.serial(async () => {
      const manifest = await this.#files.read();
      const present = await Promise.all(
        ["final.safetensors", "metrics.json"].map((name) => exists(`${this.path}/${name}`)),
      );
      if (!present[0] && !present[1]) return null;
      // One of the pair missing (e.g. the other was moved aside earlier): unfinished, nothing to move aside.
      const missing = ["final.safetensors", "metrics.json"].find((_, i) => !present[i]);
      if (missing) {
        this.#files.warn(`${this.path}/${missing}: missing although its partner exists; run is incomplete`);
        return null;
      }
      let name = "final.safetensors";
      try {
        const weightBytes = await this.#files.readVerified(name, manifest);
        const { tensors, metadata } = readSafetensors(weightBytes, { path: this.finalPath });
        this.#files.checkOwnMetadata(metadata, this.finalPath, "final");
        name = "metrics.json";
        const metricsBytes = await this.#files.readVerified(name, manifest);
        const metrics = JSON.parse(new TextDecoder().decode(metricsBytes)) as Record<string, unknown>;
        return { tensors, metrics, metadata };
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          this.#files.warn(`${this.path}/${name}: missing although its partner exists; run is incomplete`);
          return null;
        }
        if (!(error instanceof CorruptFileError)) throw error;
        await this.#files.quarantine(name, error.reason);
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
    return this.#files.serial(async () => {
      for (const name of ["final.safetensors", "metrics.json"]) {
        if (await exists(`${this.path}/${name}`)) await this.#files.quarantine(name, reason);
      }
    });
  }

  // ----- log -----

  /**
   * Appends one JSON line to `log.jsonl`. Not atomic; if a previous append was torn (no final newline), a
   * newline is written first so the new record stays readable.
   */
  appendLog(record: Record<string, unknown>): Promise<void> {
    return runLog.appendLog(this.#files, this.logPath, record);
  }

  /**
   * Rewrites `log.jsonl` (atomically) to one record per epoch, the last one logged, for epochs 1..`epochs`:
   * what a training loop does when it starts or resumes from a checkpoint after `epochs` epochs, so that the
   * log holds exactly the epochs that checkpoint has done. An attempt that logged an epoch and then failed
   * before its checkpoint (a full disk) would otherwise leave one more copy of that record per retry.
   * Unreadable lines go too. Returns how many lines were dropped.
   */
  truncateLogToEpochs(epochs: number): Promise<number> {
    return runLog.truncateLogToEpochs(this.#files, this.logPath, epochs);
  }

  /**
   * The records of `log.jsonl` in order. A torn last line (an append cut short) is skipped silently; other
   * unreadable lines are skipped with a warning.
   */
  readLog(): Promise<Record<string, unknown>[]> {
    return runLog.readLog(this.#files, this.logPath);
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
      warn: this.#files.warn,
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
