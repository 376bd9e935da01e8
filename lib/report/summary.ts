/**
 * One line per claim across a profile's committed reports — the results table on the project's front page —
 * built from the reports' JSON, so it always says what the reports say.
 * @module
 */
import { escapeCell, formatDelta, formatOutcome, formatSeedsNeeded, type VerdictJson } from "./markdown.ts";
import { tableLabel, tableNumber } from "./report_model.ts";
import { onRowsNotRun } from "./verdict.ts";

/** The parts of a table report's JSON the summary reads (schema @1 or @2; @1 lacks `vsPaper`, the range). */
export interface ReportJson {
  header: { tableId?: string; title: string; dataset: string; seeds: readonly number[]; command?: string };
  verdicts: (Omit<VerdictJson, "vsPaper"> & { vsPaper?: VerdictJson["vsPaper"] })[];
}

/** Markers between which {@linkcode replaceBetweenMarkers} writes the table. */
export const RESULTS_MARKERS = ["<!-- results:start -->", "<!-- results:end -->"] as const;

/**
 * A markdown table: for each claim of each report (in the order given), the paper's difference, ours with its
 * paired 95 % interval, the verdict (and Holm's, where it differs), the seeds behind it and, when
 * inconclusive, the seeds per row for 80 % power if the paper's difference held at this scale (a point
 * estimate, and in brackets its range over the spread's 95 % interval where the report has it). A claim whose
 * rows did not run is listed as "not run", and a line under the table counts them per table.
 */
export function resultsSummary(
  reports: readonly { file: string; report: ReportJson }[],
  options: {
    /**
     * Tables of the paper with no report on this profile yet: one line each (its claims, the command that
     * writes it), so that the summary shows every table, and a count under it.
     */
    missing?: readonly MissingTable[];
  } = {},
): string {
  const lines = [
    "| table | claim | paper Δ | ours Δ (95 % CI) | verdict | seeds | seeds for 80 % power if paper Δ holds here |",
    "| ----- | ----- | ------: | ---------------- | ------- | ----: | ----------------------------------------: |",
  ];
  let claims = 0;
  const notRun: string[] = [];
  const missing = options.missing ?? [];
  for (const item of withMissingTables(reports, missing)) {
    if ("missing" in item) {
      const m = item.missing;
      lines.push(
        `| ${tableLabel(m.id)} | no report on this profile yet: its ${m.claims} claim${
          m.claims === 1 ? "" : "s"
        } not judged (\`${escapeCell(m.command)}\`) | — | — | **not run** | 0 | — |`,
      );
      continue;
    }
    const { file, report } = item;
    const label = `[${tableLabel(report.header.tableId)}](${file})`;
    for (const v of report.verdicts) {
      claims++;
      if (onRowsNotRun(v)) {
        // A claim whose rows did not run is listed as such, never dropped (and never "not reproduced").
        notRun.push(tableLabel(report.header.tableId));
        lines.push(
          `| ${label} | ${escapeCell(v.text)} | ${formatDelta(v.paperEffect, 2)} | — | **not run** | 0 | — |`,
        );
        continue;
      }
      const ours = Number.isFinite(v.delta)
        ? `${formatDelta(v.delta, 2)}` +
          (v.ci ? ` [${formatDelta(v.ci[0], 2)}, ${formatDelta(v.ci[1], 2)}]` : "")
        : "—";
      const holm = v.holm && v.holm.outcome !== v.outcome && v.method !== "exact"
        ? ` (Holm: ${v.holm.outcome})`
        : "";
      const needed = v.outcome === "inconclusive" ? formatSeedsNeeded(v) : "—";
      lines.push(
        `| ${label} | ${escapeCell(v.text)} | ${formatDelta(v.paperEffect, 2)} | ${ours} | ` +
          `**${formatOutcome({ outcome: v.outcome, vsPaper: v.vsPaper ?? null })}**${holm} | ` +
          `${seedsBehind(v, report.header.seeds.length)} | ${needed} |`,
      );
    }
  }
  const counts: string[] = [];
  if (notRun.length > 0) {
    const byTable = [...new Set(notRun)].map((t) => `${t} ${notRun.filter((x) => x === t).length}`);
    counts.push(
      `${claims - notRun.length} of ${claims} claims judged; ${notRun.length} not run (their rows did not ` +
        `run: ${byTable.join(", ")}).`,
    );
  }
  if (missing.length > 0) {
    const n = missing.reduce((a, m) => a + m.claims, 0);
    counts.push(
      `No report yet for ${missing.map((m) => tableLabel(m.id)).join(", ")} (${n} claims of the paper not ` +
        "counted above).",
    );
  }
  if (counts.length > 0) lines.push("", counts.join(" "));
  return lines.join("\n");
}

/** A table of the paper with no report on the summarised profile. */
export interface MissingTable {
  /** Its id ("table2"). */
  id: string;
  /** How many claims of the paper its report would judge at this profile (not those it cannot measure). */
  claims: number;
  /** The command that writes its report. */
  command: string;
  /** The command that gives its cost on this profile (`deno task plan table3 --profile cpu`). */
  plan?: string;
}

/**
 * The reports in the order given, each table with no report placed where its number puts it among them (the
 * suite's own, unnumbered tables come last): the order of the results and status tables.
 */
export function withMissingTables<R extends { report: { header: { tableId?: string } } }>(
  reports: readonly R[],
  missing: readonly MissingTable[],
): (R | { missing: MissingTable })[] {
  const order = (id: string | undefined) => tableNumber(id) ?? Infinity;
  const pending = [...missing].sort((a, b) => order(a.id) - order(b.id));
  const out: (R | { missing: MissingTable })[] = [];
  for (const r of reports) {
    while (pending.length > 0 && order(pending[0].id) < order(r.report.header.tableId)) {
      out.push({ missing: pending.shift()! });
    }
    out.push(r);
  }
  return [...out, ...pending.map((m) => ({ missing: m }))];
}

/**
 * The seeds behind a verdict, as its test counted them: the pairs of a paired interval ("3 pairs" → 3, even
 * where the report ran more seeds on other rows), a/b for Welch's ("5/3 seeds"), "—" for an exact comparison;
 * the report's seed count where the verdict does not say.
 */
export function seedsBehind(v: { n: string; method: string }, reportSeeds: number): string {
  if (v.method === "exact") return "—";
  const paired = /^(\d+) pairs/.exec(v.n);
  if (paired) return paired[1];
  const welch = /^(\d+)\/(\d+) seeds/.exec(v.n);
  if (welch) return welch[1] === welch[2] ? welch[1] : `${welch[1]}/${welch[2]}`;
  return String(reportSeeds);
}

/** `text` with what lies between the two markers replaced by `inner`; throws when the markers are missing. */
export function replaceBetweenMarkers(
  text: string,
  inner: string,
  markers: readonly [string, string] = RESULTS_MARKERS,
): string {
  const start = text.indexOf(markers[0]);
  const end = text.indexOf(markers[1], start + 1);
  if (start < 0 || end < 0) throw new Error(`markers ${markers[0]} … ${markers[1]} not found`);
  // Blank lines around the table: it renders after an HTML comment, and deno fmt keeps it as written.
  return `${text.slice(0, start + markers[0].length)}\n\n${inner}\n\n${text.slice(end)}`;
}
