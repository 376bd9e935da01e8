/**
 * The run cache: every run (pretraining, fine-tuning, probing…) lives in `<cache>/runs/<hash>/`, where the
 * hash is derived from the run's full config, so an identical config finds its earlier results and a changed
 * one never does.
 *
 * A run directory holds its config, a manifest (SHA-256 and size of every file), periodic checkpoints, the
 * finished run's weights and metrics, a per-epoch log and a lock; `run_dir.ts` describes each file.
 *
 * Every file is written with temp-file + rename; a file that fails verification is moved aside (renamed to
 * `*.corrupt-<time>`, with a warning naming it) and the run falls back to the next older checkpoint or is
 * recomputed. This layer knows nothing about TensorFlow.js: tensors are plain typed arrays.
 *
 * This module is the public entry point; the parts live beside it, one concern each:
 * - `hash.ts` — canonical JSON and the run hash (the cache key; must stay byte-stable);
 * - `run_dir.ts` — one run directory: its config and final files, over the three below;
 * - `run_manifest.ts` — the manifest (SHA-256 and size per file), checked reads, setting bad files aside;
 * - `run_checkpoints.ts` — periodic checkpoints and the fall-back to an older one;
 * - `run_log.ts` — the per-epoch log;
 * - `lock.ts` — the run lock: file format, staleness, take-over, waiting, heartbeat;
 * - `run_cache.ts` — the cache root (runs by hash) and the summary for `doctor`.
 * @module
 */
export type { NamedTensors, TensorData } from "../safetensors.ts";
export { canonicalJson, RUN_HASH_PATTERN, runHash } from "./hash.ts";
export {
  type AcquireLockOptions,
  isProcessAlive,
  type LockInfo,
  LockLostError,
  lockStaleness,
  LockWaitInterrupted,
  RunLock,
  RunLockedError,
} from "./lock.ts";
export { type LoadedFinal, type RunCacheOptions, RunDir, type SaveFinalOptions } from "./run_dir.ts";
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type Manifest,
  type ManifestEntry,
} from "./run_manifest.ts";
export type { LoadedCheckpoint } from "./run_checkpoints.ts";
export { type CacheSummary, cacheSummary, RunCache } from "./run_cache.ts";
