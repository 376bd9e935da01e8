/**
 * Per-table reproduction reports: a Markdown page for people and a JSON object for tools, written side by
 * side. Each row shows the paper's value, our mean ± sample std over seeds, and the deltas to the baseline
 * row for the paper and for us; the claims' verdicts follow with their rules.
 * @module
 */
import { scaleReading } from "./scale_reading.ts";
import { join } from "node:path";
import { atomicWriteFiles } from "../fsutil.ts";
import {
  blocksOf,
  countOutcomes,
  countsText,
  deriveRows,
  gainOverFloor,
  type MetricBlock,
  type RenderedRow,
  SCALE_STATEMENT,
  shareOfGain,
  type TableReportInput,
} from "./report_model.ts";
import { tableReportJson, type VerdictJson } from "./report_json.ts";
import { SEEDS_FOR_POWER_MAX } from "./stats.ts";
import { onRowsNotRun, OUTCOMES, type Verdict } from "./verdict.ts";
export * from "./report_model.ts";
export * from "./report_json.ts";

/** Text safe inside a markdown table cell (pipes escaped, one line). */
export const escapeCell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

function formatNumber(x: number | null, digits: number): string {
  return x === null ? "—" : x.toFixed(digits);
}

/** A signed difference: "+1.20", "−0.35", and a plain "0.00" where it rounds to zero (never "−0" or "±0"). */
export function formatDelta(x: number | null, digits: number): string {
  if (x === null || !Number.isFinite(x)) return "—";
  const text = Math.abs(x).toFixed(digits);
  return Number(text) === 0 ? text : `${x > 0 ? "+" : "−"}${text}`;
}

function formatPerSeed(row: RenderedRow, digits: number): string {
  if (row.n === 0) return "—";
  return row.perSeed.map((v, i) => (row.seeds ? `s${row.seeds[i]}: ` : "") + v.toFixed(digits)).join(", ");
}

const seedsText = (n: number | string | null | undefined): string =>
  n === null || n === undefined
    ? "—"
    : typeof n === "string"
    ? n
    : Number.isFinite(n)
    ? String(n)
    : `> ${SEEDS_FOR_POWER_MAX}`;

/**
 * Seeds per row for 80 % power on the paper's effect: "—", a count, or "> 1000", and in brackets the same at
 * the ends of the spread's 95 % interval where known: "6 (3 to > 1000)". Reads verdicts and their JSON.
 */
export function formatSeedsNeeded(v: Pick<VerdictJson, "seedsNeeded" | "seedsNeededRange">): string {
  if (v.seedsNeeded === null || v.seedsNeeded === undefined) return "—";
  const point = seedsText(v.seedsNeeded);
  const r = v.seedsNeededRange ? v.seedsNeededRange.map(seedsText) : null;
  // A range that says no more than the point ("> 1000" at both ends) is left out.
  return point + (r && !(r[0] === point && r[1] === point) ? ` (${r[0]} to ${r[1]})` : "");
}

/** The verdict's outcome, with the paper-Δ label of a reproduced one: "reproduced, smaller than the paper's". */
export function formatOutcome(v: Pick<Verdict, "outcome" | "vsPaper">): string {
  return v.outcome === "reproduced" && v.vsPaper ? `${v.outcome}, ${v.vsPaper} than the paper's` : v.outcome;
}

/** A share as a whole percent with a true minus: "22 %", "−6 %". */
export function formatShare(share: number | null): string {
  if (share === null || !Number.isFinite(share)) return "—";
  const text = Math.abs(share * 100).toFixed(0);
  return `${share < 0 && Number(text) !== 0 ? "−" : ""}${text} %`;
}

function testLabel(v: Verdict): string {
  return v.method === "paired"
    ? `paired, ${v.n}`
    : v.method === "welch"
    ? `Welch, ${v.n}`
    : v.method === "exact"
    ? "exact"
    : v.n;
}

