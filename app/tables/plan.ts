/**
 * `plan`: the runs a table needs, with their hashes and cache status, without training anything (runs that
 * depend on a teacher that is not trained yet are listed as waiting for it).
 * @module
 */
import type { TablePlan } from "../../experiments/tables/mod.ts";
import { GpaMasking } from "../../lib/masking/gpa.ts";
import type { Profile } from "../../experiments/profiles.ts";
import { linprobeSeconds, profileThroughput, teacherSeconds, unitSeconds } from "./estimate.ts";
import {
  evaluationIdentity,
  pretrainSpec,
  profileFingerprint,
  runCache,
  type RunContext,
} from "../runner.ts";
import { strategyChoice, strategyNeedsTeacher } from "../strategies.ts";
import type { StrategyRequest } from "../../experiments/strategy_request.ts";
import { pretrainHash } from "../../lib/train/pretrain_spec.ts";
import { runHash } from "../../lib/cache/mod.ts";
import { shardUnits, tableUnits, type Unit } from "./units.ts";
import { segmentFingerprint, segmentIdentity } from "../segment.ts";
import { SEGMENTATION_SETUPS } from "../../experiments/segmentation.ts";

/** One planned unit. */
export interface PlannedUnit {
  row: string;
  seed: number;
  /**
   * "cached" (pre-training and evaluation both complete), "missing", "waiting" (for the teacher, or for the
   * data: see `waitingFor`) or "not-run".
   */
  status: "cached" | "missing" | "waiting" | "not-run";
  /** What a waiting unit waits for. */
  waitingFor?: "teacher" | "data";
  pretrainHash?: string;
  /** A random-init row's unit: no pre-training. */
  randomInit?: true;
  /** The hash of the unit's evaluation run (fine-tuning, linear probe or segmentation), when it can be known. */
  evalHash?: string;
  /** The hash of the unit's linear probe reported beside the main metric (`sideMetrics`), when it has one. */
  sideHash?: string;
  notRun?: string;
  /**
   * GPA rows: the shares of the masked patches at the start and the end of training (t = 0 and t = 1), after
   * the profile's defaults fill what the row leaves unstated and any clipping — what the row means.
   */
  shares?: { t0: GpaShares; t1: GpaShares };
  /** Estimated seconds of one process for this unit from the profile's measured throughput (missing units). */
  estimateSeconds?: number;
}

/** Soft, hard and random shares of the masked patches. */
export interface GpaShares {
  soft: number;
  hard: number;
  random: number;
}

/** The shares a GPA request schedules at t = 0 and t = 1 (the profile's defaults where it is silent). */
export function requestShares(ctx: RunContext, req: StrategyRequest): { t0: GpaShares; t1: GpaShares } {
  const m = new GpaMasking({
    mapProvider: () => Promise.reject(new Error("shares only")),
    maskRatio: req.maskRatio ?? ctx.profile.pretrain.maskRatio,
    soft: req.soft ?? ctx.profile.gpa.soft,
    hard: req.hard ?? ctx.profile.gpa.hard,
    clipSoft: req.clipSoft,
  });
  const at = (t: number): GpaShares => {
    const soft = m.softShare(t), hard = m.hardShare(t);
    const r = (x: number) => Math.round(x * 1e6) / 1e6;
    return { soft: r(soft), hard: r(hard), random: r(1 - soft - hard) };
  };
  return { t0: at(0), t1: at(1) };
}

/** What the units still to run cost, from the profile's measured throughput. */
export interface PlanEstimate {
  /** Units with an estimate / units still to run. */
  estimated: number;
  pending: number;
  /** Seconds of one process, summed over the pending units (and the teacher when it is not cached). */
  computeSeconds: number;
  /** The teacher's share of that, when it is still to be trained. */
  teacherSeconds: number;
  /** Where the throughput was measured. */
  measured: string | null;
}

