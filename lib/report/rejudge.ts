/**
 * Re-judging a written table report from its own JSON: the per-seed values (and their seeds) of every row
 * are in the report, so its verdicts can be recomputed with the current statistics when the run cache behind
 * it is gone. Everything else — header, rows, deviations, notes, figures, runs — is kept as written; a note
 * says the verdicts were re-judged and by which commit.
 *
 * Each claim is rebuilt from its verdict: "a > b" and "a = b ± tol" from the compared rows (the tolerance
 * from `tolerance`, or from the rule's text in reports written before that field), best-in-group from its
 * rows with the claimed row as `compared.a`. Comparisons are paired per seed as the table runner does; a
 * verdict judged exactly (method "exact") is judged exactly again. Holm's correction is recomputed over the
 * report's claims. The caller may add what the current code knows and the report lacks: claims added to its
 * table since (judged on its rows, "not run" where it has none), deviations of its profile listed since, and
 * notes.
 * @module
 */
import { basename, dirname } from "node:path";
import { recordedBy } from "./report_model.ts";
import {
  type MetricBlock,
  type MetricInfo,
  type ReportRow,
  type TableReportInput,
  writeReport,
} from "./markdown.ts";
import {
  type ClaimInput,
  holmVerdicts,
  judgeClaim,
  type SeedIds,
  type SeedResults,
  type Verdict,
} from "./verdict.ts";

/** A file that is not a table report this module can read (a usage error for the CLI). */
export class ReportFormatError extends Error {
  override name = "ReportFormatError";
}

/** The report schemas that hold what re-judging needs. */
export const REJUDGE_SCHEMAS = ["gpa-repro/table-report@1", "gpa-repro/table-report@2"];

/** How the note added by {@linkcode rejudgeReport} begins (an earlier one is replaced, not repeated). */
export const REJUDGE_NOTE_PREFIX = "Verdicts re-judged from the recorded per-seed values";

type Json = Record<string, unknown>;

const isObject = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

function fail(what: string): never {
  throw new ReportFormatError(what);
}

function field<T>(o: Json, key: string, check: (x: unknown) => x is T, what: string, where: string): T {
  const v = o[key];
  if (!check(v)) fail(`${where}: '${key}' is not ${what}`);
  return v;
}

const isString = (x: unknown): x is string => typeof x === "string";
const isArray = (x: unknown): x is unknown[] => Array.isArray(x);
const isStringArray = (x: unknown): x is string[] => Array.isArray(x) && x.every(isString);
const isNumberOrNull = (x: unknown): x is number | null => x === null || typeof x === "number";
/** Per-seed values: numbers, with null where the JSON had to write a non-finite value. */
const isValues = (x: unknown): x is (number | null)[] => Array.isArray(x) && x.every(isNumberOrNull);
const isSeeds = (x: unknown): x is number[] | null =>
  x === null || (Array.isArray(x) && x.every((s) => Number.isInteger(s)));

function metricBlock(m: unknown, i: number): MetricBlock {
  const where = `metrics[${i}]`;
  if (!isObject(m)) fail(`${where} is not an object`);
  const metric = field(m, "metric", isObject, "an object", where);
  field(metric, "key", isString, "a string", `${where}.metric`);
  field(metric, "label", isString, "a string", `${where}.metric`);
  const baseline = m.baseline === undefined ? null : m.baseline;
  if (baseline !== null && !isString(baseline)) fail(`${where}: 'baseline' is not a string or null`);
  const rows = field(m, "rows", isArray, "a list", where).map((r, j): ReportRow => {
    const at = `${where}.rows[${j}]`;
    if (!isObject(r)) fail(`${at} is not an object`);
    const perSeed = field(r, "perSeed", isValues, "a list of numbers", at).map((v) => v ?? NaN);
    const seeds = r.seeds === undefined ? null : field(r, "seeds", isSeeds, "a list of seeds or null", at);
    if (seeds && seeds.length !== perSeed.length) {
      fail(`${at}: ${seeds.length} seeds for ${perSeed.length} values`);
    }
    const paper = r.paper === undefined ? null : field(r, "paper", isNumberOrNull, "a number or null", at);
    const rowBaseline = r.baseline ?? null;
    if (rowBaseline !== null && !isString(rowBaseline)) fail(`${at}: 'baseline' is not a string or null`);
    return {
      key: field(r, "key", isString, "a string", at),
      label: field(r, "label", isString, "a string", at),
      paper,
      perSeed,
      ...(seeds ? { seeds } : {}),
      ...(rowBaseline !== null && rowBaseline !== baseline ? { baseline: rowBaseline } : {}),
    };
  });
  return { metric: metric as unknown as MetricInfo, rows, baseline };
}

