/**
 * The resumable training loop shared by pre-training, fine-tuning and linear probing.
 *
 * Determinism: every step draws from a stream derived from (seed, epoch, step) and every epoch's batch order
 * from (seed, epoch), so a run resumed from any step checkpoint continues exactly as an uninterrupted one.
 * Checkpoints (weights, optimiser slots, extra state, position) are written atomically by `RunDir`.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { RunDir } from "../cache/mod.ts";
import { Rng } from "../rng.ts";
import type { Params } from "../vit.ts";
import { atomicWriteFile } from "../fsutil.ts";
import { EVENT_FILE_NAME, eventFile } from "../tfevents.ts";
import { loadNamedInto, namedTensorsOf } from "../named_tensors.ts";
export { loadNamedInto, namedTensorsOf, WeightsMismatchError } from "../named_tensors.ts";

/** Raised when a loss becomes NaN or infinite. */
export class NumericError extends Error {
  override name = "NumericError";
}

/** Raised when SIGINT/SIGTERM interrupted training after a checkpoint was written. */
export class InterruptedError extends Error {
  override name = "InterruptedError";
}

/**
 * Scalar metrics a step left on the device (webgpu): reading them waits for the GPU to finish the step, so the
 * loop reads them only after the next step's work is queued, and a step never waits on its own results.
 * Numbers known on the CPU (the learning rate, mask statistics) travel as they are; tensors are read in one
 * readback (one buffer map). The object owns its tensors: `read()` or `dispose()` frees them.
 */
export class PendingMetrics {
  #values: Record<string, number | tf.Scalar> | null;

  /** `values`: numbers and kept scalar tensors, in the order the metrics are reported. */
  constructor(values: Record<string, number | tf.Scalar>) {
    this.#values = values;
  }

  /**
   * Starts the readback at once (its copy is queued right behind the work encoded so far) and resolves to the
   * numbers, in the constructor's order.
   */
  read(): Promise<Record<string, number>> {
    const values = this.#values;
    if (!values) throw new Error("PendingMetrics were already read or disposed");
    this.#values = null;
    const keys = Object.keys(values).filter((k) => typeof values[k] !== "number");
    const tensors = keys.map((k) => values[k] as tf.Scalar);
    const packed = tf.tidy(() => tf.stack(tensors));
    tf.dispose(tensors);
    const data = packed.data(); // called here, not awaited: copy, submit and map are issued now
    return data.then((d) => {
      packed.dispose();
      const out: Record<string, number> = {};
      for (const k of Object.keys(values)) {
        out[k] = typeof values[k] === "number" ? values[k] as number : d[keys.indexOf(k)];
      }
      return out;
    });
  }

