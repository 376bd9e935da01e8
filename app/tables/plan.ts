/**
 * `plan`: the runs a table needs, with their hashes and cache status, without training anything (runs that
 * depend on a teacher that is not trained yet are listed as waiting for it).
 * @module
 */
import type { TablePlan } from "../../experiments/tables/mod.ts";
import { GpaMasking } from "../../lib/masking/gpa.ts";
import type { Profile } from "../../experiments/profiles.ts";
import { teacherSeconds, unitSeconds } from "./estimate.ts";
import {
  pretrainSpec,
  profileData,
  runCache,
  type RunContext,
  strategyChoice,
  type StrategyRequest,
} from "../runner.ts";
import { pretrainHash } from "../../lib/train/pretrain.ts";
import { shardUnits, tableUnits } from "./mod.ts";

/** One planned unit. */
export interface PlannedUnit {
  row: string;
  seed: number;
  /** "cached", "missing", "waiting" (teacher not trained) or "not-run". */
  status: "cached" | "missing" | "waiting" | "not-run";
  pretrainHash?: string;
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
  const teacher = pending.some((u) => u.status === "waiting") && !profile.gpa.teacher.weightsPath
    ? teacherSeconds(profile) ?? 0
    : 0;
  return {
    estimated: pending.filter((u) => u.estimateSeconds !== undefined).length,
    pending: pending.length,
    computeSeconds: teacher + pending.reduce((s, u) => s + (u.estimateSeconds ?? 0), 0),
    teacherSeconds: teacher,
    measured: profile.throughput?.measured ?? null,
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
  const data = (await profileData(ctx)).train.fingerprint; // run hashes include the data's fingerprint
  const baselineHash = pretrainHash(
    pretrainSpec(ctx, { seed: teacherSeed, strategy: { name: "random" }, epochs: teacherEpochs }, data),
  );
  // A teacher from a weights file is ready when the file is there; the profile's own MAE when it is cached.
  const weights = ctx.profile.gpa.teacher.weightsPath;
  const teacherReady = weights !== undefined
    ? await Deno.stat(weights).then((st) => st.isFile, () => false)
    : await cache.runDir(baselineHash).isComplete();
  for (const unit of shardUnits(tableUnits(plan, seeds), shard)) {
    const needsTeacher = ["gpa", "cls-attention"].includes(unit.row.request!.name);
    const shares = unit.row.request!.name === "gpa" ? { shares: requestShares(ctx, unit.row.request!) } : {};
    if (needsTeacher && !teacherReady) {
      const est = unitSeconds(ctx.profile, unit.row, plan.metric.evaluation);
      out.push({
        row: unit.row.key,
        seed: unit.seed,
        status: "waiting",
        ...shares,
        ...(est !== null ? { estimateSeconds: Math.round(est) } : {}),
      });
      continue;
    }
    const choice = await strategyChoice(ctx, unit.row.request!, unit.seed);
    const p = structuredClone(ctx.profile);
    p.pretrain.epochs = Math.max(1, Math.round(p.pretrain.epochs * (unit.row.epochsScale ?? 1)));
    const hash = pretrainHash(pretrainSpec({ ...ctx, profile: p }, choice, data));
    const done = await cache.runDir(hash).isComplete();
    const est = done ? null : unitSeconds(ctx.profile, unit.row, plan.metric.evaluation);
    out.push({
      row: unit.row.key,
      seed: unit.seed,
      status: done ? "cached" : "missing",
      pretrainHash: hash,
      ...shares,
      ...(est !== null ? { estimateSeconds: Math.round(est) } : {}),
    });
  }
  return out;
}