/** The claim a verdict was given on, rebuilt from the verdict's own fields. */
export function claimOfVerdict(v: Json, where: string): ClaimInput {
  const id = field(v, "claimId", isString, "a string", where);
  const text = field(v, "text", isString, "a string", where);
  const metric = field(v, "metric", isString, "a string", where);
  const kind = v.kind;
  const compared = field(v, "compared", isObject, "an object", where);
  const a = field(compared, "a", isString, "a string", `${where}.compared`);
  if (kind === "best-in-group") {
    const rows = Object.keys(field(v, "rows", isObject, "an object", where));
    if (rows.length < 2 || !rows.includes(a)) fail(`${where}: best-in-group rows do not include '${a}'`);
    return { kind, id, text, metric, best: a, rows };
  }
  const b = field(compared, "b", isString, "a string", `${where}.compared`);
  if (kind === "greater") {
    return { kind, id, text, metric, a, b, ...(typeof v.atMost === "number" ? { atMost: v.atMost } : {}) };
  }
  if (kind === "equal") {
    // Reports before the `tolerance` field name it in the rule: "a = b ± 0.5: …".
    const fromRule = isString(v.rule) ? /^\S+ = \S+ ± ([0-9][0-9.eE+-]*)/.exec(v.rule)?.[1] : undefined;
    const tolerance = typeof v.tolerance === "number" ? v.tolerance : Number(fromRule);
    if (!(tolerance >= 0)) fail(`${where}: equality claim without a tolerance`);
    return { kind, id, text, metric, a, b, tolerance };
  }
  return fail(`${where}: unknown claim kind ${JSON.stringify(kind)}`);
}

/**
 * The report input behind a report's JSON, with every verdict recomputed from the rows' per-seed values
 * and a note naming `commit` (and `date`) added. Throws {@linkcode ReportFormatError} on anything that is
 * not such a report.
 */
/** What a re-judge adds from the current code (the caller reads it from the paper module and the profile). */
export interface RejudgeAdditions {
  /**
   * Claims of the report's table that its verdicts lack (added since it was written), each with the paper's
   * difference: judged on the report's rows like the others; a claim on rows the report lacks reads not run.
   */
  claims?: readonly { claim: ClaimInput; paperEffect: number | null; exact?: boolean }[];
  /** Deviations the report lacks (facts of its profile added since): appended, the others kept as written. */
  deviations?: readonly string[];
  /** Notes to add (a re-judge of rows whose plan has changed meaning since, for instance). */
  notes?: readonly string[];
}

