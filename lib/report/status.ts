/**
 * One line per table of a profile — what ran, on which engine, at what cost, what the claims came to and what
 * is left — written from the reports' JSON into reports/README.md, so the status page never says something
 * the reports do not (it used to be typed by hand and went stale with each partial run).
 * @module
 */
import { escapeCell, formatDuration, formatOutcome } from "./markdown.ts";
import { tableLabel, tableNumber } from "./report_model.ts";
import type { MissingTable, ReportJson } from "./summary.ts";
import { onRowsNotRun } from "./verdict.ts";

/** Markers between which the status table is written. */
export const STATUS_MARKERS = ["<!-- status:start -->", "<!-- status:end -->"] as const;

/** The parts of a table report's JSON the status line reads, beyond the summary's. */
export interface StatusReportJson extends ReportJson {
  header: ReportJson["header"] & {
    /** The engines: this invocation's, and the runs' where they differ (the header's Backend line). */
    backend?: string;
    /** The runs' own training time, summed. */
    wallTimeSeconds?: number;
  };
  /** The first block is the main metric; its rows say which ran (per-seed values) and which did not. */
  metrics: {
    metric?: { label?: string };
    rows: { key: string; label: string; perSeed: readonly number[] }[];
  }[];
  notes?: readonly string[];
}

/** A row's state in its report: run (with how many seeds), not implemented in this suite, or not run. */
function rowState(r: { label: string; perSeed: readonly number[] }): "run" | "not implemented" | "not run" {
  if (r.perSeed.length > 0) return "run";
  return /not implemented/.test(r.label) ? "not implemented" : "not run";
}

/** A metric the report states it cannot measure (Table 2's COCO detection): not something left to run. */
const unmeasured = (b: StatusReportJson["metrics"][number]) => / — not run: /.test(b.metric?.label ?? "");

/** The row's name without the reason its label gives for not running ("SemMAE — not run: …" → "SemMAE"). */
const rowName = (label: string) => label.replace(/ — not run.*$/, "");

/**
 * The cost of the rows a partial report left out, as its note gave it (`plan`'s estimate at the time), when
 * the rows the note names are still the ones not run (a row added since, e.g. by `results --add-row`, makes
 * the note's cost stale: then none is given).
 */
function leftOutCost(notes: readonly string[], notRun: readonly string[]): string | null {
  const note = notes.find((n) => n.startsWith("Partial report:"));
  if (!note) return null;
  const m = /; ([^;]+?) did not run \((?:[^;)]*); (≈ [^)]+? of compute) to run them/.exec(note);
  if (!m) return null;
  const named = m[1].split(", ").map((s) => s.trim()).sort();
  return named.join() === [...notRun].sort().join() ? m[2] : null;
}

const OUTCOME_ORDER = [
  "reproduced",
  "not reproduced",
  "smaller than the paper's",
  "larger than the paper's",
  "inconclusive",
  "not run",
];

