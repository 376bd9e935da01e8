/**
 * What a table report holds (header, metric blocks, rows, verdicts) and what is derived from it before
 * rendering: each row's mean, spread and deltas, outcome counts, and the baseline's gain over a floor row.
 * Shared by the Markdown page (`markdown.ts`) and the JSON object (`report_json.ts`).
 * @module
 */
import { mean, sampleStd } from "./stats.ts";
import { type Outcome, OUTCOMES, type Verdict } from "./verdict.ts";

/** Where and how the numbers were produced. */
export interface ReportHeader {
  /** Page title, e.g. "Table 1 — roles of GPA". */
  title: string;
  /** Paper table id, e.g. "table1". */
  tableId?: string;
  /** Run profile, e.g. "smoke", "small", "full". */
  profile: string;
  /** The data the runs used: pre-training data, and the evaluation's when it differs (e.g. CamVid). */
  dataset: string;
  /** Input resolution in pixels (or a description such as "64×64"). */
  resolution: number | string;
  /** Model, e.g. "ViT-Tiny/8 (192-d, 12 blocks)". */
  model: string;
  /** Pre-training epochs (or a description such as "100 + 50 fine-tune"). */
  epochs: number | string;
  /** TensorFlow.js backend, e.g. "webgpu", "wasm". */
  backend: string;
  seeds: readonly number[];
  /** Git commit of the code that produced the numbers. */
  commit: string;
  /** ISO date of the report. */
  date: string;
  /** Compute time of all runs behind the report, summed, in seconds (cached runs count their original time). */
  wallTimeSeconds: number;
  /** How long the invocation that wrote the report took, in seconds (cached runs cost nothing then). */
  invocationSeconds?: number;
  /** The command that reproduces this report. */
  command?: string;
  /** How many of the runs were taken from the result cache. */
  cacheHits: { hits: number; total: number };
}

/** The quantity a block of rows reports. */
export interface MetricInfo {
  /** Metric key, as in the paper module's columns (e.g. "finetune"). */
  key: string;
  /** Human label, e.g. "fine-tune top-1". */
  label: string;
  /** Unit, e.g. "%". */
  unit?: string;
  /** Decimals of values and deltas (default 2). */
  digits?: number;
}

/** One compared row. */
export interface ReportRow {
  key: string;
  label: string;
  /** The paper's value, or null where the paper has none. */
  paper: number | null;
  /** Our value per seed (in seed order). */
  perSeed: readonly number[];
  /** The seed of each value of `perSeed` (shown beside the values). */
  seeds?: readonly number[];
  /** Number of seeds; defaults to `perSeed.length` and must equal it when given. */
  n?: number;
  /** Baseline of this row where it differs from the block's (e.g. the same-α row of Tables 3 and 4). */
  baseline?: string;
}

/** Rows of one metric with their baseline. */
export interface MetricBlock {
  metric: MetricInfo;
  rows: readonly ReportRow[];
  /** Key of the baseline row (deltas are taken against it), or null for none. */
  baseline?: string | null;
}

/** Everything a table report shows. */
export interface TableReportInput {
  header: ReportHeader;
  /** The main metric and its rows. */
  metric: MetricInfo;
  rows: readonly ReportRow[];
  baseline?: string | null;
  /**
   * Key of a floor row of the main metric (e.g. a random initialisation without pre-training). With it and
   * `baseline`, each "greater" claim's Δ is also given as a share of the baseline's gain over the floor
   * (mean(baseline) − mean(floor)), when both rows have results and that gain is positive.
   */
  floorRow?: string;
  /** Further metrics of the same table (e.g. AP box, AP mask, mIoU of Table 2). */
  additionalMetrics?: readonly MetricBlock[];
  verdicts: readonly Verdict[];
  /** How this reproduction departs from the paper's setup. */
  deviations: readonly string[];
  notes: readonly string[];
  /** Figures to link, relative to the report's directory. */
  figures?: readonly { title: string; path: string }[];
  /** The runs behind the rows (JSON only): each unit's pre-training and evaluation run hashes. */
  runs?: readonly {
    row: string;
    seed: number;
    pretrainHash: string;
    evalHash: string;
    /** A run carried from an earlier report (its runs not in the cache): that report's commit and date. */
    carriedFrom?: string;
    /** The run's per-epoch curves (pre-training loss, the evaluation's metric), where it logged any. */
    curves?: { pretrainLoss: number[]; evalMetric: number[] };
  }[];
}

/**
 * How a table's discussion note begins (written from its verdicts by the table's module; a re-judged report
 * replaces it, and the front page's prose quotes it).
 */
export const DISCUSSION_PREFIX = "Discussion";

/** What a reader must know before comparing numbers. */
export const SCALE_STATEMENT =
  "Absolute numbers are not expected to match the paper: these runs use a small " +
  "dataset, resolution, model and schedule instead of ImageNet-1K with ViT-B/16 for hundreds of epochs. " +
  "What is judged is whether the paper's orderings and the signs of its deltas hold, with 95% confidence " +
  "intervals over seeds.";

