/**
 * One unit of a table: a row at one seed — its pre-training with the row's strategy (or none, for the
 * random-init floor), then the table's evaluation, all through the run cache.
 * @module
 */
import { type TablePlan } from "../../experiments/tables/mod.ts";
import {
  ensureFinetune,
  ensureLinprobe,
  ensurePretrain,
  NotImplementedError,
  randomInitKnn,
  type RunContext,
} from "../runner.ts";
import { strategyChoice } from "../strategies.ts";
import type { PretrainOutcome } from "../../lib/train/pretrain.ts";
import type { Unit } from "./units.ts";

/** Result of one (row, seed) unit. */
export interface UnitResult {
  row: string;
  seed: number;
  value: number;
  pretrainHash: string;
  evalHash: string;
  cacheHits: number;
  runs: number;
  wallSeconds: number;
  imgPerSec?: number;
  meta: Record<string, unknown>;
  /** Per-epoch curves: pre-training loss and the evaluation's metric (when it logs one per epoch). */
  curves: { pretrainLoss: number[]; evalMetric: number[] };
  /** Which validation images the evaluation classified correctly (`packCorrect`), where the run recorded it. */
  correct?: string;
}

function scaledContext(ctx: RunContext, scale = 1): RunContext {
  if (scale === 1) return ctx;
  const p = structuredClone(ctx.profile);
  p.pretrain.epochs = Math.max(1, Math.round(p.pretrain.epochs * scale));
  return { ...ctx, profile: p };
}

/** Runs (or loads) one unit: pre-training with the row's strategy, then the table's evaluation. */
export async function runUnit(ctx: RunContext, plan: TablePlan, unit: Unit): Promise<UnitResult> {
  if (unit.row.randomInit) return await runRandomInitUnit(ctx, plan, unit);
  const choice = await strategyChoice(ctx, unit.row.request!, unit.seed);
  const pre: PretrainOutcome = await ensurePretrain(scaledContext(ctx, unit.row.epochsScale), choice);
  let value: number;
  let evalHash: string;
  let evalHit: boolean;
  let evalHistory: Record<string, number>[] = [];
  let evalMetrics: Record<string, unknown>;
  let correct: string | undefined;
  const evaluation = plan.metric.evaluation;
  if (evaluation === "finetune") {
    const ft = await ensureFinetune(ctx, pre, unit.seed);
    value = ft.top1;
    evalHash = ft.hash;
    evalHit = ft.cacheHit;
    evalMetrics = ft.metrics;
    evalHistory = ft.history;
    correct = typeof ft.metrics.valCorrect === "string" ? ft.metrics.valCorrect : undefined;
  } else if (evaluation === "knn") {
    // The k-NN the pre-training run recorded at its end: no second run.
    value = Number(pre.metrics.knnTop1);
    evalHash = pre.hash;
    evalHit = pre.cacheHit;
    evalMetrics = { engine: pre.metrics.engine };
  } else if (evaluation === "linprobe") {
    const lp = await ensureLinprobe(ctx, pre, unit.seed);
    value = lp.top1;
    evalHash = lp.hash;
    evalHit = lp.cacheHit;
    evalMetrics = lp.metrics;
  } else {
    const seg = await import("../segment.ts").catch(() => null);
    if (!seg) throw new NotImplementedError("segmentation evaluation is not available");
    const out = await seg.ensureSegment(ctx, pre, unit.seed);
    value = out.miou; // percent, as the paper reports mIoU
    evalHash = out.hash;
    evalHit = out.cacheHit;
    evalMetrics = out.metrics;
  }
  const side = await sideLinprobe(ctx, plan, pre, unit.seed);
  const evalWall = Number(evalMetrics.wallSeconds ?? 0) + side.wallSeconds;
  const imgPerSec = pre.history.length
    ? pre.history.reduce((s, r) => s + (r.imgPerSec ?? 0), 0) / pre.history.length
    : undefined;
  return {
    row: unit.row.key,
    seed: unit.seed,
    value,
    pretrainHash: pre.hash,
    evalHash,
    // A k-NN unit's evaluation is its pre-training run's own record: one run, not two.
    cacheHits: (pre.cacheHit ? 1 : 0) + (evalHit && evalHash !== pre.hash ? 1 : 0) + side.hits,
    runs: (evalHash === pre.hash ? 1 : 2) + side.runs,
    wallSeconds: Number(pre.metrics.wallSeconds ?? 0) + evalWall,
    imgPerSec,
    meta: {
      strategy: pre.metrics.strategy,
      extensions: pre.metrics.extensions,
      knnTop1: pre.metrics.knnTop1,
      ...stepMs(pre, ctx.profile.pretrain.batchSize),
      ...side.meta,
      engines: [pre.metrics.engine, evalMetrics.engine, ...side.engines],
    },
    curves: {
      // The pixel reconstruction loss: the same quantity on every row (MAM's and HPM's totals add terms).
      pretrainLoss: pre.history.map((r) => Number(r.pixelLoss ?? r.loss)),
      evalMetric: evalHistory.map((r) => Number(r.top1 ?? NaN)),
    },
    ...(correct ? { correct } : {}),
  };
}