/** The claims' outcomes, counted: "2 reproduced, 3 inconclusive, 1 not run (of 6)". */
function claimCounts(verdicts: StatusReportJson["verdicts"]): string {
  if (verdicts.length === 0) return "none";
  const counts = new Map<string, number>();
  for (const v of verdicts) {
    const key = onRowsNotRun(v)
      ? "not run"
      : formatOutcome({ outcome: v.outcome, vsPaper: v.vsPaper ?? null });
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // A fixed order, so that lines read alike: what holds first, what is not judged last.
  const rank = (k: string) => {
    const i = OUTCOME_ORDER.findIndex((o) => k.startsWith(o));
    return i < 0 ? OUTCOME_ORDER.length : i;
  };
  const sorted = [...counts].sort((a, b) => rank(a[0]) - rank(b[0]));
  return `${sorted.map(([k, n]) => `${n} ${k}`).join(", ")} (of ${verdicts.length})`;
}

/**
 * The status table: one line per report (in the order given) and per paper table with no report yet (where
 * its number puts it): its seeds, the rows that ran (and those not implemented or not run), the claims'
 * outcomes, the engines, the runs' compute time, and what is still to run with its cost where the report
 * recorded one.
 */
export function statusTable(
  reports: readonly { file: string; report: StatusReportJson }[],
  options: { missing?: readonly MissingTable[] } = {},
): string {
  const lines = [
    "| table | seeds | rows run | claims | engines | compute (runs, summed) | still to run |",
    "| ----- | ----: | -------- | ------ | ------- | ---------------------: | ------------ |",
  ];
  const order = (id: string | undefined) => tableNumber(id) ?? Infinity;
  const pending = [...(options.missing ?? [])].sort((a, b) => order(a.id) - order(b.id));
  const missingLine = (m: MissingTable) =>
    `| ${tableLabel(m.id)} | — | no report on this profile yet | ${m.claims} not judged | — | — | ` +
    `every row: \`${escapeCell(m.command)}\` (\`deno task plan ${m.id}\` gives its cost) |`;
  for (const { file, report } of reports) {
    while (pending.length > 0 && order(pending[0].id) < order(report.header.tableId)) {
      lines.push(missingLine(pending.shift()!));
    }
    const h = report.header;
    // Read defensively: `results` checks a report's header and verdicts only (an older or hand-edited
    // report may lack a block or a row's values; those read as not run).
    const metrics = (Array.isArray(report.metrics) ? report.metrics : []).map((b) => ({
      metric: b?.metric,
      rows: (Array.isArray(b?.rows) ? b.rows : []).map((r) => ({
        key: String(r?.key),
        label: String(r?.label ?? r?.key),
        perSeed: Array.isArray(r?.perSeed) ? r.perSeed : [],
      })),
    }));
    const rows = metrics[0]?.rows ?? [];
    const ran = rows.filter((r) => rowState(r) === "run");
    const missingImpl = rows.filter((r) => rowState(r) === "not implemented");
    const notRun = rows.filter((r) => rowState(r) === "not run");
    const fewerSeeds = ran.filter((r) => r.perSeed.length < h.seeds.length);
    const rowsCell = [
      `${ran.length} of ${rows.length}`,
      ...(fewerSeeds.length > 0
        ? [`fewer seeds: ${fewerSeeds.map((r) => `${rowName(r.label)} (${r.perSeed.length})`).join(", ")}`]
        : []),
      ...(missingImpl.length > 0
        ? [`not implemented: ${missingImpl.map((r) => rowName(r.label)).join(", ")}`]
        : []),
      ...(metrics.some(unmeasured)
        ? [
          `not measurable here: ${
            metrics.filter(unmeasured).map((b) => rowName(b.metric!.label!)).join(", ")
          }`,
        ]
        : []),
    ].join("; ");
    const cost = leftOutCost(Array.isArray(report.notes) ? report.notes : [], notRun.map((r) => r.key));
    // Side metrics (k-NN, linear probe beside a fine-tuning table) of rows whose main metric ran.
    const sides = metrics.slice(1).filter((b) => !unmeasured(b)).flatMap((b) => {
      const missing = b.rows.filter((r) => rowState(r) === "not run" && ran.some((m) => m.key === r.key));
      return missing.length === 0
        ? []
        : [`${b.metric?.label ?? "a side metric"} of ${missing.map((r) => `\`${r.key}\``).join(", ")}`];
    });
    const still = [
      ...(notRun.length === 0 ? [] : [
        `${notRun.map((r) => `\`${r.key}\``).join(", ")}${cost ? ` (${cost}, \`plan\`'s estimate)` : ""}`,
      ]),
      ...sides,
    ].join("; ") || "—";
    lines.push(
      `| [${tableLabel(h.tableId)}](${file}) | ${h.seeds.length} | ${escapeCell(rowsCell)} | ` +
        `${claimCounts(report.verdicts)} | ${escapeCell(h.backend ?? "—")} | ` +
        `${typeof h.wallTimeSeconds === "number" ? formatDuration(h.wallTimeSeconds) : "—"} | ${
          escapeCell(still)
        } |`,
    );
  }
  for (const m of pending) lines.push(missingLine(m));
  return lines.join("\n");
}