/** A row with its derived statistics. */
export interface RenderedRow {
  key: string;
  label: string;
  paper: number | null;
  perSeed: number[];
  seeds: number[] | null;
  n: number;
  mean: number | null;
  std: number | null;
  baseline: string | null;
  isBaseline: boolean;
  paperDelta: number | null;
  oursDelta: number | null;
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

export function deriveRows(block: MetricBlock): RenderedRow[] {
  const byKey = new Map(block.rows.map((r) => [r.key, r]));
  if (byKey.size !== block.rows.length) throw new RangeError(`duplicate row keys in ${block.metric.key}`);
  return block.rows.map((row) => {
    if (row.n !== undefined && row.n !== row.perSeed.length) {
      throw new RangeError(`row ${row.key}: n = ${row.n} but ${row.perSeed.length} per-seed values`);
    }
    const baselineKey = row.baseline ?? block.baseline ?? null;
    const baseline = baselineKey === null ? undefined : byKey.get(baselineKey);
    if (baselineKey !== null && !baseline) {
      throw new RangeError(`row ${row.key}: unknown baseline ${baselineKey}`);
    }
    const isBaseline = baselineKey === row.key;
    const ours = finiteOrNull(mean(row.perSeed));
    const oursBase = baseline ? finiteOrNull(mean(baseline.perSeed)) : null;
    return {
      key: row.key,
      label: row.label,
      paper: row.paper,
      perSeed: [...row.perSeed],
      seeds: row.seeds ? [...row.seeds] : null,
      n: row.perSeed.length,
      mean: ours,
      std: finiteOrNull(sampleStd(row.perSeed)),
      baseline: baselineKey,
      isBaseline,
      paperDelta: !isBaseline && baseline && row.paper !== null && baseline.paper !== null
        ? row.paper - baseline.paper
        : null,
      oursDelta: !isBaseline && ours !== null && oursBase !== null ? ours - oursBase : null,
    };
  });
}

export function blocksOf(input: TableReportInput): MetricBlock[] {
  return [
    { metric: input.metric, rows: input.rows, baseline: input.baseline },
    ...(input.additionalMetrics ?? []),
  ];
}

export function countOutcomes(verdicts: readonly Pick<Verdict, "outcome">[]): Record<Outcome, number> {
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const v of verdicts) counts[v.outcome]++;
  return counts;
}

/** "1 reproduced, 0 not reproduced, 2 smaller than the paper's, 0 inconclusive": the paper-Δ outcomes only where any. */
export function countsText(counts: Record<Outcome, number>, shown: readonly Outcome[]): string {
  return OUTCOMES.filter((o) => shown.includes(o)).map((o) => `${counts[o]} ${o}`).join(", ");
}

/** The baseline's gain over the floor row (see `TableReportInput.floorRow`), or null where it is not shown. */
export interface GainOverFloor {
  baseline: string;
  floor: string;
  baselineLabel: string;
  floorLabel: string;
  baselineMean: number;
  floorMean: number;
  /** baselineMean − floorMean (> 0). */
  gain: number;
}

/**
 * The baseline's gain over `floorRow` on the main metric, or on the further metric `metricKey` (a block of
 * `additionalMetrics` with the same rows: a co-primary reading of the same runs): null without both rows'
 * results or with a gain ≤ 0.
 */
export function gainOverFloor(input: TableReportInput, metricKey = input.metric.key): GainOverFloor | null {
  if (input.floorRow === undefined) return null;
  const block = metricKey === input.metric.key
    ? { metric: input.metric, rows: input.rows }
    : input.additionalMetrics?.find((b) => b.metric.key === metricKey);
  if (!block) return null;
  const rows = deriveRows({ metric: block.metric, rows: block.rows, baseline: input.baseline });
  const floor = rows.find((r) => r.key === input.floorRow);
  if (!floor) {
    if (metricKey !== input.metric.key) return null;
    throw new RangeError(`unknown floor row ${input.floorRow}`);
  }
  const base = input.baseline ? rows.find((r) => r.key === input.baseline) : undefined;
  if (!base || base.mean === null || floor.mean === null) return null;
  const gain = base.mean - floor.mean;
  if (!(gain > 0)) return null;
  return {
    baseline: base.key,
    floor: floor.key,
    baselineLabel: base.label,
    floorLabel: floor.label,
    baselineMean: base.mean,
    floorMean: floor.mean,
    gain,
  };
}

/** A "greater" claim's Δ on the main metric as a share of the baseline's gain over the floor (else null). */
export function shareOfGain(
  v: Pick<Verdict, "kind" | "metric" | "delta">,
  gain: GainOverFloor | null,
  metricKey: string,
): number | null {
  if (!gain || v.kind !== "greater" || v.metric !== metricKey || !Number.isFinite(v.delta)) return null;
  return v.delta / gain.gain;
}

/** The paper's number of a table id ("table4" → 4); null for the suite's own tables ("teachers"). */
export function tableNumber(id: string | undefined): number | null {
  const n = /^table(\d+)$/.exec(id ?? "")?.[1];
  return n === undefined ? null : Number(n);
}

/** A report's table id as a reader names it: "table4" → "Table 4"; the suite's own tables keep their id. */
export function tableLabel(id: string | undefined): string {
  const n = tableNumber(id);
  return id === undefined ? "?" : n === null ? id : `Table ${n}`;
}

/**
 * The commit and day a report's header names — "abc1234 (2026-11-30)" as `label` — the form in which carried
 * and copied runs name the report that recorded them (`runs[].carriedFrom`).
 */
export function recordedBy(header: unknown): { commit: string; date: string; label: string } {
  const h = typeof header === "object" && header !== null ? header as Record<string, unknown> : {};
  const commit = String(h.commit ?? "unknown").split(" ")[0];
  const date = String(h.date ?? "unknown").slice(0, 10);
  return { commit, date, label: `${commit} (${date})` };
}
