/**
 * Table tasks: run every (row × seed) a table needs through the cache (optionally as parallel worker
 * processes or a shard of a job array), then assemble `reports/<profile>/tableN.{md,json}` with the paper's
 * numbers, ours (mean ± std over seeds) and a verdict per claim.
 * Units, workers, sharding and report assembly share one file (≈ 520 lines): they are the one protocol every
 * table runs through; the plan and the estimate live beside it (plan.ts, estimate.ts).
 * @module
 */
import { RunDir, runHash, RunLockedError } from "../../lib/cache/mod.ts";
import { paperTable, paperValue, type TableId } from "../../experiments/paper.ts";
import { SEGMENTATION_SETUPS } from "../../experiments/segmentation.ts";
import { allPlans, type Evaluation, type TablePlan } from "../../experiments/tables/mod.ts";
import { type ClaimInput, judgeClaims, type Verdict } from "../../lib/report/verdict.ts";
import { seedImageBootstrap, unpackCorrect } from "../../lib/report/bootstrap.ts";
import { atomicWriteFile, ensureDir } from "../../lib/fsutil.ts";
import { linePlotPng } from "../../lib/plot/mod.ts";
import {
  type MetricBlock,
  type ReportRow,
  type TableReportInput,
  writeReport,
} from "../../lib/report/markdown.ts";
import {
  checkTeacherWeights,
  ensureFinetune,
  ensureLinprobe,
  ensurePretrain,
  NotImplementedError,
  profileData,
  randomInitKnn,
  runCache,
  type RunContext,
} from "../runner.ts";
import { strategyChoice, strategyNeedsTeacher } from "../strategies.ts";
import type { PretrainOutcome } from "../../lib/train/pretrain.ts";
import { InterruptedError } from "../../lib/train/loop.ts";
import { formatEstimate, unitSeconds } from "./estimate.ts";
import { planTable } from "./plan.ts";
import { runnable, shardUnits, tableUnits, type Unit } from "./units.ts";

export { checkRowSelection, shardUnits, tableUnits, type Unit } from "./units.ts";

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
  const evalWall = Number(evalMetrics.wallSeconds ?? 0);
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
    cacheHits: (pre.cacheHit ? 1 : 0) + (evalHit && evalHash !== pre.hash ? 1 : 0),
    runs: evalHash === pre.hash ? 1 : 2,
    wallSeconds: Number(pre.metrics.wallSeconds ?? 0) + evalWall,
    imgPerSec,
    meta: {
      strategy: pre.metrics.strategy,
      extensions: pre.metrics.extensions,
      knnTop1: pre.metrics.knnTop1,
      engines: [pre.metrics.engine, evalMetrics.engine],
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
    out = { value: knn, hash: "", hit: true, metrics: {} };
  } else {
    const seg = await import("../segment.ts");
    const r = await seg.ensureSegment(ctx, null, unit.seed);
    out = { value: r.miou, hash: r.hash, hit: r.cacheHit, metrics: r.metrics };
  }
  return {
    row: unit.row.key,
    seed: unit.seed,
    value: out.value,
    pretrainHash: "",
    evalHash: out.hash,
    cacheHits: out.hit ? 1 : 0,
    runs: 1,
    wallSeconds: Number(out.metrics.wallSeconds ?? 0),
    meta: { strategy: { name: "random init" }, knnTop1: knn, engines: [out.metrics.engine ?? null] },
    curves: { pretrainLoss: [], evalMetric: (out.history ?? []).map((r) => Number(r.top1 ?? NaN)) },
    ...(typeof out.metrics.valCorrect === "string" ? { correct: out.metrics.valCorrect } : {}),
  };
}

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