/**
 * The pre-training's measured time per step (ms at the profile's batch): the median over its epochs of the
 * logged throughput, so a warm-up epoch or a pause beside another run does not decide it.
 */
export function stepMs(
  pre: Pick<PretrainOutcome, "history">,
  batchSize: number,
): { pretrainStepMs?: number } {
  const rates = pre.history.map((r) => Number(r.imgPerSec)).filter((v) => v > 0).sort((a, b) => a - b);
  if (rates.length === 0) return {};
  const mid = rates.length >> 1;
  const median = rates.length % 2 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2;
  return { pretrainStepMs: (1000 * batchSize) / median };
}

/**
 * A random-init unit: the table's evaluation of an encoder that was never pre-trained (fine-tuning and linear
 * probing through the cache; k-NN computed, not cached, as it costs one forward pass).
 */
async function runRandomInitUnit(ctx: RunContext, plan: TablePlan, unit: Unit): Promise<UnitResult> {
  const knn = await randomInitKnn(ctx, unit.seed);
  const evaluation = plan.metric.evaluation;
  let out: {
    value: number;
    hash: string;
    hit: boolean;
    metrics: Record<string, unknown>;
    history?: Record<string, number>[];
  };
  if (evaluation === "finetune") {
    const ft = await ensureFinetune(ctx, null, unit.seed);
    out = { value: ft.top1, hash: ft.hash, hit: ft.cacheHit, metrics: ft.metrics, history: ft.history };
  } else if (evaluation === "linprobe") {
    const lp = await ensureLinprobe(ctx, null, unit.seed);
    out = { value: lp.top1, hash: lp.hash, hit: lp.cacheHit, metrics: lp.metrics };
  } else if (evaluation === "knn") {
    out = { value: knn, hash: "", hit: false, metrics: {} };
  } else {
    const seg = await import("../segment.ts");
    const r = await seg.ensureSegment(ctx, null, unit.seed);
    out = { value: r.miou, hash: r.hash, hit: r.cacheHit, metrics: r.metrics };
  }
  const side = await sideLinprobe(ctx, plan, null, unit.seed);
  return {
    row: unit.row.key,
    seed: unit.seed,
    value: out.value,
    pretrainHash: "",
    evalHash: out.hash,
    // k-NN of a random init is computed, not a run: nothing to count as a hit or a miss.
    cacheHits: (out.hit ? 1 : 0) + side.hits,
    runs: (out.hash === "" ? 0 : 1) + side.runs,
    wallSeconds: Number(out.metrics.wallSeconds ?? 0) + side.wallSeconds,
    meta: {
      strategy: { name: "random init" },
      knnTop1: knn,
      ...side.meta,
      engines: [out.metrics.engine ?? null, ...side.engines],
    },
    curves: { pretrainLoss: [], evalMetric: (out.history ?? []).map((r) => Number(r.top1 ?? NaN)) },
    ...(typeof out.metrics.valCorrect === "string" ? { correct: out.metrics.valCorrect } : {}),
  };
}

/**
 * The linear probe of a unit's encoder when the plan reports it beside another main metric (`sideMetrics`):
 * one more cached run, its top-1 and hash in the unit's metadata.
 */
async function sideLinprobe(
  ctx: RunContext,
  plan: TablePlan,
  pre: PretrainOutcome | null,
  seed: number,
): Promise<
  { meta: Record<string, unknown>; hits: number; runs: number; wallSeconds: number; engines: unknown[] }
> {
  if (!plan.sideMetrics?.includes("linprobe") || plan.metric.evaluation === "linprobe") {
    return { meta: {}, hits: 0, runs: 0, wallSeconds: 0, engines: [] };
  }
  const lp = await ensureLinprobe(ctx, pre, seed);
  return {
    meta: { linprobeTop1: lp.top1, linprobeHash: lp.hash },
    hits: lp.cacheHit ? 1 : 0,
    runs: 1,
    wallSeconds: Number(lp.metrics.wallSeconds ?? 0),
    engines: [lp.metrics.engine ?? null],
  };
}
