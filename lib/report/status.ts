/**
 * One line per table of a profile — what ran, on which engine, at what cost, what the claims came to and what
 * is left — written from the reports' JSON into reports/README.md, so the status page never says something
 * the reports do not (it used to be typed by hand and went stale with each partial run).
 * @module
 */
import { escapeCell, formatDuration, rowName } from "./markdown.ts";
import { countOutcomes, countsText, tableLabel } from "./report_model.ts";
import { type MissingTable, type ReportJson, withMissingTables } from "./summary.ts";
import { onRowsNotRun } from "./verdict.ts";
import { type Outcome, OUTCOMES } from "./verdict_types.ts";

/** Markers between which the status table is written. */
export const STATUS_MARKERS = ["<!-- status:start -->", "<!-- status:end -->"] as const;

/** The parts of a table report's JSON the status line reads, beyond the summary's. */
export interface StatusReportJson extends ReportJson {
  header: ReportJson["header"] & {
    /** The engines: this invocation's, and the runs' where they differ (the header's Backend line). */
    backend?: string;
    /** This report's own runs' training time, summed (carried and copied rows count none). */
    wallTimeSeconds?: number;
  };
  /** The first block is the main metric; its rows say which ran (per-seed values) and which did not. */
  metrics: {
    metric?: { label?: string };
    rows: { key: string; label: string; perSeed: readonly (number | null)[] }[];
  }[];
  notes?: readonly string[];
  /** The runs behind the rows; `carriedFrom` marks one carried from an earlier report by a `--rows` call. */
  runs?: readonly { row?: string; carriedFrom?: string }[];
}

type Row = StatusReportJson["metrics"][number]["rows"][number];

/**
 * A row's state in its report: run (some seed has a value), not implemented in this suite, not run for a
 * reason of its own (no data for it on this profile), or still to run (left out by `--rows`, or failed).
 */
function rowState(r: Row): "run" | "not implemented" | "not run here" | "to run" {
  if (r.perSeed.some((x) => typeof x === "number" && Number.isFinite(x))) return "run";
  if (/not implemented/.test(r.label)) return "not implemented";
  const reason = r.label.split(" — not run: ")[1];
  return reason !== undefined && !reason.startsWith("left out by --rows") ? "not run here" : "to run";
}

/** A metric the report states it cannot measure (Table 2's COCO detection): not something left to run. */
const unmeasured = (b: StatusReportJson["metrics"][number]) => / — not run: /.test(b.metric?.label ?? "");

/**
 * The cost of the rows a partial report left out, as its note gave it (`plan`'s estimate at the time), when
 * the rows the note names are still the ones to run (a row added since, e.g. by `results --add-row`, makes
 * the note's cost stale: then none is given).
 */
function leftOutCost(notes: readonly string[], toRun: readonly string[]): string | null {
  const note = notes.find((n) => n.startsWith("Partial report:"));
  if (!note) return null;
  const m = /; ([^;]+?) did not run \((?:[^;)]*); (≈ [^)]+? of compute) to run them/.exec(note);
  if (!m) return null;
  const named = m[1].split(", ").map((s) => s.trim()).sort();
  return named.join() === [...toRun].sort().join() ? m[2] : null;
}

/**
 * The claims' outcomes, counted as the report counts them ("2 reproduced, 3 inconclusive, 1 not run (of 6)"),
 * and after Holm's correction where it changes any ("; after Holm: 1 reproduced, 4 inconclusive").
 */
function claimCounts(verdicts: StatusReportJson["verdicts"]): string {
  if (verdicts.length === 0) return "none";
  const judged = verdicts.filter((v) => !onRowsNotRun(v));
  const notRun = verdicts.length - judged.length;
  const text = (outcomes: readonly Outcome[]) => {
    const counts = countOutcomes(outcomes.map((outcome) => ({ outcome })));
    return [
      countsText(counts, OUTCOMES.filter((o) => counts[o] > 0)),
      ...(notRun > 0 ? [`${notRun} not run`] : []),
    ].filter((s) => s !== "").join(", ");
  };
  // Holm's family: the claims with a test (as the report's own count after Holm).
  const afterHolm = judged.map((v) =>
    v.holm && v.method !== "exact" && Number.isFinite(v.pValue) ? v.holm.outcome : v.outcome
  );
  const changed = afterHolm.some((o, i) => o !== judged[i].outcome);
  return `${text(judged.map((v) => v.outcome))} (of ${verdicts.length})` +
    (changed ? `; after Holm: ${text(afterHolm)}` : "");
}

/** The rows a report copied from another (`results --rejudge --add-row`), from its notes: key and source. */
function copiedRows(notes: readonly string[]): { key: string; from: string }[] {
  return notes.flatMap((n) => {
    const m = /^Row '([^']+)' \(seeds [^)]*\) copied from (\S+?)(?: \(its row '[^']+'\))?:/.exec(n);
    return m ? [{ key: m[1], from: m[2] }] : [];
  });
}

