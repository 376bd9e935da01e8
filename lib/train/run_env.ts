/**
 * The environment a training run gets from its caller (cache, logging, progress, stop signal, heartbeat,
 * evaluation data), shared by pre-training, fine-tuning, linear probing and segmentation, and the pieces of
 * it that the training loop and the run's metrics take.
 * @module
 */
import type { RunCache } from "../cache/mod.ts";
import type { ImageSplit } from "../data/types.ts";

/** Environment of a run. */
export interface RunEnv {
  cache: RunCache;
  log?: (line: string) => void;
  stopSignal?: { stopped: boolean };
  lossHook?: (globalStep: number, loss: number) => number;
  progress?: boolean;
  /** Seconds between progress lines inside an epoch when there is no bar (default 10; 0: every step). */
  progressEvery?: number;
  heartbeat?: () => Promise<void>;
  /** Splits for the cheap end-of-run k-NN evaluation of the encoder (pre-training only). */
  knnData?: { train: ImageSplit; val: ImageSplit };
  /** Train an online linear probe on the val split's classes alongside pre-training (needs `knnData`). */
  onlineProbe?: boolean;
  /** How the recipe was adapted to the data (one line each), recorded as `recipeNotes` in the metrics. */
  notes?: string[];
}

/**
 * The training loop's options that come from a run's environment: logging, progress, the stop signal, the
 * test-only loss hook and the heartbeat that keeps the run's lock fresh (the run's own, where it has one).
 */
export function loopEnv(env: RunEnv, heartbeat: (() => Promise<void>) | undefined = env.heartbeat) {
  return {
    log: env.log,
    progress: env.progress,
    progressEvery: env.progressEvery,
    stopSignal: env.stopSignal,
    lossHook: env.lossHook,
    heartbeat,
  };
}

/** The `recipeNotes` field of a run's metrics (absent without notes). */
export function notesField(env: { notes?: string[] }): { recipeNotes?: string[] } {
  return env.notes && env.notes.length > 0 ? { recipeNotes: env.notes } : {};
}
