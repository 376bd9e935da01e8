/**
 * Rows a `--rows` call leaves out whose runs this cache lacks but the report it is about to replace holds:
 * carried into the new report instead of being dropped. A long table completed in parts on another machine
 * (or after its cache was cleared) must not lose what its earlier report says — only runs of the same
 * identity are carried: the evaluation hash the report recorded for the row and seed must be the one this
 * plan gives it (it covers the pre-training run, the data's fingerprint and the evaluation's recipe).
 * @module
 */
import { isAbsolute, relative } from "node:path";
import type { PlannedUnit } from "./plan.ts";
import type { UnitResult } from "./run_unit.ts";
import { recordedBy } from "../../lib/report/report_model.ts";

/** Where carried units came from: the earlier report's commit and date, as its header gives them. */
export interface CarriedFrom {
  /** The report file they were read from. */
  path: string;
  commit: string;
  date: string;
  /** The engines the earlier report's header names (its runs ran there). */
  backend: string;
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

/** The earlier report's JSON at `path`, or null when there is none or it cannot be read as a report. */
export async function readPreviousReport(path: string): Promise<Json | null> {
  try {
    const json = JSON.parse(await Deno.readTextFile(path));
    return isObject(json) && Array.isArray(json.metrics) && Array.isArray(json.runs) ? json : null;
  } catch {
    return null;
  }
}

/**
 * The units of `planned` (one table's, not cached here) that `previous` recorded with the same evaluation
 * hash, as unit results holding the report's value of the main metric `metricKey`: no runs of this
 * invocation (runs and hits 0, no compute time) and the curves the report recorded for the run. Side
 * metrics (linear probe, k-NN, step time) are not carried — the report holds their values per seed but not their runs' hashes, so their identity
 * cannot be checked — nor are recorded metrics (Table 5's head), per-image predictions or per-run engines:
 * the unit's engine reads "the engines of commit …, carried", so that a table whose paired rows mix
 * carried and new runs says so (engineMixNote).
 */
export function carriedUnits(
  previous: Json,
  path: string,
  metricKey: string,
  planned: readonly PlannedUnit[],
): { results: UnitResult[]; from: CarriedFrom } {
  const header = isObject(previous.header) ? previous.header : {};
  const { commit, date } = recordedBy(header);
  const from: CarriedFrom = { path, commit, date, backend: String(header.backend ?? "unknown") };
  const block = (previous.metrics as unknown[]).find((b) =>
    isObject(b) && isObject(b.metric) && b.metric.key === metricKey
  ) as Json | undefined;
  const rows = Array.isArray(block?.rows) ? block.rows.filter(isObject) : [];
  const runs = (previous.runs as unknown[]).filter(isObject);
  const results: UnitResult[] = [];
  for (const u of planned) {
    if (!u.evalHash) continue;
    const run = runs.find((r) => r.row === u.row && r.seed === u.seed);
    if (!run || run.evalHash !== u.evalHash) continue;
    const row = rows.find((r) => r.key === u.row);
    const seeds = Array.isArray(row?.seeds) ? row.seeds : [];
    const perSeed = Array.isArray(row?.perSeed) ? row.perSeed : [];
    const value = perSeed[seeds.indexOf(u.seed)];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    // A run carried twice keeps the report that first recorded it.
    const recorder = typeof run.carriedFrom === "string" ? run.carriedFrom : recordedBy(header).label;
    results.push({
      row: u.row,
      seed: u.seed,
      value,
      pretrainHash: typeof run.pretrainHash === "string" ? run.pretrainHash : "",
      evalHash: u.evalHash,
      cacheHits: 0,
      runs: 0,
      wallSeconds: 0,
      meta: { carriedFrom: recorder, engines: [`the engines of commit ${recorder}, carried`] },
      curves: recordedCurves(run.curves),
    });
  }
  return { results, from };
}

/** A run's recorded curves; JSON writes a NaN (an epoch that logged no metric) as null. */
function recordedCurves(c: unknown): UnitResult["curves"] {
  const list = (x: unknown) => Array.isArray(x) ? x.map((v) => (typeof v === "number" ? v : NaN)) : [];
  return isObject(c) ? { pretrainLoss: list(c.pretrainLoss), evalMetric: list(c.evalMetric) } : {
    pretrainLoss: [],
    evalMetric: [],
  };
}

/**
 * The report's note on the carried units: which rows (with their seed counts), the reports that recorded
 * them (their `carriedFrom`), and the engines the replaced report names where it recorded them all itself.
 */
export function carriedNote(from: CarriedFrom, carried: readonly Pick<UnitResult, "row" | "meta">[]): string {
  const counts = new Map<string, number>();
  for (const r of carried) counts.set(r.row, (counts.get(r.row) ?? 0) + 1);
  const list = [...counts].map(([k, n]) => `${k} (${n} seed${n === 1 ? "" : "s"})`).join(", ");
  const recorders = [...new Set(carried.map((r) => String(r.meta.carriedFrom)))];
  const own = recorders.length === 1 && recorders[0] === `${from.commit} (${from.date})`;
  // The path as the reader's checkout names it (reports/cpu/table4.json), not this machine's absolute one.
  const rel = relative(Deno.cwd(), from.path);
  const shown = rel.startsWith("..") || isAbsolute(rel) ? from.path : rel;
  return `Carried from the report this one replaced (${shown}): ${list}, recorded by commit ` +
    `${recorders.join(", ")}` +
    (own ? `, on ${from.backend}` : " (engines: in the reports of those commits)") +
    " — their runs are not in this cache, and that report recorded them with the evaluation hashes this plan " +
    "gives them (the same run identities; the engine is not part of one). Their values are that report's; " +
    "their side metrics (probe, k-NN), recorded metrics, engines and compute time are not in this report, " +
    "and their learning curves only where that report recorded them.";
}