/**
 * The status table: one line per report (in the order given) and per paper table with no report yet (where
 * its number puts it): its seeds, the rows that ran (and those with fewer seeds, not implemented or not
 * runnable here), the claims' outcomes (and after Holm), the engines, the report's own runs' compute (and
 * what it does not count: carried runs, copied rows), and what is still to run, with its cost where the
 * report recorded one, and side metrics of rows that ran without them.
 */
export function statusTable(
  reports: readonly { file: string; report: StatusReportJson }[],
  options: { missing?: readonly MissingTable[] } = {},
): string {
  const lines = [
    "| table | seeds | rows run | claims | engines | compute of its own runs (summed) | still to run |",
    "| ----- | ----: | -------- | ------ | ------- | -------------------------------: | ------------ |",
  ];
  for (const item of withMissingTables(reports, options.missing ?? [])) {
    if ("missing" in item) {
      const m = item.missing;
      lines.push(
        `| ${tableLabel(m.id)} | — | no report on this profile yet | ${m.claims} not judged | — | — | ` +
          `every row: \`${escapeCell(m.command)}\`` +
          (m.plan ? ` (\`${escapeCell(m.plan)}\` gives its cost)` : "") + " |",
      );
      continue;
    }
    const { file, report } = item;
    const h = report.header;
    const metrics = report.metrics;
    const rows = metrics[0]?.rows ?? [];
    const state = (want: ReturnType<typeof rowState>) => rows.filter((r) => rowState(r) === want);
    const ran = state("run");
    const finite = (r: Row) => r.perSeed.filter((x) => typeof x === "number" && Number.isFinite(x)).length;
    const fewerSeeds = ran.filter((r) => finite(r) < h.seeds.length);
    const names = (rs: readonly Row[]) => rs.map((r) => rowName(r.label)).join(", ");
    const rowsCell = [
      `${ran.length} of ${rows.length}`,
      ...(fewerSeeds.length > 0
        ? [`fewer seeds: ${fewerSeeds.map((r) => `${rowName(r.label)} (${finite(r)})`).join(", ")}`]
        : []),
      ...(state("not implemented").length > 0 ? [`not implemented: ${names(state("not implemented"))}`] : []),
      ...(state("not run here").length > 0 ? [`not runnable here: ${names(state("not run here"))}`] : []),
      ...(metrics.some(unmeasured)
        ? [
          `not measurable here: ${
            metrics.filter(unmeasured).map((b) => rowName(b.metric!.label!)).join(", ")
          }`,
        ]
        : []),
    ].join("; ");
    const notes = report.notes ?? [];
    const toRun = state("to run");
    const cost = leftOutCost(notes, toRun.map((r) => r.key));
    // Side metrics (k-NN, linear probe beside a fine-tuning table) of rows whose main metric ran.
    const sides = metrics.slice(1).filter((b) => !unmeasured(b)).flatMap((b) => {
      const lacking = b.rows.filter((r) => rowState(r) === "to run" && ran.some((m) => m.key === r.key));
      return lacking.length === 0
        ? []
        : [`${b.metric?.label ?? "a side metric"} of ${lacking.map((r) => `\`${r.key}\``).join(", ")}`];
    });
    const still = [
      ...(toRun.length === 0
        ? []
        : [`${toRun.map((r) => `\`${r.key}\``).join(", ")}${cost ? ` (${cost}, \`plan\`'s estimate)` : ""}`]),
      ...sides,
    ].join("; ") || "—";
    // What the compute does not count: runs a --rows call carried, rows copied from another report (their
    // engines and compute are that report's).
    const copied = copiedRows(notes);
    // (A copied row's runs name their recording commit too: they are counted with the row, not here.)
    const carried = (report.runs ?? []).filter((r) =>
      typeof r.carriedFrom === "string" && !copied.some((c) =>
        c.key === r.row
      )
    ).length;
    const compute = [
      typeof h.wallTimeSeconds === "number" ? formatDuration(h.wallTimeSeconds) : "—",
      ...(carried > 0 ? [`+ ${carried} carried run${carried === 1 ? "" : "s"} not counted`] : []),
      ...copied.map((c) => `+ row ${c.key} copied from ${c.from} (its compute and engines there)`),
    ].join("; ");
    lines.push(
      `| [${tableLabel(h.tableId)}](${file}) | ${h.seeds.length} | ${escapeCell(rowsCell)} | ` +
        `${claimCounts(report.verdicts)} | ${escapeCell(h.backend ?? "—")} | ${escapeCell(compute)} | ` +
        `${escapeCell(still)} |`,
    );
  }
  return lines.join("\n");
}