export function rejudgeReport(
  json: unknown,
  o: { commit: string; date: string } & RejudgeAdditions,
): TableReportInput {
  if (!isObject(json)) fail("not a JSON object");
  if (!REJUDGE_SCHEMAS.includes(json.schema as string)) {
    fail(
      `schema ${JSON.stringify(json.schema ?? null)} is not a table report (${REJUDGE_SCHEMAS.join(", ")})`,
    );
  }
  const header = field(json, "header", isObject, "an object", "report");
  const metrics = field(json, "metrics", isArray, "a list", "report").map(metricBlock);
  if (metrics.length === 0) fail("report: no metrics");
  const old = field(json, "verdicts", isArray, "a list", "report");
  const byMetric = new Map(metrics.map((b) => [b.metric.key, b]));
  const fresh: Verdict[] = old.map((v, i) => {
    const where = `verdicts[${i}]`;
    if (!isObject(v)) fail(`${where} is not an object`);
    const claim = claimOfVerdict(v, where);
    const block = byMetric.get(claim.metric) ?? fail(`${where}: no rows for metric '${claim.metric}'`);
    const results: Record<string, number[]> = {};
    const seeds: Record<string, number[]> = {};
    for (const r of block.rows) {
      results[r.key] = [...r.perSeed];
      if (r.seeds) seeds[r.key] = [...r.seeds];
    }
    const paperEffect = v.paperEffect ?? null;
    if (!isNumberOrNull(paperEffect)) fail(`${where}: 'paperEffect' is not a number or null`);
    const level = v.level ?? 0.95;
    if (typeof level !== "number" || !(level > 0 && level < 1)) fail(`${where}: 'level' is not in (0, 1)`);
    try {
      const fresh = judgeClaim(claim, results as SeedResults, {
        level,
        exact: v.method === "exact",
        seeds: seeds as SeedIds,
        paired: true,
        paperEffect,
      });
      // The image-level bootstrap needs the runs' per-image predictions, which the JSON does not hold: it is
      // kept as written while the same two rows decide.
      const before = v.compared as { a?: unknown; b?: unknown } | undefined;
      const same = before?.a === fresh.compared.a && before?.b === fresh.compared.b;
      return same && isObject(v.bootstrap)
        ? { ...fresh, bootstrap: v.bootstrap as unknown as NonNullable<Verdict["bootstrap"]> }
        : fresh;
    } catch (e) {
      // A malformed claim or seed list in the file is a problem of the input, not of the statistics.
      if (e instanceof RangeError) fail(`${where}: ${e.message}`);
      throw e;
    }
  });
  // Claims added to the table since the report was written: judged on its rows (none: not run). A claim on a
  // metric the report has no rows of is not judged, as when the table ran (a note says so): a verdict needs
  // its metric's rows to be re-judged again.
  const known = new Set(fresh.map((v) => v.claimId));
  const unjudged: string[] = [];
  for (const { claim, paperEffect, exact } of o.claims ?? []) {
    if (known.has(claim.id)) continue;
    const block = byMetric.get(claim.metric);
    if (!block) {
      unjudged.push(`claim ${claim.id} (${claim.metric}) not judged: that metric was not run`);
      continue;
    }
    const results: Record<string, number[]> = {};
    const seeds: Record<string, number[]> = {};
    for (const r of block.rows) {
      results[r.key] = [...r.perSeed];
      if (r.seeds) seeds[r.key] = [...r.seeds];
    }
    fresh.push(judgeClaim(claim, results, { exact, seeds, paired: true, paperEffect }));
  }
  const level = fresh[0]?.level ?? 0.95;
  const list = (
    key: string,
  ) => (json[key] === undefined ? [] : field(json, key, isArray, "a list", "report"));
  const notes = list("notes");
  if (!isStringArray(notes)) fail("report: 'notes' is not a list of strings");
  const deviations = list("deviations");
  if (!isStringArray(deviations)) fail("report: 'deviations' is not a list of strings");
  const floorRow = json.floorRow ?? null;
  if (floorRow !== null && !isString(floorRow)) fail("report: 'floorRow' is not a string or null");
  // Said once additions are made, and kept by later re-judges.
  const added = fresh.length > old.length ||
    (o.deviations ?? []).some((d) => !deviations.includes(d)) ||
    notes.some((n) => n.startsWith(REJUDGE_NOTE_PREFIX) && n.includes("were added"));
  const note = `${REJUDGE_NOTE_PREFIX} by commit ${o.commit} (${o.date}), with that commit's statistics; ` +
    (added
      ? "claims and profile deviations listed since the table ran were added (a claim on rows this report " +
        "lacks reads not run); "
      : "") +
    "the header, rows, runs and other notes are as the table's run wrote them.";
  return {
    header: header as unknown as TableReportInput["header"],
    metric: metrics[0].metric,
    rows: metrics[0].rows,
    baseline: metrics[0].baseline ?? null,
    ...(floorRow !== null ? { floorRow } : {}),
    additionalMetrics: metrics.slice(1),
    verdicts: holmVerdicts(fresh, level),
    deviations: [...deviations, ...(o.deviations ?? []).filter((d) => !deviations.includes(d))],
    notes: [
      ...notes.filter((n) => !n.startsWith(REJUDGE_NOTE_PREFIX) && !(o.notes ?? []).includes(n)),
      ...unjudged.filter((n) => !notes.includes(n)),
      ...(o.notes ?? []),
      note,
    ],
    figures: list("figures") as TableReportInput["figures"],
    runs: list("runs") as TableReportInput["runs"],
  };
}

/** A report JSON file read and re-judged, not yet written. */
export interface Rejudged {
  /** The report's JSON path. */
  path: string;
  input: TableReportInput;
  /** Outcome of every claim before and after. */
  changes: { claimId: string; before: string; after: string }[];
}