function git(args: string[]): string {
  try {
    const out = new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * The commit whose code this process runs, read when the module loads: a table that runs for hours may see
 * HEAD move meanwhile, and the report must name the code that wrote it, not the checkout at its end.
 */
const LOADED_COMMIT = git(["rev-parse", "--short", "HEAD"]);

/** The report's commit: the loaded one, and HEAD as well when it has moved since. */
export function reportCommit(now = git(["rev-parse", "--short", "HEAD"]), loaded = LOADED_COMMIT): string {
  return now === loaded ? loaded : `${loaded} (the code that ran; HEAD moved to ${now} during the run)`;
}

/**
 * The table's ETA at its start, from `plan`'s estimate of the units still to run (the profile's measured
 * throughput; none without one), divided over the `--jobs` processes; refined as units finish ("≈ … of the
 * table left"). Nothing is said when the estimate cannot be made.
 */
async function logStartEstimate(ctx: RunContext, id: string, plan: TablePlan, opts: TableRunOptions) {
  if (!ctx.profile.throughput) return;
  try {
    const { planTable, planEstimate } = await import("./plan.ts");
    const rows = opts.rows ? { ...plan, rows: plan.rows.filter((r) => opts.rows!.includes(r.key)) } : plan;
    const est = planEstimate(ctx.profile, await planTable(ctx, rows, opts.seeds, opts.shard));
    if (est.pending === 0 || est.estimated === 0) return;
    const jobs = Math.max(1, opts.jobs);
    ctx.log(
      `${id}: ${est.pending} unit${est.pending === 1 ? "" : "s"} to run${
        est.estimated < est.pending ? ` (${est.estimated} with an estimate)` : ""
      }: ≈ ${formatEstimate(est.computeSeconds / jobs)}` +
        (jobs > 1 ? ` with ${jobs} processes (${formatEstimate(est.computeSeconds)} of compute)` : "") +
        ` (estimate from the throughput measured on ${est.measured}; refined as units finish)`,
    );
  } catch {
    // No estimate (data or teacher not there yet): the units say what is missing when they run.
  }
}

/** Runs a table's units and, unless sharded, writes its report. Returns the report paths (or null). */
export async function runTable(
  ctx: RunContext,
  id: string,
  opts: TableRunOptions,
): Promise<{ markdown: string; json: string; results: UnitResult[] } | null> {
  const plans = allPlans(ctx.profile);
  const plan = plans[id];
  if (!plan) throw new RangeError(`unknown table '${id}'; valid: ${Object.keys(plans).join(", ")}`);
  const units = tableUnits(plan, opts.seeds).filter((u) => !opts.rows || opts.rows.includes(u.row.key));
  // A table whose rows need the teacher fails before any training when its weights are missing.
  if (units.some((u) => u.row.request && strategyNeedsTeacher(u.row.request.name))) {
    await checkTeacherWeights(ctx.profile.gpa.teacher);
  }
  if (!opts.claim) await logStartEstimate(ctx, id, plan, opts);
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
  const estimates = mine.map((u) => unitSeconds(ctx.profile, u.row, plan.metric.evaluation));
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
  const left = opts.rows ? await rowsLeftOut(ctx, plan, opts.seeds, opts.rows) : { cached: [], reasons: {} };
  for (const unit of tableUnits(plan, opts.seeds).filter((u) => left.cached.includes(u.row.key))) {
    results.push(await runUnit({ ...ctx, log: () => {} }, plan, unit));
  }
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
      `${Object.keys(left.reasons).join(", ")} did not run (not all seeds cached). ` +
      `The command above, without --rows, completes the table.`,
    ];
  }
  for (const f of plan.own?.fileNotes ?? []) {
    const text = await Deno.readTextFile(`${opts.reportsDir}/${ctx.profile.name}/${f.file}`).catch(() =>
      null
    );
    let line: string | null = null;
    try {
      line = text === null ? null : f.note(JSON.parse(text));
    } catch {
      line = null;
    }
    report.notes = [
      ...report.notes,
      line ?? `(${f.file} not found or not readable: its measures are not shown)`,
    ];
  }
  report.figures = [...(report.figures ?? []), ...curves];
  const paths = await writeReport(`${opts.reportsDir}/${ctx.profile.name}`, id, report);
  return { ...paths, results };
}

/**
 * The rows a `--rows` call leaves out, split into those whose every seed is cached (they enter the report as
 * cache hits) and the others, with the reason the report gives for them.
 */