  /** Frees the tensors without reading them. */
  dispose(): void {
    if (this.#values) tf.dispose(Object.values(this.#values).filter((v) => typeof v !== "number"));
    this.#values = null;
  }
}

/** What a step returns: numbers, or metrics still on the device (see `PendingMetrics`). */
export type StepMetrics = Record<string, number> | PendingMetrics;

/** What one step sees. */
export interface StepContext {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  /** Fractional epoch (epoch + step / steps), for per-iteration schedules. */
  epochFloat: number;
  /** Per-step random stream. */
  rng: Rng;
  /** This epoch's batch order, `stepsPerEpoch` index arrays. */
  batchIndices: Int32Array;
}

/** Something whose state a checkpoint must hold besides the parameters. */
export interface Stateful {
  stateTensors(): Map<string, tf.Tensor>;
  loadState(tensors: Map<string, { shape: number[]; data: Float32Array }>, step: number): void;
  step: number;
}

/** Options of `trainLoop`. */
export interface TrainLoopOptions {
  run: RunDir;
  params: Params;
  /** Extra variables to checkpoint (EMA teacher, BatchNorm statistics…), by name. */
  extra?: Map<string, tf.Variable>;
  optimizer: Stateful;
  epochs: number;
  /** Examples per epoch and batch size (drop-last batching). */
  datasetSize: number;
  batchSize: number;
  seed: number;
  /**
   * One optimisation step; returns scalar metrics (must include `loss`), or `PendingMetrics`, which the loop
   * reads after the next step's work is queued (a non-finite loss then stops the loop one step later, naming
   * the step it came from, before any checkpoint is written).
   */
  step: (ctx: StepContext) => Promise<StepMetrics>;
  /** Evaluation after each epoch (or only the last: `evalEvery`). */
  evaluate?: (epoch: number) => Promise<Record<string, number>>;
  evalEvery?: number;
  /** Checkpoint every N epochs (default 1) and on interruption. */
  checkpointEvery?: number;
  log?: (line: string) => void;
  /** Progress bar on a TTY (default: when stderr is one); otherwise progress lines through `log`. */
  progress?: boolean;
  /**
   * Without the bar: seconds between progress lines inside an epoch (steps, img/s, the epoch's and the run's
   * ETA); default 10, 0 = after every step.
   */
  progressEvery?: number;
  /** Set to request a graceful stop (SIGINT/SIGTERM). */
  stopSignal?: { stopped: boolean };
  /** Called between steps (e.g. to refresh a run lock's heartbeat while synchronous work blocks timers). */
  heartbeat?: () => Promise<void>;
  /** Test hook: returns a value that replaces the loss at a given global step (NaN injection). */
  lossHook?: (globalStep: number, loss: number) => number;
}

/** A finished loop: the per-epoch history and the last epoch's metrics. */
export interface TrainResult {
  history: Record<string, number>[];
  final: Record<string, number>;
  resumedFrom: number | null;
  wallSeconds: number;
}

/** Epoch batch order: a seeded permutation cut into full batches. */
export function epochOrder(seed: number, epoch: number, size: number, batch: number): Int32Array {
  const perm = new Rng(seed).fork(`order/${epoch}`).permutation(size);
  return perm.subarray(0, Math.floor(size / batch) * batch);
}

/** Replaces non-finite numbers by null (JSON and canonical hashing reject NaN). */
export function finiteOnly(r: Record<string, number>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number.isFinite(v) ? v : null]));
}

/** The last record of each epoch in a run log (a resumed run may have logged an epoch twice). */
export function epochRecords(log: Record<string, unknown>[]): Record<string, number>[] {
  const byEpoch = new Map<number, Record<string, number>>();
  for (const r of log) if (r.type === "epoch") byEpoch.set(Number(r.epoch), r as Record<string, number>);
  return [...byEpoch.keys()].sort((a, b) => a - b).map((e) => byEpoch.get(e)!);
}

/**
 * `metrics.csv` of a history: one row per epoch, the columns every metric any epoch has (first seen first),
 * an empty cell where an epoch lacks one.
 */