/** Reads `path` (a report's .json) and re-judges it; {@linkcode ReportFormatError} for a bad file. */
export async function rejudgeFile(
  path: string,
  o: {
    commit: string;
    date: string;
    transform?: (json: unknown) => unknown | Promise<unknown>;
    /** What the current code adds for this report (read from its parsed JSON). */
    additions?: (json: unknown) => RejudgeAdditions | Promise<RejudgeAdditions>;
  },
): Promise<Rejudged> {
  if (!path.endsWith(".json")) fail(`${path}: not a report's .json file`);
  const text = await Deno.readTextFile(path).catch((e) => {
    if (e instanceof Deno.errors.NotFound) fail(`${path}: no such file`);
    throw e;
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`${path}: not JSON (${e instanceof Error ? e.message : e})`);
  }
  let input: TableReportInput;
  try {
    if (o.transform) json = await o.transform(json);
    input = rejudgeReport(json, { ...o, ...(o.additions ? await o.additions(json) : {}) });
  } catch (e) {
    if (e instanceof ReportFormatError) fail(`${path}: ${e.message}`);
    throw e;
  }
  const before = new Map(
    ((json as Json).verdicts as Json[]).map((v) => [String(v.claimId), String(v.outcome)]),
  );
  const changes = input.verdicts.map((v) => ({
    claimId: v.claimId,
    before: before.get(v.claimId) ?? "—",
    after: v.outcome,
  }));
  return { path, input, changes };
}

/** Writes a re-judged report over its .json and .md (both atomically, as the table runner writes them). */
export async function writeRejudged(r: Rejudged): Promise<{ markdown: string; json: string }> {
  return await writeReport(dirname(r.path), basename(r.path, ".json"), r.input);
}

/** A row copied into a report from another report whose runs have the same identity. */
export interface RowTransfer {
  /** The row's key in the report. */
  key: string;
  /** Its key in the other report (default: `key`). */
  sourceKey?: string;
  /** The row's label in the report (default: the other report's). */
  label?: string;
  /** The paper's value of the row in the report's table (default: none). */
  paper?: number | null;
  /** The report's row keys in table order: the copied row takes its place among them (default: first). */
  order?: readonly string[];
  /** Only these seeds (default: all the other report has). */
  seeds?: readonly number[];
  /** The other report's JSON (already parsed). */
  from: unknown;
  /** Where the other report is, for the note. */
  fromPath: string;
  /** The evaluation hashes the target table's plan gives this row, per seed: each copied run must match. */
  expectedEvalHashes: Record<number, string>;
}

/**
 * A report's JSON with one row (its per-seed values, seeds and runs) copied from another report, for when the
 * target's run cache is gone, or its runs were made for another table: the same identities, checked against
 * `expectedEvalHashes` seed by seed. The main metric must be the same; the row is copied into every other
 * metric the two reports share too (a long arm's k-NN beside its probe). The row replaces one of the same
 * key; a note says where it came from. Paired claims use the seeds both rows have.
 */