function formatOurs(row: RenderedRow, digits: number): string {
  if (row.mean === null) return "not run";
  const spread = row.std === null ? "" : ` ± ${row.std.toFixed(digits)}`;
  return `${row.mean.toFixed(digits)}${spread} (n=${row.n})`;
}

/** Formats seconds as "1h 02m 03s" / "4m 05s" / "12.3s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "—";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, "0");
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}h ${mm}m ${ss}s` : `${mm}m ${ss}s`;
}

/**
 * A row's name without the reason a row that did not run carries in its label ("MAE — not run: left out by
 * --rows …" → "MAE"): the Δ columns' heading names the baseline, not why it is missing.
 */
export function rowName(label: string): string {
  return label.split(" — not run: ")[0];
}

function renderBlock(block: MetricBlock, lines: string[]): void {
  const digits = block.metric.digits ?? 2;
  const rows = deriveRows(block);
  const unit = block.metric.unit ? ` (${block.metric.unit})` : "";
  lines.push(`## ${block.metric.label}${unit}`, "");
  const perRowBaselines = rows.some((r) => r.baseline !== (block.baseline ?? null));
  const against = block.baseline && !perRowBaselines
    ? ` vs ${rowName(rows.find((r) => r.key === block.baseline)?.label ?? block.baseline)}`
    : "";
  const anyRun = rows.some((r) => r.n > 0);
  lines.push(
    `| Row | Paper | Ours: mean ± std (n) | Δ paper${escapeCell(against)} | Δ ours${escapeCell(against)} |` +
      (anyRun ? " Per seed |" : ""),
    "| --- | ---: | ---: | ---: | ---: |" + (anyRun ? " --- |" : ""),
  );
  for (const row of rows) {
    const label = escapeCell(row.label) + (row.isBaseline ? " *(baseline)*" : "");
    lines.push(
      `| ${label} | ${formatNumber(row.paper, digits)} | ${formatOurs(row, digits)} | ` +
        `${formatDelta(row.paperDelta, digits)} | ${formatDelta(row.oursDelta, digits)} |` +
        (anyRun ? ` ${formatPerSeed(row, digits)} |` : ""),
    );
  }
  if (perRowBaselines) lines.push("", "Deltas are taken against the baseline row of each group.");
  lines.push("");
}

