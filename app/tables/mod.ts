/**
 * Table tasks: run every (row × seed) unit a table needs through the cache (optionally as parallel worker
 * processes or a shard of a job array), then write `reports/<profile>/tableN.{md,json}`. One unit's run is
 * run_unit.ts, the report's assembly report.ts; the plan and the estimate live beside them (plan.ts,
 * estimate.ts).
 * @module
 */
import { RunDir, runHash, RunLockedError } from "../../lib/cache/mod.ts";
import type { TableModule, TablePlan } from "../../experiments/tables/mod.ts";
import { writeReport } from "../../lib/report/markdown.ts";
import { NotImplementedError, profileData, runCache, type RunContext } from "../runner.ts";
import { checkTeacherWeights } from "../teacher.ts";
import { strategyNeedsTeacher } from "../strategies.ts";
import { InterruptedError } from "../../lib/train/loop.ts";
import { formatEstimate, unitSeconds } from "./estimate.ts";
import { planEstimate, type PlannedUnit, planTable } from "./plan.ts";
import { runnable, shardUnits, tableUnits } from "./units.ts";

import { runUnit, type UnitResult } from "./run_unit.ts";
import { type CarriedFrom, carriedNote, carriedUnits, readPreviousReport } from "./carry.ts";
import { assembleReport, renderCurves } from "./report.ts";

export { checkRowSelection, shardUnits, tableUnits, type Unit } from "./units.ts";
export { runUnit, type UnitResult } from "./run_unit.ts";
export { describeEngines, engineMixNote } from "./engines.ts";
export {
  assembleReport,
  datasetLabel,
  paperEffect,
  planPaperValue,
  reportCommit,
  withBootstrap,
} from "./report.ts";

/** Options of a table run. */
export interface TableRunOptions {
  seeds: number[];
  /** Parallel worker processes (each a shard); 1 = in this process. In worker mode: how many share the units. */
  jobs: number;
  /** Only this share of the units (job arrays); no report is written. */
  shard?: { index: number; count: number };
  /** Worker mode of `--jobs`: take any unit no other worker holds; no report is written. */
  claim?: boolean;
  reportsDir: string;
  /**
   * Train only these rows (`--rows`). Every other row enters the report from the cache when all its seeds
   * are cached there, and is reported as not run otherwise: a long table can be completed and read in parts.
   */
  rows?: string[];
  /** Re-invokes this CLI as a worker: returns its exit code. */
  spawnWorker?: (worker: number) => Promise<number>;
}

/**
 * The table's ETA at its start, from `plan`'s estimate of the units still to run (the profile's measured
 * throughput; none without one), divided over the `--jobs` processes; refined as units finish ("≈ … of the
 * table left"). Nothing is said when the estimate cannot be made.
 */
function logStartEstimate(ctx: RunContext, id: string, opts: TableRunOptions, planned: PlannedUnit[] | null) {
  if (!planned) return;
  const est = planEstimate(ctx.profile, planned);
  if (est.pending === 0 || est.estimated === 0) return;
  const jobs = Math.max(1, opts.jobs);
  ctx.log(
    `${id}: ${est.pending} unit${est.pending === 1 ? "" : "s"} to run${
      est.estimated < est.pending ? ` (${est.estimated} with an estimate)` : ""
    }: ≈ ${formatEstimate(est.computeSeconds / jobs)}` +
      (jobs > 1 ? ` with ${jobs} processes (${formatEstimate(est.computeSeconds)} of compute)` : "") +
      ` (estimate from the throughput measured on ${est.measured}; refined as units finish)`,
  );
}

/**
 * The call's units as `plan` sees them now (which are cached, what each would cost), for the estimates; null
 * without a throughput model or when the plan fails (data or teacher missing only make units "waiting").
 * Every `--jobs` worker makes it too, for its "of the table left" lines: seconds of hashing, once per worker.
 */
async function plannedUnits(ctx: RunContext, plan: TablePlan, opts: TableRunOptions) {
  if (!ctx.profile.throughput) return null;
  try {
    const rows = opts.rows ? { ...plan, rows: plan.rows.filter((r) => opts.rows!.includes(r.key)) } : plan;
    return await planTable(ctx, rows, opts.seeds, opts.shard);
  } catch {
    return null;
  }
}

/**
 * Runs a table's units and, unless sharded, writes its report. `table` is the table's module (its plan is
 * built for the context's profile) or a plan already built. Returns the report paths (or null).
 */