export function addRowFrom(json: unknown, t: RowTransfer): Json {
  if (!isObject(json) || !isObject(t.from)) fail("not a JSON object");
  const sources = field(t.from, "metrics", isArray, "a list", t.fromPath).map(metricBlock);
  const source = sources[0] ?? fail(`${t.fromPath}: no metrics`);
  const target = field(json, "metrics", isArray, "a list", "report");
  if (target.length === 0 || !isObject(target[0])) fail("report: no metrics");
  const targetMetric = field(target[0], "metric", isObject, "an object", "metrics[0]");
  if (targetMetric.key !== source.metric.key) {
    fail(`${t.fromPath}: its metric '${source.metric.key}' is not the report's '${targetMetric.key}'`);
  }
  const from = t.sourceKey ?? t.key;
  const row = source.rows.find((r) => r.key === from) ?? fail(`${t.fromPath}: no row '${from}'`);
  const allSeeds = row.seeds ?? fail(`${t.fromPath}: row '${from}' records no seeds`);
  const keep = allSeeds.map((s, i) => [s, i] as const).filter(([s]) => !t.seeds || t.seeds.includes(s));
  if (keep.length === 0) fail(`${t.fromPath}: row '${from}' has none of the seeds ${t.seeds!.join(", ")}`);
  const runs = ((t.from.runs ?? []) as Json[]).filter((r) => r.row === from);
  for (const [s] of keep) {
    const run = runs.find((r) => r.seed === s);
    const want = t.expectedEvalHashes[s];
    if (!run || !want || run.evalHash !== want) {
      fail(
        `${t.fromPath}: row '${from}' seed ${s} ran as ${String(run?.evalHash ?? "nothing")}, the report's ` +
          `table plans ${want ?? "no such run"}; only runs of the same identity can be copied`,
      );
    }
  }
  const seeds = keep.map(([s]) => s);
  const rank = (r: unknown) => {
    const i = t.order?.indexOf(isObject(r) ? String(r.key) : "") ?? -1;
    return i < 0 ? Infinity : i;
  };
  // The row in the target's metric block `i`, from the source's block of the same metric (the seeds it has).
  const withRow = (block: unknown, i: number): unknown => {
    if (!isObject(block)) return block;
    const key = isObject(block.metric) ? block.metric.key : undefined;
    const src = i === 0 ? row : sources.find((b) => b.metric.key === key)?.rows.find((r) => r.key === from);
    if (!src) return block;
    const at = seeds.map((s) => (src.seeds ?? allSeeds).indexOf(s));
    const copied = {
      key: t.key,
      label: t.label ?? row.label,
      paper: i === 0 ? t.paper ?? null : null,
      perSeed: at.filter((j) => j >= 0).map((j) => src.perSeed[j]),
      seeds: seeds.filter((_, n) => at[n] >= 0),
    };
    const others = field(block, "rows", isArray, "a list", `metrics[${i}]`).filter((r) =>
      !(isObject(r) && r.key === t.key)
    );
    const rows = t.order ? [...others, copied].sort((a, b) => rank(a) - rank(b)) : [copied, ...others];
    return { ...block, rows };
  };
  const notes = (json.notes ?? []) as string[];
  // Which commit recorded each copied run: the other report's, or, where it had itself carried the run from
  // an earlier report, that one's (kept on the run, so a later carry or copy still names it).
  const sourceCommit = recordedBy(t.from.header).label;
  const copiedRuns: (Json & { carriedFrom: string })[] = runs.filter((r) => seeds.includes(r.seed as number))
    .map((r) => ({
      ...r,
      row: t.key,
      carriedFrom: typeof r.carriedFrom === "string" ? r.carriedFrom : sourceCommit,
    }));
  const byCommit = new Map<string, number[]>();
  for (const r of copiedRuns) {
    byCommit.set(r.carriedFrom, [...(byCommit.get(r.carriedFrom) ?? []), r.seed as number]);
  }
  const recordedNote = ` Recorded by ${
    [...byCommit].map(([c, ss]) =>
      `commit ${c}${byCommit.size > 1 ? ` (seed${ss.length === 1 ? "" : "s"} ${ss.join(", ")})` : ""}`
    )
      .join(", ")
  }.`;
  // A bootstrap interval was computed from the replaced row's runs: it does not describe the copied ones.
  const verdicts = ((json.verdicts ?? []) as Json[]).map((v) => {
    const c = isObject(v.compared) ? v.compared : {};
    if (!("bootstrap" in v) || (c.a !== t.key && c.b !== t.key)) return v;
    const { bootstrap: _, ...rest } = v;
    return rest;
  });
  return {
    ...json,
    verdicts,
    ...(t.from.floorRow === from ? { floorRow: t.key } : {}),
    metrics: target.map(withRow),
    runs: [
      ...((json.runs ?? []) as Json[]).filter((r) => r.row !== t.key),
      ...copiedRuns,
    ],
    notes: [
      // A partial run's note listed this row as not run: say it is there now.
      ...notes.filter((n) => !n.startsWith(`Row '${t.key}' (seeds `)).map((n) =>
        n.startsWith("Partial report:") &&
          new RegExp(`\\b${t.key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(n) &&
          !n.includes(`'${t.key}' is copied`)
          ? `${n} Row '${t.key}' is copied from another report since (below).`
          : n
      ),
      `Row '${t.key}' (seeds ${seeds.join(", ")}) copied from ${t.fromPath}${
        from === t.key ? "" : ` (its row '${from}')`
      }: ` +
      "the same runs — their evaluation hashes are the ones this table plans for the row." + recordedNote,
    ],
  };
}