/** Renders the report as Markdown. */
export function renderTableReport(input: TableReportInput): string {
  const h = input.header;
  const lines: string[] = [`# ${h.title}`, "", `> ${SCALE_STATEMENT}`, ""];
  const facts: Array<[string, string]> = [
    ["Paper table", h.tableId ?? "—"],
    ["Profile", h.profile],
    ["Dataset", h.dataset],
    ["Resolution", String(h.resolution)],
    ["Model", h.model],
    ["Epochs", String(h.epochs)],
    ["Backend", h.backend],
    ["Seeds", h.seeds.length > 0 ? `${h.seeds.join(", ")} (${h.seeds.length})` : "—"],
    ["Commit", h.commit],
    ["Date", h.date],
    ["Compute time", `${formatDuration(h.wallTimeSeconds)} (the runs' own training time, summed)`],
    ...(h.invocationSeconds === undefined ? [] : [
      ["This invocation", `${formatDuration(h.invocationSeconds)} (cached runs cost nothing)`] as [
        string,
        string,
      ],
    ]),
    ["Cache hits", `${h.cacheHits.hits} of ${h.cacheHits.total} runs`],
  ];
  lines.push("| Setting | Value |", "| --- | --- |");
  for (const [k, v] of facts) lines.push(`| ${k} | ${escapeCell(v)} |`);
  lines.push("");
  if (h.command) lines.push("Reproduce with:", "", "```sh", h.command, "```", "");

  for (const block of blocksOf(input)) renderBlock(block, lines);

  lines.push("## Verdicts", "");
  if (input.verdicts.length === 0) lines.push("No claims were tested.", "");
  else {
    const counts = countOutcomes(input.verdicts);
    // A claim on rows that did not run (no results: n "0") is said so; Holm's family is the claims that had a
    // test (a finite p-value), as in holmAdjust — not those without results or with fewer than two seeds.
    const notRun = input.verdicts.filter(onRowsNotRun).length;
    const holm = input.verdicts.filter((v) => v.holm && v.method !== "exact" && Number.isFinite(v.pValue));
    const holmCounts = countOutcomes(holm.map((v) => ({ outcome: v.holm!.outcome })));
    // The paper-Δ outcomes are counted only in tables that have them (before or after Holm).
    const shown = OUTCOMES.filter((o) =>
      ["reproduced", "not reproduced", "inconclusive"].includes(o) || counts[o] > 0 || holmCounts[o] > 0
    );
    const gain = gainOverFloor(input);
    lines.push(
      `${countsText(counts, shown)} (of ${input.verdicts.length}` +
        (notRun ? `; ${notRun} of them on rows that did not run` : "") + ")." +
        (holm.length > 1
          ? ` With Holm's correction over the ${holm.length} seed-dependent claims: ` +
            `${countsText(holmCounts, shown)}.`
          : ""),
      "",
      "| Claim | Verdict | Holm | Δ ours | 95% CI | test | MDE (80 % power) | Δ paper |" +
        (gain ? " % of baseline's gain over floor |" : "") +
        " seeds for 80 % power if paper Δ holds here | Details |",
      "| --- | --- | --- | ---: | --- | --- | ---: | ---: |" + (gain ? " ---: |" : "") + " ---: | --- |",
    );
    for (const v of input.verdicts) {
      const ci = v.ci
        ? `[${formatDelta(v.ci[0], 3)}, ${formatDelta(v.ci[1], 3)}]` +
          (v.bonferroni ? ` (${Number((v.bonferroni.level * 100).toFixed(2))} %, Bonferroni)` : "")
        : "—";
      const delta = Number.isFinite(v.delta) ? formatDelta(v.delta, 3) : "—";
      const mde = Number.isFinite(v.mde) && v.method !== "exact" ? v.mde.toFixed(3) : "—";
      const holmCell = v.holm && v.method !== "exact" ? v.holm.outcome : "—";
      const share = gain ? ` ${formatShare(shareOfGain(v, gainOverFloor(input, v.metric), v.metric))} |` : "";
      lines.push(
        `| ${escapeCell(v.text)} (\`${v.claimId}\`) | **${
          formatOutcome(v)
        }** | ${holmCell} | ${delta} | ${ci} | ` +
          `${escapeCell(testLabel(v))} | ${mde} | ${formatDelta(v.paperEffect, 2)} |${share} ` +
          `${formatSeedsNeeded(v)} | ${escapeCell(v.detail)}${
            v.bootstrap
              ? `; seed × image bootstrap ${Math.round(v.bootstrap.level * 100)} % [${
                formatDelta(v.bootstrap.ci[0], 3)
              }, ${
                formatDelta(v.bootstrap.ci[1], 3)
              }] (${v.bootstrap.pairs} seeds × ${v.bootstrap.images} images)`
              : ""
          } |`,
      );
    }
    lines.push(
      "",
      "MDE (80 % power): (t₀.₉₇₅ + t₀.₈) × the standard error of Δ ours, with the test's degrees of freedom — " +
        "a true difference this large would give a 95 % interval that excludes 0 in about 80 % of repeated " +
        "experiments with these seeds, if the spread measured here were the true one (with few seeds it is " +
        "itself uncertain); smaller true differences will mostly come out inconclusive. The interval's " +
        "half-width (t₀.₉₇₅ × the standard error) is the 95 % CI column's distance from Δ ours " +
        "(`halfWidth` in the JSON). " +
        "Seeds for 80 % power if paper Δ holds here: seeds per row that would detect the paper's own difference " +
        "(its points, taken at face value) 80 % of the time if it held at this scale, at the spread measured " +
        "here, shown for inconclusive verdicts — a point estimate from a spread with few degrees of freedom; " +
        "in brackets, the same at the two ends of the spread's 95 % interval (chi-square), which is wide with " +
        "few seeds. " +
        "Smaller than the paper's: the 95 % interval of Δ ours contains 0 but lies wholly below the paper's " +
        "Δ — a difference as large as the paper's is not supported at this scale, and none at all is not " +
        "ruled out (larger than the paper's: wholly above it); \"reproduced, smaller than the paper's\": the " +
        "interval lies above 0 and wholly below the paper's Δ. " +
        "Holm: the verdict after Holm's correction for testing several claims of this table at once " +
        "(family-wise error 5 %; for smaller/larger than the paper's, of the test against the paper's Δ)." +
        (input.verdicts.some((v) => v.bootstrap)
          ? " The verdicts use the paired t interval over seeds (95% CI). A second interval, a bootstrap over " +
            "the paired seeds and the validation images (seed × image; it adds the uncertainty of one finite " +
            "validation set), is given in Details and as `bootstrap` in the JSON where every compared run " +
            "recorded which images it classified correctly."
          : " The verdicts use the paired t interval over seeds (95% CI), which treats the validation set as " +
            "fixed; these runs did not record per-image predictions, so no image-level (seed × image) " +
            "bootstrap interval is given (runs that record them get one).") +
        (input.verdicts.some((v) => v.kind === "best-in-group")
          ? ' Best-in-group: a row beating the claimed one decides "not reproduced" only with Bonferroni ' +
            "over the group's k − 1 comparisons (its interval at 1 − 0.05/(k − 1))."
          : "") +
        (gain
          ? ` % of baseline's gain over floor: Δ ours as a share of ${gain.baselineLabel}'s gain over ` +
            `${gain.floorLabel} (${gain.baselineMean.toFixed(2)} − ${gain.floorMean.toFixed(2)} = ` +
            `${gain.gain.toFixed(2)}), for claims of the form a > b on this metric` +
            (input.verdicts.some((v) => v.metric !== input.metric.key)
              ? "; for claims on a further metric, as a share of the same gain measured on that metric."
              : ".")
          : ""),
    );
    lines.push("", "Rules:", "");
    for (const v of input.verdicts) lines.push(`- \`${v.claimId}\`: ${v.rule}`);
    lines.push("");
    const reading = scaleReading(input.verdicts, { gain: gainOverFloor(input), metricKey: input.metric.key });
    if (reading) lines.push("## What this table says at this scale", "", reading, "");
  }

  lines.push("## Deviations from the paper", "");
  if (input.deviations.length === 0) lines.push("None recorded.");
  for (const d of input.deviations) lines.push(`- ${d}`);
  lines.push("");
  if (input.notes.length > 0) {
    lines.push("## Notes", "");
    for (const n of input.notes) lines.push(`- ${n}`);
    lines.push("");
  }
  if (input.figures && input.figures.length > 0) {
    lines.push("## Figures", "");
    for (const f of input.figures) lines.push(`![${f.title}](${f.path})`, "");
  }
  return lines.join("\n");
}

/**
 * Writes `<dir>/<name>.md` and `<dir>/<name>.json` atomically (both temporaries first, then both renames).
 * Creates `dir` if needed. Returns the two paths.
 */
export async function writeReport(
  dir: string,
  name: string,
  input: TableReportInput,
): Promise<{ markdown: string; json: string }> {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith(".")) {
    throw new RangeError(`report name must be a plain file name, got "${name}"`);
  }
  // Render both before touching the disk, so a rendering error writes nothing.
  const markdownText = renderTableReport(input);
  const jsonText = JSON.stringify(tableReportJson(input), null, 2) + "\n";
  await Deno.mkdir(dir, { recursive: true });
  const markdown = join(dir, `${name}.md`);
  const json = join(dir, `${name}.json`);
  await atomicWriteFiles([{ path: markdown, content: markdownText }, { path: json, content: jsonText }]);
  return { markdown, json };
}