export function metricsCsv(history: Record<string, number>[]): string {
  const cols: string[] = [];
  for (const r of history) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cell = (v: number | undefined) => v === undefined || v === null ? "" : String(v);
  return [cols.join(","), ...history.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

/**
 * Writes a run's per-epoch logs beside `log.jsonl`: `metrics.csv` and a TensorBoard event file of the same
 * scalars (step = epoch), so `tensorboard --logdir <cache>/runs` shows every run side by side. Rewritten whole
 * after each epoch (a resumed run's file holds its earlier epochs too).
 */
export async function writeRunLogs(dir: string, history: Record<string, number>[], wallTimes: number[]) {
  await atomicWriteFile(`${dir}/metrics.csv`, metricsCsv(history));
  const points = history.map((r, i) => {
    const { epoch, ...scalars } = r;
    return { step: epoch ?? i + 1, wallTime: wallTimes[i] ?? Date.now() / 1000, scalars };
  });
  await atomicWriteFile(`${dir}/${EVENT_FILE_NAME}`, eventFile(points, wallTimes[0] ?? Date.now() / 1000));
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, "0")}s` : `${s.toFixed(0)}s`;
}

/** Runs (or resumes) a training loop to completion. */
export async function trainLoop(o: TrainLoopOptions): Promise<TrainResult> {
  const log = o.log ?? ((l: string) => console.error(l));
  const stepsPerEpoch = Math.floor(o.datasetSize / o.batchSize);
  if (stepsPerEpoch < 1) {
    throw new RangeError(`batch size ${o.batchSize} exceeds the dataset size ${o.datasetSize}`);
  }
  const history: Record<string, number>[] = [];
  let startEpoch = 0;
  let startStep = 0;
  let resumedFrom: number | null = null;
  let resumedPartial: { sums: Record<string, number>; n: number } | undefined;
  const ckpt = await o.run.latestCheckpoint();
  if (ckpt) {
    const st = ckpt.state as {
      epoch: number;
      stepInEpoch: number;
      optimizerStep: number;
      history?: [];
      partial?: { sums: Record<string, number>; n: number };
    };
    loadNamedInto(ckpt.tensors, o.params);
    if (o.extra) loadNamedInto(ckpt.tensors, o.extra);
    const slots = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [n, t] of Object.entries(ckpt.tensors)) {
      if (n.startsWith("opt.")) slots.set(n, t as { shape: number[]; data: Float32Array });
    }
    o.optimizer.loadState(slots, st.optimizerStep);
    startEpoch = st.epoch;
    startStep = st.stepInEpoch;
    history.push(...(st.history ?? []));
    resumedFrom = startEpoch * stepsPerEpoch + startStep;
    if (st.partial) resumedPartial = st.partial;
    log(`resuming ${o.run.hash} at epoch ${startEpoch}, step ${startStep} (${ckpt.path})`);
  }

  // Metric sums of an epoch cut by an interruption, so its record averages all of its steps.
  const save = async (
    epoch: number,
    stepInEpoch: number,
    partial?: { sums: Record<string, number>; n: number },
  ) => {
    const named = await namedTensorsOf(o.params);
    if (o.extra) await namedTensorsOf(o.extra, undefined, named);
    await namedTensorsOf(o.optimizer.stateTensors(), undefined, named);
    const globalStep = epoch * stepsPerEpoch + stepInEpoch;
    await o.run.saveCheckpoint(globalStep, named, {
      epoch,
      stepInEpoch,
      optimizerStep: o.optimizer.step,
      history: history.map(finiteOnly),
      ...(partial && partial.n > 0 ? { partial } : {}),
    });
  };

  // The log holds exactly the epochs done before this start, one record each: an earlier attempt may have
  // logged epochs past its last checkpoint and then failed before saving (a full disk); retried, they would
  // be logged again (duplicate points in the learning curves).
  const dropped = await o.run.truncateLogToEpochs(startEpoch);
  if (dropped > 0) {
    log(`${o.run.hash}: dropped ${dropped} log line(s) past the checkpoint (epoch ${startEpoch})`);
  }

  const t0 = performance.now();
  const isTty = o.progress ?? Deno.stderr.isTerminal();
  const progressEvery = (o.progressEvery ?? 10) * 1000;
  // Wall time of each history record (TensorBoard's x axis in time); epochs before a resume get its time.
  const wallTimes: number[] = history.map(() => Date.now() / 1000);
  const every = o.checkpointEvery ?? 1;
  let lastBeat = performance.now();
  for (let epoch = startEpoch; epoch < o.epochs; epoch++) {
    const order = epochOrder(o.seed, epoch, o.datasetSize, o.batchSize);
    const resumed = epoch === startEpoch ? resumedPartial : undefined;
    const sums: Record<string, number> = { ...resumed?.sums };
    let n = resumed?.n ?? 0;
    const stepsBefore = n; // steps of this epoch done before a resume (not timed here)
    const te = performance.now();
    let lastLine = te;
    const firstStep = epoch === startEpoch ? startStep : 0;
    // A step's metrics: the NaN check, the epoch's sums, the progress bar.
    const finish = (metrics: Record<string, number>, s: number, globalStep: number) => {
      if (o.lossHook) metrics.loss = o.lossHook(globalStep, metrics.loss);
      if (!Number.isFinite(metrics.loss)) {
        throw new NumericError(
          `loss is ${metrics.loss} at epoch ${epoch}, step ${s} (global step ${globalStep}); the last good ` +
            `checkpoint is kept in ${o.run.path}. Lower the learning rate or enable gradient clipping.`,
        );
      }
      for (const [k, v] of Object.entries(metrics)) sums[k] = (sums[k] ?? 0) + v;
      n++;
      const now = performance.now();
      if (!isTty && s + 1 < stepsPerEpoch && now - lastLine >= progressEvery) {
        lastLine = now;
        const done = s + 1;
        const rate = ((done - firstStep) * o.batchSize) / Math.max((now - te) / 1000, 1e-9);
        const epochLeft = ((stepsPerEpoch - done) * o.batchSize) / rate;
        const runLeft = epochLeft + ((o.epochs - epoch - 1) * stepsPerEpoch * o.batchSize) / rate;
        log(
          `  epoch ${epoch + 1}/${o.epochs} step ${done}/${stepsPerEpoch}: loss ${
            (sums.loss / n).toFixed(4)
          }, ` +
            `${rate.toFixed(1)} img/s, ETA ${formatSeconds(epochLeft)} (epoch), ${
              formatSeconds(runLeft)
            } (run)`,
        );
      }
      if (isTty) {
        const done = s + 1;
        const elapsed = (performance.now() - te) / 1000;
        const rate = ((done - firstStep) * o.batchSize) / Math.max(elapsed, 1e-9);
        const eta = ((stepsPerEpoch - done) * o.batchSize) / rate;
        const width = 24;
        const fill = Math.round((done / stepsPerEpoch) * width);
        Deno.stderr.writeSync(new TextEncoder().encode(
          `\r  epoch ${epoch + 1}/${o.epochs} [${"#".repeat(fill)}${".".repeat(width - fill)}] ` +
            `loss ${(sums.loss / n).toFixed(4)} ${rate.toFixed(1)} img/s ETA ${formatSeconds(eta)}   `,
        ));
      }
    };
    // The previous step's metrics while they are still being read (PendingMetrics); settled before anything
    // that uses the sums or the weights (a checkpoint, the epoch's record, an evaluation) and after the next
    // step's work is queued, so the GPU always has a step to run.
    let pending: { read: Promise<Record<string, number>>; s: number; globalStep: number } | null = null;
    const settle = async () => {
      if (!pending) return;
      const p = pending;
      pending = null;
      finish(await p.read, p.s, p.globalStep);
    };
    for (let s = firstStep; s < stepsPerEpoch; s++) {
      // Let signal handlers run: synchronous tfjs work otherwise starves the event loop for a whole epoch.
      await new Promise((r) => setTimeout(r, 0));
      if (o.stopSignal?.stopped) {
        await settle();
        await save(epoch, s, { sums, n });
        throw new InterruptedError(
          `interrupted at epoch ${epoch}, step ${s}; checkpoint written, rerun the same command to resume`,
        );
      }
      const globalStep = epoch * stepsPerEpoch + s;
      if (o.heartbeat && performance.now() - lastBeat > 30_000) {
        await o.heartbeat();
        lastBeat = performance.now();
      }
      let metrics: StepMetrics;
      try {
        metrics = await o.step({
          epoch,
          stepInEpoch: s,
          globalStep,
          epochFloat: epoch + s / stepsPerEpoch,
          rng: new Rng(o.seed).fork(`step/${epoch}/${s}`),
          batchIndices: order.subarray(s * o.batchSize, (s + 1) * o.batchSize),
        });
      } catch (e) {
        // A failed step after a non-finite one: the earlier step's NumericError is the cause to report.
        await settle();
        throw e;
      }
      if (metrics instanceof PendingMetrics) {
        const read = metrics.read(); // queued behind this step's work
        await settle(); // the previous step's, finished by the GPU while this one was encoded
        pending = { read, s, globalStep };
      } else {
        finish(metrics, s, globalStep);
      }
    }
    await settle();
    if (isTty) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
    const seconds = (performance.now() - te) / 1000;
    const record: Record<string, number> = { epoch: epoch + 1 };
    for (const [k, v] of Object.entries(sums)) record[k] = v / Math.max(n, 1);
    record.imgPerSec = ((n - stepsBefore) * o.batchSize) / seconds;
    record.seconds = seconds;
    const evalEvery = o.evalEvery ?? 1;
    if (o.evaluate && ((epoch + 1) % evalEvery === 0 || epoch + 1 === o.epochs)) {
      Object.assign(record, await o.evaluate(epoch));
    }
    history.push(record);
    wallTimes.push(Date.now() / 1000);
    await o.run.appendLog({ type: "epoch", ...finiteOnly(record) });
    await writeRunLogs(o.run.path, history, wallTimes);
    log(
      `  epoch ${epoch + 1}/${o.epochs}: ` +
        Object.entries(record).filter(([k]) => k !== "epoch").map(([k, v]) =>
          `${k} ${Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4)}`
        ).join(", "),
    );
    if ((epoch + 1) % every === 0 && epoch + 1 < o.epochs) await save(epoch + 1, 0);
  }
  return {
    history,
    final: history[history.length - 1] ?? {},
    resumedFrom,
    wallSeconds: (performance.now() - t0) / 1000,
  };
}