/** Sums the estimates of a plan's pending units (and the teacher, when some unit waits for it). */
export function planEstimate(profile: Profile, units: PlannedUnit[]): PlanEstimate {
  const pending = units.filter((u) => u.status === "missing" || u.status === "waiting");
  const teacher = pending.some((u) => u.waitingFor === "teacher") && !profile.gpa.teacher.weightsPath
    ? teacherSeconds(profile) ?? 0
    : 0;
  return {
    estimated: pending.filter((u) => u.estimateSeconds !== undefined).length,
    pending: pending.length,
    computeSeconds: teacher + pending.reduce((s, u) => s + (u.estimateSeconds ?? 0), 0),
    teacherSeconds: teacher,
    measured: profileThroughput(profile)?.measured ?? null,
  };
}

/** Plans a table (optionally only one shard's share of the runnable units). */
export async function planTable(
  ctx: RunContext,
  plan: TablePlan,
  seeds: number[],
  shard?: { index: number; count: number },
): Promise<PlannedUnit[]> {
  const cache = runCache(ctx);
  const out: PlannedUnit[] = [];
  for (const row of plan.rows) {
    if (row.notRun) out.push({ row: row.key, seed: -1, status: "not-run", notRun: row.notRun });
  }
  const { teacherSeed, teacherEpochs } = ctx.profile.gpa.teacher;
  // Run hashes include the data's fingerprint, read from the source without decoding it; a source that is
  // not there yet (it would be downloaded) leaves every unit waiting for the data.
  const data = await profileFingerprint(ctx);
  const dataReady = data !== undefined || ctx.profile.dataset.name === "synthetic";
  const baselineHash = pretrainHash(
    pretrainSpec(ctx, { seed: teacherSeed, strategy: { name: "random" }, epochs: teacherEpochs }, data),
  );
  // A teacher from a weights file is ready when the file is there; the profile's own MAE when it is cached.
  const weights = ctx.profile.gpa.teacher.weightsPath;
  const teacherReady = weights !== undefined
    ? await Deno.stat(weights).then((st) => st.isFile, () => false)
    : await cache.runDir(baselineHash).isComplete();
  const evaluation = plan.metric.evaluation;
  const units = shardUnits(tableUnits(plan, seeds), shard);
  // Segmentation units also need the segmentation data (CamVid on cpu), fingerprinted once.
  const segData = evaluation === "segment" && units.length ? await segmentFingerprint(ctx) : undefined;
  const segReady = evaluation !== "segment" || segData !== undefined ||
    SEGMENTATION_SETUPS[ctx.profile.name]?.dataset?.name === "synthetic"; // generated scenes need nothing
  for (const unit of units) {
    if (unit.row.randomInit) {
      out.push(await planRandomInit(ctx, plan, unit, data, dataReady, segReady, segData));
      continue;
    }
    const needsTeacher = strategyNeedsTeacher(unit.row.request!.name);
    const shares = unit.row.request!.name === "gpa" ? { shares: requestShares(ctx, unit.row.request!) } : {};
    const side = sideSeconds(ctx.profile, plan);
    const est0 = unitSeconds(ctx.profile, unit.row, evaluation);
    const est = est0 === null ? null : est0 + side;
    const estimate = est !== null ? { estimateSeconds: Math.round(est) } : {};
    if (!dataReady || !segReady || (needsTeacher && !teacherReady)) {
      const waitingFor = dataReady && segReady ? "teacher" : "data";
      out.push({ row: unit.row.key, seed: unit.seed, status: "waiting", waitingFor, ...shares, ...estimate });
      continue;
    }
    const choice = await strategyChoice(ctx, unit.row.request!, unit.seed);
    const p = structuredClone(ctx.profile);
    p.pretrain.epochs = Math.max(1, Math.round(p.pretrain.epochs * (unit.row.epochsScale ?? 1)));
    const hash = pretrainHash(pretrainSpec({ ...ctx, profile: p }, choice, data));
    const evalHash = evaluationHash(ctx, evaluation, hash, unit.seed, data, segData);
    // The report is a cache hit only when the evaluation is there too (a changed fine-tuning recipe keeps the
    // pre-training hashes).
    const sideHash = sideLinprobeHash(ctx, plan, hash, unit.seed, data);
    const pretrained = await cache.runDir(hash).isComplete();
    const done = pretrained && await evaluated(ctx, evalHash, sideHash);
    const left0 = pretrained ? unitSeconds(ctx.profile, unit.row, evaluation, { pretrained }) : est0;
    const left = left0 === null ? null : left0 + side;
    const estimateLeft = left === null ? {} : { estimateSeconds: Math.round(left) };
    out.push(plannedRun(unit, done, { pretrainHash: hash }, { evalHash, sideHash }, shares, estimateLeft));
  }
  return out;
}

