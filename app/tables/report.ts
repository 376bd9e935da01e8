/**
 * A table's report from its units' results: the paper's numbers beside ours (mean ± std over seeds, per
 * seed), a verdict per claim with its intervals, the deviations, notes, learning curves and the header that
 * says what ran (data, model, engines, commit).
 * @module
 */
import { readingsByMetric } from "../../lib/report/readings.ts";
import { paperTable, paperValue, type TableId } from "../../experiments/paper.ts";
import { SEGMENTATION_SETUPS } from "../../experiments/segmentation.ts";
import { type Evaluation, SIDE_METRICS, type TablePlan } from "../../experiments/tables/mod.ts";
import { type ClaimInput, judgeClaims, type Verdict } from "../../lib/report/verdict.ts";
import { seedImageBootstrap, unpackCorrect } from "../../lib/report/bootstrap.ts";
import { atomicWriteFile, ensureDir } from "../../lib/fsutil.ts";
import { blasCoreCommandPrefix } from "../../lib/blas.ts";
import { describeEngines, engineMixNote } from "./engines.ts";
import { linePlotPng } from "../../lib/plot/mod.ts";
import { type MetricBlock, type ReportRow, type TableReportInput } from "../../lib/report/markdown.ts";
import { type RunContext } from "../runner.ts";

import type { UnitResult } from "./run_unit.ts";

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
      // A carried unit (carry.ts) has no metadata to read: its row's value comes from the units that ran.
      const ran = results.filter((r) => r.row === row.key && r.meta.carriedFrom === undefined);
      const seen = [...new Set(ran.map((r) => m.read(r.meta)))];
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
  // Side evaluations of the same encoders (k-NN, linear probe): per seed and paired like the main metric.
  const seedsByMetric: Record<string, Record<string, number[]>> = { [plan.metric.key]: seedsByRow };
  for (const m of plan.sideMetrics ?? []) {
    if (m === plan.metric.key) continue;
    const { label, metaKey, unit } = SIDE_METRICS[m];
    const values: Record<string, number[]> = {};
    const seedsOf: Record<string, number[]> = {};
    for (const r of [...results].sort((x, y) => x.seed - y.seed)) {
      const v = Number(r.meta[metaKey]);
      if (r.meta[metaKey] === undefined || r.meta[metaKey] === null || !Number.isFinite(v)) continue;
      (values[r.row] ??= []).push(v);
      (seedsOf[r.row] ??= []).push(r.seed);
    }
    resultsByMetric[m] = values;
    seedsByMetric[m] = seedsOf;
    additional.push({
      metric: { key: m, label, unit, digits: unit === "ms" ? 0 : 2 },
      rows: plan.rows.map((row) => ({
        key: row.key,
        label: row.label,
        // The paper's number where its table has a column of that key (Table 9's linear probe), else none.
        paper: planPaperValue(plan, row.key, m),
        perSeed: values[row.key] ?? [],
        seeds: seedsOf[row.key] ?? [],
      })),
      baseline: paper.baseline,
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
  const judged = judgedMetrics(plan);
  const claims = paper.claims.filter((c) => judged.has(c.metric));
  // Rows that share a seed share the encoder's initialisation, data order and augmentations (tested in
  // tables_test), so claims are judged on per-seed differences.
  const measuredAs = plan.metric.measuredAs;
  const verdicts = judgeClaims(claims, resultsByMetric, {
    exactMetrics,
    paired: true,
    seedsByMetric,
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
  const strategies = [
    ...new Set(
      results.filter((r) => r.meta.strategy !== undefined).map((r) => JSON.stringify(r.meta.strategy)),
    ),
  ];
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
  if (knnByRow.size > 0 && !plan.sideMetrics?.includes("knn") && plan.metric.evaluation !== "knn") {
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
  if (plan.own?.discuss) {
    notes.push(plan.own.discuss(verdicts, readingsByMetric(claims, plan.metric.key, additional)));
  }
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
      epochs: epochsLabel(ctx, plan.metric.evaluation, plan),
      backend: describeEngines(ctx.backend, results.flatMap((r) => (r.meta.engines as unknown[]) ?? [])),
      seeds,
      commit: reportCommit(),
      date: new Date().toISOString(),
      wallTimeSeconds: wall,
      invocationSeconds: elapsedSeconds,
      cacheHits: { hits, total },
      // A run on another OpenBLAS kernel set rounds differently: the command names the set it used.
      command: `${blasCoreCommandPrefix()}deno task ${plan.id} --profile ${ctx.profile.name} ` +
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
      ...(typeof r.meta.carriedFrom === "string" ? { carriedFrom: r.meta.carriedFrom } : {}),
      // Kept so that a later --rows call that carries this run (carry.ts) still draws its learning curves.
      ...(r.curves.pretrainLoss.length + r.curves.evalMetric.length > 0 ? { curves: r.curves } : {}),
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
export function epochsLabel(ctx: RunContext, evaluation: Evaluation, plan?: TablePlan): string {
  // Rows that all scale the profile's epochs alike (the long arm) are labelled with their own length.
  const scales = new Set((plan?.rows ?? []).filter((r) => r.request).map((r) => r.epochsScale ?? 1));
  const scale = scales.size === 1 ? [...scales][0] : 1;
  const epochs = Math.max(1, Math.round(ctx.profile.pretrain.epochs * scale));
  const pre = `${epochs} pre-train${scales.size > 1 ? " (some rows scaled, see deviations)" : ""}`;
  if (evaluation === "knn") return `${pre} + k-NN on the frozen encoder`;
  if (evaluation === "linprobe") return `${pre} + ${ctx.profile.linprobe.epochs} linear probe`;
  if (evaluation === "segment") {
    const setup = SEGMENTATION_SETUPS[ctx.profile.name];
    return setup ? `${pre} + ${setup.recipe.epochs} segmentation` : pre;
  }
  return `${pre} + ${ctx.profile.finetune.epochs} fine-tune`;
}

/** The key of a plan's random-init row when it has results (the floor of "share of the baseline's gain"). */
function floorRowOf(plan: TablePlan, byRow: Record<string, number[]>): string | undefined {
  const key = plan.rows.find((r) => r.randomInit)?.key;
  return key && byRow[key]?.length ? key : undefined;
}

/**
 * The metrics a plan's report judges claims on: its main metric and its exact, recorded and side metrics (a
 * claim on any other, such as Table 2's COCO AP, is never judged at this profile).
 */
export function judgedMetrics(plan: TablePlan): Set<string> {
  return new Set([
    plan.metric.key,
    ...(plan.exactMetrics ?? []).map((m) => m.key),
    ...(plan.recordedMetrics ?? []).map((m) => m.key),
    ...(plan.sideMetrics ?? []),
  ]);
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
export async function renderCurves(
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
      // Units with no curve (carried from a report that did not record one) are not counted in n.
      const curves = rs.map(pick).filter((c) => c.length > 0);
      const y = stat(curves, (v) => v.reduce((a, b) => a + b, 0) / v.length);
      return {
        name: `${plan.rows.find((p) => p.key === row)?.label ?? row} (n=${curves.length})`,
        x: y.map((_, i) => i + 1),
        y,
        ...(curves.length > 1
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