export async function rowsLeftOut(
  ctx: RunContext,
  plan: TablePlan,
  seeds: number[],
  rows: readonly string[],
): Promise<{ cached: string[]; reasons: Record<string, string> }> {
  const others = plan.rows.filter((r) => !rows.includes(r.key) && runnable(r));
  const planned = await planTable(ctx, { ...plan, rows: others }, seeds);
  const cached: string[] = [];
  const reasons: Record<string, string> = {};
  for (const row of others) {
    const n = planned.filter((u) => u.row === row.key && u.status === "cached").length;
    if (n === seeds.length) cached.push(row.key);
    else reasons[row.key] = `left out by --rows (${n} of ${seeds.length} seeds cached)`;
  }
  return { cached, reasons };
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

function modelLabel(ctx: RunContext): string {
  const m = ctx.profile.model;
  return `ViT ${m.dim}-d × ${m.depth} blocks × ${m.heads} heads, patch ${m.patchSize}; decoder ${m.decoderDim} × ${m.decoderDepth}`;
}

/** Builds the report input of a table from unit results. */
export function assembleReport(
  ctx: RunContext,
  plan: TablePlan,
  results: UnitResult[],
  failures: Record<string, string>,
  seeds: number[],
  elapsedSeconds: number,
): TableReportInput {
  // The suite's own tables carry their claims and baseline; the paper's come from the paper module.
  const paper = plan.own
    ? { groups: [], baseline: plan.own.baseline, claims: plan.own.claims }
    : paperTable(plan.id as TableId);
  const byRow: Record<string, number[]> = {};
  const seedsByRow: Record<string, number[]> = {};
  for (const r of [...results].sort((x, y) => x.seed - y.seed)) {
    (byRow[r.row] ??= []).push(r.value);
    (seedsByRow[r.row] ??= []).push(r.seed);
  }
  const rows: ReportRow[] = plan.rows.map((row) => {
    const reason = row.notRun ?? failures[row.key];
    return {
      key: row.key,
      label: reason ? `${row.label} — not run: ${reason}` : row.label,
      paper: planPaperValue(plan, row.key, plan.metric.key),
      perSeed: byRow[row.key] ?? [],
      seeds: seedsByRow[row.key] ?? [],
    };
  });
  const group = (key: string) => paper.groups?.find((g) => g.rows.includes(key));
  // A row borrowed from another table joins the group of the row its claims compare it with.
  const groupOf = (key: string) => {
    const own = group(key);
    if (own) return own;
    const c = paper.claims.find((c) => c.kind !== "best-in-group" && (c.a === key || c.b === key));
    return c && c.kind !== "best-in-group" ? group(c.a === key ? c.b : c.a) : undefined;
  };
  for (const r of rows) {
    const g = groupOf(r.key);
    if (g && g.baseline && g.baseline !== paper.baseline) (r as { baseline?: string }).baseline = g.baseline;
  }
  const resultsByMetric: Record<string, Record<string, number[]>> = { [plan.metric.key]: byRow };
  const additional: MetricBlock[] = [];
  const exactMetrics: string[] = [];
  // Deterministic metrics (Table 9's cost model): one value per row, compared exactly.
  for (const m of plan.exactMetrics ?? []) {
    resultsByMetric[m.key] = Object.fromEntries(Object.entries(m.values).map(([k, v]) => [k, [v]]));
    exactMetrics.push(m.key);
    additional.push({
      metric: { key: m.key, label: m.label, unit: m.unit, digits: 3 },
      rows: Object.entries(m.values).map(([k, v]) => ({
        key: k,
        label: m.rowLabels?.[k] ?? plan.rows.find((r) => r.key === k)?.label ?? k,
        paper: safePaperValue(plan.id, k, m.key),
        perSeed: [v],
      })),
      baseline: paper.baseline,
    });
  }
  // Deterministic metrics read from the runs' metadata (Table 5: the teacher head each row used): one value
  // per row when all its runs agree; none for a row that did not run (its claims say not run).
  for (const m of plan.recordedMetrics ?? []) {
    const values: Record<string, number[]> = {};
    for (const row of plan.rows) {
      const seen = [...new Set(results.filter((r) => r.row === row.key).map((r) => m.read(r.meta)))];
      if (seen.length === 0) continue;
      values[row.key] = [seen.length === 1 && seen[0] !== null ? seen[0] : NaN];
    }
    resultsByMetric[m.key] = values;
    exactMetrics.push(m.key);
    if (Object.keys(values).length === 0) continue;
    additional.push({
      metric: { key: m.key, label: m.label, digits: 2 },
      rows: plan.rows.filter((r) => r.key in values).map((r) => ({
        key: r.key,
        label: r.label,
        paper: planPaperValue(plan, r.key, m.key),
        perSeed: values[r.key],
      })),
      baseline: null,
    });
  }
  for (const [metric, why] of Object.entries(plan.unreproducedMetrics ?? {})) {
    additional.push({
      metric: { key: metric, label: `${metric} — ${why}` },
      rows: plan.rows.map((row) => ({
        key: row.key,
        label: row.label,
        paper: safePaperValue(plan.id, row.key, metric),
        perSeed: [],
      })),
      baseline: paper.baseline,
    });
  }
  const claims = paper.claims.filter((c) => c.metric in resultsByMetric);
  // Rows that share a seed share the encoder's initialisation, data order and augmentations (tested in
  // tables_test), so claims are judged on per-seed differences.
  const measuredAs = plan.metric.measuredAs;
  const verdicts = judgeClaims(claims, resultsByMetric, {
    exactMetrics,
    paired: true,
    seedsByMetric: { [plan.metric.key]: seedsByRow },
    paperEffects: plan.own
      ? {}
      : Object.fromEntries(claims.map((c) => [c.id, paperEffect(plan.id as TableId, c, plan)])),
  }).map((
    v,
  ) => (measuredAs && v.metric === plan.metric.key ? { ...v, text: `${v.text} (${measuredAs})` } : v))
    .map((v) => withBootstrap(v, plan.metric.key, results));
  const wall = results.reduce((s, r) => s + r.wallSeconds, 0);
  const hits = results.reduce((s, r) => s + r.cacheHits, 0);
  const total = results.reduce((s, r) => s + r.runs, 0);
  const strategies = [...new Set(results.map((r) => JSON.stringify(r.meta.strategy)))];
  const notes = [
    ...(plan.own ? [plan.own.note] : []),
    `Runs: ${results.length} units (row × seed); pre-training and evaluation hashes are in ${plan.id}.json.`,
    ...(ctx.profile.name === "smoke"
      ? [
        "smoke profile: a seconds-scale pipeline check on synthetic shapes; its verdicts say nothing about the paper.",
      ]
      : []),
    ...strategies.slice(0, 8).map((s) => `strategy used: ${s}`),
  ];
  const knnByRow = new Map<string, number[]>();
  for (const r of results) {
    const v = Number(r.meta.knnTop1);
    if (Number.isFinite(v)) knnByRow.set(r.row, [...(knnByRow.get(r.row) ?? []), v]);
  }
  if (knnByRow.size > 0) {
    notes.push(
      "k-NN top-1 of the pre-trained encoders (CLS features, k = 20, T = 0.07; a cheap extra signal): " +
        [...knnByRow].map(([row, v]) =>
          `${row} ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(2)}% (n=${v.length})`
        )
          .join(", "),
    );
  }
  const mix = engineMixNote(results);
  if (mix) notes.push(mix);
  if (plan.own?.discuss) notes.push(plan.own.discuss(verdicts));
  for (const c of paper.claims) {
    if (!(c.metric in resultsByMetric)) {
      notes.push(`claim ${c.id} (${c.metric}) not judged: that metric was not run`);
    }
  }
  return {
    header: {
      title: plan.title,
      tableId: plan.id,
      profile: ctx.profile.name,
      dataset: datasetLabel(ctx, plan.metric.evaluation),
      resolution: ctx.profile.dataset.resolution,
      model: modelLabel(ctx),
      epochs: epochsLabel(ctx, plan.metric.evaluation),
      backend: describeEngines(ctx.backend, results.flatMap((r) => (r.meta.engines as unknown[]) ?? [])),
      seeds,
      commit: reportCommit(),
      date: new Date().toISOString(),
      wallTimeSeconds: wall,
      invocationSeconds: elapsedSeconds,
      cacheHits: { hits, total },
      command: `deno task ${plan.id} --profile ${ctx.profile.name} ` +
        (seeds.every((s, i) => s === i) ? `--seeds ${seeds.length}` : `--seed-list ${seeds.join(",")}`),
    },
    metric: { key: plan.metric.key, label: plan.metric.label, unit: "%", digits: 2 },
    rows,
    baseline: paper.baseline,
    // Each Δ is also shown as a share of the baseline's gain over a random init, where the table has that row.
    ...(floorRowOf(plan, byRow) ? { floorRow: floorRowOf(plan, byRow) } : {}),
    additionalMetrics: additional,
    verdicts,
    deviations: plan.deviations,
    notes,
    figures: plan.figures ?? [],
    runs: results.map((r) => ({
      row: r.row,
      seed: r.seed,
      pretrainHash: r.pretrainHash,
      evalHash: r.evalHash,
    })),
  };
}

/**
 * A verdict on the main metric with its second interval: the seed × image bootstrap of the deciding rows'
 * difference, where every run of both rows on their common seeds recorded its per-image predictions.
 */
export function withBootstrap(
  v: Verdict,
  metric: string,
  results: Pick<UnitResult, "row" | "seed" | "correct">[],
): Verdict {
  if (v.metric !== metric || v.method !== "paired") return v;
  const of = (row: string) => new Map(results.filter((r) => r.row === row).map((r) => [r.seed, r.correct]));
  const a = of(v.compared.a), b = of(v.compared.b);
  const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
  if (seeds.length < 2 || seeds.some((s) => !a.get(s) || !b.get(s))) return v;
  try {
    const r = seedImageBootstrap(
      seeds.map((s) => unpackCorrect(a.get(s)!)),
      seeds.map((s) => unpackCorrect(b.get(s)!)),
      {
        level: v.level,
      },
    );
    return r
      ? {
        ...v,
        bootstrap: { ci: r.ci, pairs: r.pairs, images: r.images, resamples: r.resamples, level: v.level },
      }
      : v;
  } catch {
    return v; // runs that scored different images: no second interval
  }
}

/**
 * The paper's own difference behind a claim, in its units: a − b for "greater" claims, the claimed row's
 * margin over the best other row for "best-in-group", none for equality claims. With the plan, a row it
 * borrows from another table (`paperRow`) takes that table's value.
 */
export function paperEffect(id: TableId, claim: ClaimInput, plan?: TablePlan): number | null {
  const v = (row: string) =>
    plan ? planPaperValue(plan, row, claim.metric) : safePaperValue(id, row, claim.metric);
  if (claim.kind === "greater") {
    const a = v(claim.a), b = v(claim.b);
    return a === null || b === null ? null : a - b;
  }
  if (claim.kind === "best-in-group") {
    const best = v(claim.best);
    const others = claim.rows.filter((r) => r !== claim.best).map(v).filter((x): x is number => x !== null);
    return best === null || others.length === 0 ? null : best - Math.max(...others);
  }
  return null;
}

/** The data the runs used, in words: pre-training data, and the evaluation's when it differs. */
export function datasetLabel(ctx: RunContext, evaluation: Evaluation): string {
  const d = ctx.profile.dataset;
  const parts = [
    d.classes ? `first ${d.classes} classes` : null,
    d.trainLimit ? `${d.trainLimit} train images/class` : "all train images",
    d.valLimit ? `${d.valLimit} val/class` : "all val images",
  ].filter(Boolean);
  const pre = `${d.name === "synthetic" ? "synthetic shapes" : d.name} (${parts.join(", ")})`;
  if (evaluation !== "segment") return pre;
  const seg = SEGMENTATION_SETUPS[ctx.profile.name]?.dataset;
  const segName = seg ? (seg.name === "synthetic" ? "synthetic shapes with masks" : seg.name) : "none";
  return `pre-training: ${pre}; segmentation: ${segName}`;
}

/** "N pre-train + M <evaluation>": the evaluation's own length (fine-tuning, linear probe or segmentation). */
function epochsLabel(ctx: RunContext, evaluation: Evaluation): string {
  const pre = `${ctx.profile.pretrain.epochs} pre-train`;
  if (evaluation === "linprobe") return `${pre} + ${ctx.profile.linprobe.epochs} linear probe`;
  if (evaluation === "segment") {
    const setup = SEGMENTATION_SETUPS[ctx.profile.name];
    return setup ? `${pre} + ${setup.recipe.epochs} segmentation` : pre;
  }
  return `${pre} + ${ctx.profile.finetune.epochs} fine-tune`;
}

/**
 * The header's engine line: this invocation's engine, and when the runs behind the table (cached ones
 * included) were computed by others, which and how many (runs from before engines were recorded: "not
 * recorded"; on wasm those ran their matMuls on XNNPACK).
 */
export function describeEngines(current: string, runEngines: unknown[]): string {
  const counts = new Map<string, number>();
  for (const e of runEngines) {
    const label = typeof e === "string" && e ? e : "not recorded";
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  if (counts.size === 0 || (counts.size === 1 && counts.has(current))) return current;
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([e, n]) => `${e} × ${n}`);
  return `${current}; runs: ${parts.join(", ")}`;
}

/** The key of a plan's random-init row when it has results (the floor of "share of the baseline's gain"). */
function floorRowOf(plan: TablePlan, byRow: Record<string, number[]>): string | undefined {
  const key = plan.rows.find((r) => r.randomInit)?.key;
  return key && byRow[key]?.length ? key : undefined;
}

/**
 * A table's paired rows must come from one engine: the engine is not part of a run's identity (a kernel fusion
 * moves results by ≈ 1e-6 per op, so one hash can hold different weights), and a paired difference across
 * engines measures the engines too. When the runs behind a table name more than one engine, the report says
 * which rows ran on which, and how to rerun; null when they agree (runs that recorded none are not counted).
 */
export function engineMixNote(results: Pick<UnitResult, "row" | "seed" | "meta">[]): string | null {
  const byEngine = new Map<string, Set<string>>();
  for (const r of results) {
    for (const e of (r.meta.engines as unknown[] | undefined) ?? []) {
      if (typeof e !== "string" || !e) continue;
      let rows = byEngine.get(e);
      if (!rows) byEngine.set(e, rows = new Set());
      rows.add(`${r.row} s${r.seed}`);
    }
  }
  if (byEngine.size <= 1) return null;
  return "Engine mix: the runs behind this table ran on " +
    [...byEngine].map(([e, rows]) => `${e} (${[...rows].join(", ")})`).join("; ") +
    ". Paired differences then include the engines' rounding; rerun the rows of one engine in a fresh cache " +
    "to compare like with like.";
}

/** The paper's value of a plan's row: its own table's, or the other table's for a borrowed row (`paperRow`). */
export function planPaperValue(plan: TablePlan, row: string, metric: string): number | null {
  const from = plan.rows.find((r) => r.key === row)?.paperRow;
  return from ? safePaperValue(from.table, from.key, metric) : safePaperValue(plan.id, row, metric);
}

function safePaperValue(id: string, row: string, metric: string): number | null {
  try {
    return paperValue(id as TableId, row, metric);
  } catch {
    return null;
  }
}

/** Learning curves of a table's runs (mean over seeds per row), as PNGs next to the report. */
async function renderCurves(
  dir: string,
  plan: TablePlan,
  results: UnitResult[],
): Promise<{ title: string; path: string }[]> {
  const byRow = new Map<string, UnitResult[]>();
  for (const r of results) byRow.set(r.row, [...(byRow.get(r.row) ?? []), r]);
  const at = (curves: number[][], i: number) => curves.map((c) => c[i]).filter(Number.isFinite);
  const stat = (curves: number[][], f: (v: number[]) => number) =>
    Array.from({ length: Math.max(0, ...curves.map((c) => c.length)) }, (_, i) => {
      const v = at(curves, i);
      return v.length ? f(v) : NaN;
    });
  const series = (pick: (r: UnitResult) => number[]) =>
    [...byRow.entries()].map(([row, rs]) => {
      const curves = rs.map(pick);
      const y = stat(curves, (v) => v.reduce((a, b) => a + b, 0) / v.length);
      return {
        name: `${plan.rows.find((p) => p.key === row)?.label ?? row} (n=${rs.length})`,
        x: y.map((_, i) => i + 1),
        y,
        ...(rs.length > 1
          ? { band: { lo: stat(curves, (v) => Math.min(...v)), hi: stat(curves, (v) => Math.max(...v)) } }
          : {}),
      };
    }).filter((s) => s.y.some(Number.isFinite));
  const out: { title: string; path: string }[] = [];
  await ensureDir(dir);
  const loss = series((r) => r.curves.pretrainLoss);
  if (loss.length) {
    await atomicWriteFile(
      `${dir}/${plan.id}_pretrain_loss.png`,
      await linePlotPng({
        title: `${plan.id}: pre-training pixel loss (mean over seeds)`,
        xLabel: "epoch",
        yLabel: "pixel reconstruction loss (norm-pix MSE)",
        series: loss,
        integerX: true,
        height: 400 + 16 * loss.length,
      }),
    );
    out.push({ title: "Learning curves: pre-training loss", path: `figures/${plan.id}_pretrain_loss.png` });
  }
  const evals = series((r) => r.curves.evalMetric);
  if (evals.length) {
    await atomicWriteFile(
      `${dir}/${plan.id}_eval.png`,
      await linePlotPng({
        title: `${plan.id}: ${plan.metric.label} per epoch (mean over seeds)`,
        xLabel: "epoch",
        yLabel: `${plan.metric.label} (%)`,
        series: evals,
        integerX: true,
        height: 400 + 16 * evals.length,
      }),
    );
    out.push({ title: `Learning curves: ${plan.metric.label}`, path: `figures/${plan.id}_eval.png` });
  }
  return out;
}
