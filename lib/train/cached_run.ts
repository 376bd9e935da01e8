/**
 * The cached-run protocol every stage (pre-training, fine-tuning, linear probing, segmentation) goes through,
 * written once:
 *
 *   identity → hash → run directory → finished? (read outside the lock) → lock → finished now? (another
 *   process may have finished it while we waited) → config → train → final weights and metrics → unlock.
 *
 * A finished run whose weights cannot be turned into an outcome (e.g. tensors of the wrong shape under a valid
 * checksum) is treated like a corrupt one: its final file is moved aside and the run is recomputed.
 * @module
 */
import { type LoadedFinal, type RunCache, type RunDir, runHash } from "../cache/mod.ts";
import type { ImageSplit } from "../data/types.ts";
import type { Params } from "../vit.ts";

/** How a stage reads a finished run and trains a missing one. */
export interface CachedRunStage<T> {
  /** The stage's name in log lines, e.g. "finetune". */
  kind: string;
  identity: Record<string, unknown>;
  cache: RunCache;
  log: (line: string) => void;
  /** The outcome from a finished run's files; throws `UnusableRunError` when they do not fit. */
  fromFinal(final: LoadedFinal, run: RunDir): Promise<T>;
  /** One line for a cache hit (after the hash). */
  describeHit?(outcome: T): string;
  /** Set by a signal handler: waiting for another process's lock then ends at once. */
  stopSignal?: { stopped: boolean };
  /** Trains the run (its lock held, its config written) and saves its final files; returns the outcome. */
  train(run: RunDir, heartbeat: () => Promise<void>): Promise<T>;
}

/** A finished run whose files cannot be used (moved aside, then recomputed). */
export class UnusableRunError extends Error {
  override name = "UnusableRunError";
}

/** The top-1 a classification stage recorded in its metrics; a run without one is unusable. */
export function recordedTop1(metrics: Record<string, unknown>): number {
  const top1 = Number(metrics.top1);
  if (!Number.isFinite(top1)) throw new UnusableRunError("metrics.json has no top-1");
  return top1;
}

/** Runs `stage` through the cache: returns its outcome with the run's hash and whether it was cached. */
export async function cachedRun<T>(
  stage: CachedRunStage<T>,
): Promise<T & { hash: string; cacheHit: boolean }> {
  const hash = runHash(stage.identity);
  const run = stage.cache.runDir(hash);
  const finished = async (): Promise<T | null> => {
    const final = await run.loadFinal(); // moves files that fail verification aside
    if (!final) return null;
    // The directory's name is the hash of this identity; its config.json is the record of it. A damaged or
    // missing record is moved aside and written again, so that what is served and what `runs` shows agree.
    await run.writeConfig(stage.identity);
    try {
      return await stage.fromFinal(final, run);
    } catch (e) {
      if (!(e instanceof UnusableRunError)) throw e;
      await run.rejectFinal(e.message);
      return null;
    }
  };
  // Outside the lock only a complete run is read (a writer may be mid-way through the files).
  if (await run.isComplete()) {
    const hit = await finished();
    if (hit) {
      stage.log(`${stage.kind} ${hash}: cache hit${stage.describeHit ? ` (${stage.describeHit(hit)})` : ""}`);
      return { ...hit, hash, cacheHit: true };
    }
  }
  const lock = await run.acquireLock({ wait: true, stopSignal: stage.stopSignal, onWait: stage.log });
  try {
    // Another process may have finished it while we waited for the lock: then it is not trained again.
    const done = await finished();
    if (done) {
      stage.log(`${stage.kind} ${hash}: finished by another process while waiting`);
      return { ...done, hash, cacheHit: true };
    }
    await run.writeConfig(stage.identity);
    const out = await stage.train(run, () => lock.heartbeat());
    return { ...out, hash, cacheHit: false };
  } finally {
    await lock.release();
  }
}

/** Where a downstream run executes (a subset of the pre-training environment). */
export interface StageEnv {
  cache: RunCache;
  log?: (line: string) => void;
  stopSignal?: { stopped: boolean };
}

/** The train and val splits a downstream run reads. */
export type DownstreamData = { train: ImageSplit; val: ImageSplit };

/** What a fine-tuning or segmentation run returns beside its score. */
export interface DownstreamOutcome {
  hash: string;
  /** The final record's metrics. */
  metrics: Record<string, unknown>;
  /** Loaded from the cache rather than trained. */
  cacheHit: boolean;
  /** One record per epoch, from the run's log. */
  history: Record<string, number>[];
}

/** What a downstream trainer (fine-tuning, linear probing, segmentation) receives. */
export interface DownstreamTrainArgs<S, E extends StageEnv> {
  spec: S;
  /** The pre-trained encoder's weights, or null for a random initialisation. */
  encoder: Params | null;
  data: DownstreamData;
  env: E;
  run: RunDir;
  heartbeat: () => Promise<void>;
  log: (line: string) => void;
}

/**
 * A downstream stage through the cache: `cachedRun` with the stage's spec, encoder and data handed to its
 * trainer in one object.
 */
export function downstreamRun<S, E extends StageEnv, T>(o: {
  kind: string;
  identity: Record<string, unknown>;
  spec: S;
  encoder: Params | null;
  data: DownstreamData;
  env: E;
  fromFinal(final: LoadedFinal, run: RunDir): Promise<T>;
  describeHit?(outcome: T): string;
  train(args: DownstreamTrainArgs<S, E>): Promise<T>;
}): Promise<T & { hash: string; cacheHit: boolean }> {
  const log = o.env.log ?? ((l: string) => console.error(l));
  return cachedRun<T>({
    kind: o.kind,
    identity: o.identity,
    cache: o.env.cache,
    stopSignal: o.env.stopSignal,
    log,
    fromFinal: o.fromFinal,
    describeHit: o.describeHit,
    train: (run, heartbeat) =>
      o.train({ spec: o.spec, encoder: o.encoder, data: o.data, env: o.env, run, heartbeat, log }),
  });
}
