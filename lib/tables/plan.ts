/**
 * `plan`: the runs a table needs, with their hashes and cache status, without training anything (runs that
 * depend on a teacher that is not trained yet are listed as waiting for it).
 * @module
 */
import type { TablePlan } from "../../experiments/tables.ts";
import { pretrainSpec, runCache, type RunContext, strategyChoice } from "../runner.ts";
import { pretrainHash } from "../train/pretrain.ts";
import { shardUnits, tableUnits } from "./mod.ts";

/** One planned unit. */
export interface PlannedUnit {
  row: string;
  seed: number;
  /** "cached", "missing", "waiting" (teacher not trained) or "not-run". */
  status: "cached" | "missing" | "waiting" | "not-run";
  pretrainHash?: string;
  notRun?: string;
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
  const baselineHash = pretrainHash(
    pretrainSpec(ctx, { seed: teacherSeed, strategy: { name: "random" }, epochs: teacherEpochs }),
  );
  const teacherReady = await cache.runDir(baselineHash).isComplete();
  for (const unit of shardUnits(tableUnits(plan, seeds), shard)) {
    const needsTeacher = ["gpa", "cls-attention"].includes(unit.row.request!.name);
    if (needsTeacher && !teacherReady) {
      out.push({ row: unit.row.key, seed: unit.seed, status: "waiting" });
      continue;
    }
    const choice = await strategyChoice(ctx, unit.row.request!, unit.seed);
    const p = structuredClone(ctx.profile);
    p.pretrain.epochs = Math.max(1, Math.round(p.pretrain.epochs * (unit.row.epochsScale ?? 1)));
    const hash = pretrainHash(pretrainSpec({ ...ctx, profile: p }, choice));
    const done = await cache.runDir(hash).isComplete();
    out.push({ row: unit.row.key, seed: unit.seed, status: done ? "cached" : "missing", pretrainHash: hash });
  }
  return out;
}