export async function runTable(
  ctx: RunContext,
  table: TableModule | TablePlan,
  opts: TableRunOptions,
): Promise<{ markdown: string; json: string; results: UnitResult[] } | null> {
  const plan = "plan" in table && typeof table.plan === "function"
    ? table.plan(ctx.profile)
    : table as TablePlan;
  const id = plan.id;
  const units = tableUnits(plan, opts.seeds).filter((u) => !opts.rows || opts.rows.includes(u.row.key));
  // A table whose rows need the teacher fails before any training when its weights are missing.
  if (units.some((u) => u.row.request && strategyNeedsTeacher(u.row.request.name))) {
    await checkTeacherWeights(ctx.profile.gpa.teacher);
  }
  const planned = await plannedUnits(ctx, plan, opts);
  if (!opts.claim) logStartEstimate(ctx, id, opts, planned);
  const t0 = performance.now();
  const startedAt = Date.now();
  const spawned = opts.jobs > 1 && !opts.shard && !opts.claim && opts.spawnWorker !== undefined;
  if (spawned) {
    ctx.log(`${id}: ${units.length} units on ${opts.jobs} worker processes`);
    await profileData(ctx); // build the dataset cache once, not once per worker
    const codes = await Promise.all(
      Array.from({ length: opts.jobs }, (_, index) => opts.spawnWorker!(index)),
    );
    // An interrupted worker (130) or an interrupt here: stop without a report (the runs resume on a rerun).
    if (ctx.stopSignal.stopped || codes.includes(130)) {
      throw new InterruptedError(`${id}: interrupted; finished runs are cached, rerun to resume`);
    }
    const bad = codes.find((c) => c !== 0);
    if (bad !== undefined) throw new Error(`${id}: a worker exited with code ${bad}; rerun to resume`);
  }
  const results: UnitResult[] = [];
  const failures: Record<string, string> = {};
  const mine = shardUnits(units, opts.shard);
  // The "of the table left" estimates: a cached unit costs nothing; another costs plan's own estimate of it
  // (its cached runs cost nothing, its side probe counts), or the profile's per-unit one without a plan.
  const estimates = mine.map((u) => {
    const p = planned?.find((p) => p.row === u.row.key && p.seed === u.seed);
    if (p?.status === "cached") return 0;
    return p?.estimateSeconds ?? unitSeconds(ctx.profile, u.row, plan.metric.evaluation);
  });
  for (const [k, unit] of mine.entries()) {
    if (ctx.stopSignal.stopped) break;
    // Every line a unit logs names it, so the output of several --jobs workers can be told apart.
    const tag = `[${id} ${unit.row.key} s${unit.seed}]`;
    const unitCtx: RunContext = { ...ctx, log: (l: string) => ctx.log(`${tag} ${l}`) };
    // --jobs workers share the units dynamically: each takes the next one nobody holds (a lock per unit).
    let claim: Awaited<ReturnType<RunDir["acquireLock"]>> | null = null;
    if (opts.claim) {
      try {
        const h = runHash({ table: id, profile: ctx.profile.name, row: unit.row.key, seed: unit.seed });
        claim = await new RunDir(`${ctx.cacheDir}/claims/${h}`, h).acquireLock({ wait: false });
      } catch (e) {
        if (e instanceof RunLockedError) continue;
        throw e;
      }
    }
    try {
      const r = await runUnit(unitCtx, plan, unit);
      results.push(r);
      if (r.cacheHits < r.runs) {
        // Workers share what is left; units before k that other workers took are done or under way.
        const left = estimates.slice(k + 1).reduce((a: number, b) => a + (b ?? 0), 0) /
          (opts.claim ? Math.max(1, opts.jobs) : 1);
        ctx.log(
          `${tag} done (${k + 1}/${mine.length}${opts.claim ? ", counting other workers' units" : ""}): ` +
            `${plan.metric.label} ${r.value.toFixed(2)}` +
            (left > 0 ? `; ≈ ${formatEstimate(left)} of the table left (estimate)` : ""),
        );
      }
    } catch (e) {
      if (e instanceof NotImplementedError) {
        failures[unit.row.key] = e.message;
        continue;
      }
      throw e;
    } finally {
      await claim?.release();
    }
  }
  // An interrupted table writes nothing: the previous report stays as it was.
  if (ctx.stopSignal.stopped) {
    throw new InterruptedError(`${id}: interrupted; finished runs are cached, rerun to resume`);
  }
  if (opts.shard || opts.claim) return null;
  // Rows a --rows call left out, as the cache holds them now (another command may have finished some
  // meanwhile): complete ones are read back (cache hits), the others are reported as not run.
  // Rows whose runs this cache lacks but the report about to be replaced holds, with the same identities,
  // are carried from it (carry.ts): their main metric and recorded curves are kept, their side metrics lost.
  const reportPath = `${opts.reportsDir}/${ctx.profile.name}/${id}.json`;
  const left = opts.rows
    ? await rowsLeftOut(ctx, plan, opts.seeds, opts.rows, await readPreviousReport(reportPath), reportPath)
    : { cached: [], carried: [], reasons: {} };
  for (const unit of tableUnits(plan, opts.seeds)) {
    if (!left.cached.some((c) => c.row === unit.row.key && c.seed === unit.seed)) continue;
    results.push(await runUnit({ ...ctx, log: () => {} }, plan, unit));
  }
  results.push(...left.carried);
  Object.assign(failures, left.reasons);
  const order = (r: UnitResult) => plan.rows.findIndex((p) => p.key === r.row);
  results.sort((a, b) => order(a) - order(b) || a.seed - b.seed);
  // The coordinator of --jobs workers reads back units they just trained: count as hits only the runs that
  // were finished before this invocation began (by their final file's time; a run another command finished
  // meanwhile is counted as not a hit too).
  if (spawned) {
    for (const r of results) r.cacheHits = await runsFinishedBefore(ctx, r, startedAt);
  }
  const curves = await renderCurves(`${opts.reportsDir}/${ctx.profile.name}/figures`, plan, results);
  const report = assembleReport(ctx, plan, results, failures, opts.seeds, (performance.now() - t0) / 1000);
  if (Object.keys(left.reasons).length > 0) {
    report.notes = [
      ...report.notes,
      `Partial report: this call trained only --rows ${opts.rows!.join(",")}; ` +
      `${Object.keys(left.reasons).join(", ")} did not run (not all seeds cached` +
      (left.pendingSeconds !== undefined
        ? `; ≈ ${formatEstimate(left.pendingSeconds)} of compute to run them, \`plan\`'s estimate`
        : "") +
      "). " +
      `The command above, without --rows, completes the table.`,
    ];
  }
  if (left.from && left.carried.length > 0) {
    report.notes = [...report.notes, carriedNote(left.from, left.carried)];
  }
  for (const f of plan.fileNotes ?? []) {
    report.notes = [...report.notes, await fileNoteLine(`${opts.reportsDir}/${ctx.profile.name}`, f)];
  }
  report.figures = [...(report.figures ?? []), ...curves];
  const paths = await writeReport(`${opts.reportsDir}/${ctx.profile.name}`, id, report);
  return { ...paths, results };
}