/** A random-init unit: only its evaluation runs (k-NN: nothing cached, so it is always "missing"). */
async function planRandomInit(
  ctx: RunContext,
  plan: TablePlan,
  unit: Unit,
  data: string | undefined,
  dataReady: boolean,
  segReady: boolean,
  segData: string | undefined,
): Promise<PlannedUnit> {
  const evaluation = plan.metric.evaluation;
  const est0 = unitSeconds(ctx.profile, unit.row, evaluation);
  const est = est0 === null ? null : est0 + sideSeconds(ctx.profile, plan);
  const estimate = est !== null ? { estimateSeconds: Math.round(est) } : {};
  if (!dataReady || !segReady) {
    return { row: unit.row.key, seed: unit.seed, status: "waiting", waitingFor: "data", ...estimate };
  }
  const evalHash = evaluationHash(ctx, evaluation, null, unit.seed, data, segData);
  const sideHash = sideLinprobeHash(ctx, plan, null, unit.seed, data);
  const done = await evaluated(ctx, evalHash, sideHash);
  return plannedRun(unit, done, { randomInit: true }, { evalHash, sideHash }, {}, estimate);
}

/**
 * The evaluation run's hash for a unit whose encoder is the pre-training run `from` (null: random init). k-NN
 * reads the pre-training run itself, so it has none of its own (and a random init none at all).
 */
function evaluationHash(
  ctx: RunContext,
  evaluation: TablePlan["metric"]["evaluation"],
  from: string | null,
  seed: number,
  data: string | undefined,
  segData: string | undefined,
): string | undefined {
  if (evaluation === "knn") return from ?? undefined;
  return runHash(
    evaluation === "segment"
      ? segmentIdentity(ctx, from, seed, segData)
      : evaluationIdentity(ctx, evaluation, from, seed, data),
  );
}

/** Whether a unit's evaluation (and its side probe, when the table has one) is in the cache. */
async function evaluated(ctx: RunContext, evalHash?: string, sideHash?: string): Promise<boolean> {
  const complete = (h: string) => runCache(ctx).runDir(h).isComplete();
  return evalHash !== undefined && await complete(evalHash) && (!sideHash || await complete(sideHash));
}

/** A runnable unit's plan line: cached or missing, its hashes, and what is left to run when it is missing. */
function plannedRun(
  unit: Unit,
  done: boolean,
  kind: { pretrainHash: string } | { randomInit: true },
  hashes: { evalHash?: string; sideHash?: string },
  shares: Partial<PlannedUnit>,
  estimate: Partial<PlannedUnit>,
): PlannedUnit {
  return {
    row: unit.row.key,
    seed: unit.seed,
    status: done ? "cached" : "missing",
    ...kind,
    ...(hashes.evalHash ? { evalHash: hashes.evalHash } : {}),
    ...(hashes.sideHash ? { sideHash: hashes.sideHash } : {}),
    ...shares,
    ...(done ? {} : estimate),
  };
}

/** The hash of a unit's side linear probe (`sideMetrics`), or undefined when the plan reports none. */
function sideLinprobeHash(
  ctx: RunContext,
  plan: TablePlan,
  from: string | null,
  seed: number,
  data: string | undefined,
): string | undefined {
  if (!plan.sideMetrics?.includes("linprobe") || plan.metric.evaluation === "linprobe") return undefined;
  return runHash(evaluationIdentity(ctx, "linprobe", from, seed, data));
}

/** Estimated seconds of a unit's side evaluations (the linear probe; k-NN is part of pre-training). */
function sideSeconds(profile: Profile, plan: TablePlan): number {
  if (!plan.sideMetrics?.includes("linprobe") || plan.metric.evaluation === "linprobe") return 0;
  return linprobeSeconds(profile) ?? 0;
}