/**
 * The line a file note adds to a report: the note read from `<dir>/<file>`, or why it is not shown (no such
 * file, not JSON, or a file that does not hold what the note reads, such as another model's measurements).
 */
export async function fileNoteLine(
  dir: string,
  f: { file: string; note: (json: unknown) => string | null },
): Promise<string> {
  const text = await Deno.readTextFile(`${dir}/${f.file}`).catch(() => null);
  let why = "not found or not readable";
  let line: string | null = null;
  if (text !== null) {
    try {
      why = "not JSON";
      const json = JSON.parse(text);
      why = "does not hold what this note reads (another model's measurements?)";
      line = f.note(json);
    } catch {
      line = null;
    }
  }
  return line ?? `(${f.file} ${why}: its measures are not shown)`;
}

/**
 * The rows a `--rows` call leaves out, split into the units to read back from the cache, the units carried
 * from the earlier report `previous` (read from `path`; their runs are not cached here but it recorded them
 * with the identities this plan gives them) and, for rows still lacking a seed, the reason the report gives.
 * A row enters the report when each of its seeds is cached or carried.
 */
export async function rowsLeftOut(
  ctx: RunContext,
  plan: TablePlan,
  seeds: number[],
  rows: readonly string[],
  previous: Record<string, unknown> | null = null,
  path = "",
): Promise<{
  cached: { row: string; seed: number }[];
  carried: UnitResult[];
  from?: CarriedFrom;
  reasons: Record<string, string>;
  /** The profile's estimate of the compute the rows in `reasons` still need (none without one for each). */
  pendingSeconds?: number;
}> {
  const others = plan.rows.filter((r) => !rows.includes(r.key) && runnable(r));
  const planned = await planTable(ctx, { ...plan, rows: others }, seeds);
  // What the earlier report can give for the units this cache lacks (one pass over it for all rows).
  const carry = previous
    ? carriedUnits(previous, path, plan.metric.key, planned.filter((u) => u.status !== "cached"))
    : null;
  const cached: { row: string; seed: number }[] = [];
  const carried: UnitResult[] = [];
  const reasons: Record<string, string> = {};
  for (const row of others) {
    const hits = planned.filter((u) => u.row === row.key && u.status === "cached");
    const fromReport = carry?.results.filter((r) => r.row === row.key) ?? [];
    if (hits.length + fromReport.length === seeds.length) {
      cached.push(...hits.map((u) => ({ row: u.row, seed: u.seed })));
      carried.push(...fromReport);
    } else {
      reasons[row.key] = `left out by --rows (${hits.length} of ${seeds.length} seeds cached)`;
    }
  }
  const from = carried.length > 0 ? carry?.from : undefined;
  const pending = planEstimate(ctx.profile, planned.filter((u) => u.row in reasons));
  const estimated = pending.pending > 0 && pending.estimated === pending.pending;
  return {
    cached,
    carried,
    ...(from ? { from } : {}),
    reasons,
    ...(estimated ? { pendingSeconds: pending.computeSeconds } : {}),
  };
}

/** How many of a unit's runs (pre-training, evaluation) had finished before `since` (ms since the epoch). */
export async function runsFinishedBefore(ctx: RunContext, r: UnitResult, since: number): Promise<number> {
  let n = 0;
  for (const hash of new Set([r.pretrainHash, r.evalHash].filter((h) => h !== ""))) {
    const st = await Deno.stat(runCache(ctx).runDir(hash).finalPath).catch(() => null);
    if (st?.mtime && st.mtime.getTime() < since) n++;
  }
  return Math.min(n, r.runs);
}
