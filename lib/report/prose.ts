/**
 * The front page's prose numbers, written from the reports' JSON like the results table: per table, each row's
 * mean with its paired difference to its group's baseline, and — as post-hoc statements, not paper claims —
 * the pairwise differences of each group whose 95 % interval excludes 0, with Holm's correction over every
 * pairwise comparison of that group (the comparisons made). Nothing here is typed by hand, so a number in
 * the prose is always the report's.
 * @module
 */
import { escapeCell, formatDelta } from "./markdown.ts";
import { DISCUSSION_PREFIX, tableLabel } from "./report_model.ts";
import { holmAdjust, mean, pairedDifferenceInterval, twoSidedPValue } from "./stats.ts";

/** Markers between which `results --write` puts the prose (beside the results table's). */
export const PROSE_MARKERS = ["<!-- prose:start -->", "<!-- prose:end -->"] as const;

/** The parts of a report's JSON the prose reads. */
export interface ProseReportJson {
  header: { tableId?: string; seeds: readonly number[] };
  metrics: readonly {
    metric: { key: string; label: string };
    baseline?: string | null;
    rows: readonly {
      key: string;
      label: string;
      perSeed: readonly (number | null)[];
      seeds?: readonly number[] | null;
      baseline?: string | null;
    }[];
  }[];
  floorRow?: string | null;
  /** The report's notes: a discussion note (written from the verdicts) is quoted after the numbers. */
  notes?: readonly string[];
}

/** A paired difference a − b over the seeds both rows have. */
export interface PairedDifference {
  a: string;
  b: string;
  delta: number;
  ci: [number, number];
  /** Two-sided p of the paired t test. */
  p: number;
  pairs: number;
}

type Row = ProseReportJson["metrics"][number]["rows"][number];

/** a − b paired per seed (null with fewer than two common seeds). */
export function pairedDifference(a: Row, b: Row, level = 0.95): PairedDifference | null {
  if (!a.seeds || !b.seeds) return null;
  const vb = new Map(b.seeds.map((s, i) => [s, b.perSeed[i]]));
  const xa: number[] = [];
  const xb: number[] = [];
  a.seeds.forEach((s, i) => {
    const x = a.perSeed[i], y = vb.get(s);
    if (typeof x === "number" && typeof y === "number") {
      xa.push(x);
      xb.push(y);
    }
  });
  if (xa.length < 2) return null;
  const ci = pairedDifferenceInterval(xa, xb, level);
  if (!Number.isFinite(ci.lower)) return null;
  return {
    a: a.key,
    b: b.key,
    delta: ci.estimate,
    ci: [ci.lower, ci.upper],
    p: twoSidedPValue(ci.estimate, ci.standardError, ci.df),
    pairs: xa.length,
  };
}

/** Every pairwise difference of `rows` (in both orders' first: the higher mean minus the lower), Holm-adjusted. */
export function pairwiseHolm(rows: readonly Row[]): (PairedDifference & { holmP: number })[] {
  const m = (r: Row) => mean(r.perSeed.filter((x): x is number => typeof x === "number"));
  const out: PairedDifference[] = [];
  for (let i = 0; i < rows.length; i++) {
    for (let j = i + 1; j < rows.length; j++) {
      const [hi, lo] = m(rows[i]) >= m(rows[j]) ? [rows[i], rows[j]] : [rows[j], rows[i]];
      const d = pairedDifference(lo, hi); // lower minus higher: the post-hoc statements read "X trails Y"
      if (d) out.push(d);
    }
  }
  const adjusted = holmAdjust(out.map((d) => d.p));
  return out.map((d, i) => ({ ...d, holmP: adjusted[i] }));
}

const d2 = (x: number) => formatDelta(x, 2);
const ciText = (c: [number, number]) => `[${d2(c[0])}, ${d2(c[1])}]`;
const pText = (p: number) => (p < 0.001 ? "< 0.001" : p.toFixed(3));

/** One paragraph per report: the rows against their group's baseline, then the post-hoc pairwise findings. */
export function resultsProse(reports: readonly { file: string; report: ProseReportJson }[]): string {
  const paragraphs: string[] = [];
  for (const { file, report } of reports) {
    const block = report.metrics?.[0];
    if (!block) continue;
    const ran = (r: Row) => r.perSeed.filter((x) => typeof x === "number").length >= 2;
    const rows = block.rows;
    const notRun = rows.filter((r) => r.perSeed.length === 0).map((r) => r.key);
    const groups = new Map<string, Row[]>();
    for (const r of rows.filter(ran)) {
      const base = r.baseline ?? block.baseline ?? "";
      groups.set(base, [...(groups.get(base) ?? []), r]);
    }
    const byKey = new Map(rows.map((r) => [r.key, r]));
    const mean2 = (r: Row) => mean(r.perSeed.filter((x): x is number => typeof x === "number")).toFixed(2);
    const parts: string[] = [];
    for (const [baseKey, members] of groups) {
      const base = byKey.get(baseKey);
      if (!base || !ran(base) || members.length < 2) continue;
      const others = members.filter((r) => r.key !== baseKey)
        .sort((x, y) => Number(mean2(y)) - Number(mean2(x)));
      const vsBase = others.map((r) => {
        const d = pairedDifference(r, base);
        return `${escapeCell(r.label)} ${mean2(r)}` + (d ? ` (${d2(d.delta)} ${ciText(d.ci)})` : "");
      });
      parts.push(`Against ${escapeCell(base.label)} (${mean2(base)}): ${vsBase.join(", ")}.`);
      // Post hoc: every pair of the group's pre-trained rows (the floor row, if any, is not compared).
      const family = members.filter((r) => r.key !== report.floorRow);
      const pairs = pairwiseHolm(family);
      if (pairs.length < 2) continue;
      const nominal = pairs.filter((d) => d.ci[1] < 0 || d.ci[0] > 0);
      const label = (k: string) => escapeCell(byKey.get(k)?.label ?? k);
      const survive = nominal.filter((d) => d.holmP < 0.05);
      parts.push(
        `Post hoc, not a paper claim: of the ${pairs.length} pairwise differences among these rows, ` +
          (nominal.length === 0
            ? "none has a 95 % interval that excludes 0."
            : `${nominal.length} ${
              nominal.length === 1 ? "has" : "have"
            } a 95 % interval that excludes 0 — ` +
              nominal.map((d) =>
                `${label(d.a)} against ${label(d.b)} ${d2(d.delta)} ${ciText(d.ci)} (Holm-adjusted p ` +
                `${pText(d.holmP)})`
              ).join("; ") +
              ` — and ${
                survive.length === 0
                  ? "none survives"
                  : survive.length === nominal.length
                  ? "all survive"
                  : `${survive.length} survive${survive.length === 1 ? "s" : ""}`
              } Holm's correction over the ${pairs.length}.`),
      );
    }
    const seeds = report.header.seeds.length;
    paragraphs.push(
      `[${tableLabel(report.header.tableId)}](${file}), ${block.metric.label}, ${seeds} paired seeds` +
        (notRun.length > 0 ? ` (not run: ${notRun.join(", ")})` : "") +
        (parts.length > 0 ? `: ${parts.join(" ")}` : ": no two rows ran."),
    );
    // The table's own discussion (generated from its verdicts, as the report shows it), quoted whole.
    const discussion = report.notes?.find((n) => n.startsWith(DISCUSSION_PREFIX));
    if (discussion) paragraphs.push(`[${tableLabel(report.header.tableId)}](${file}) — ${discussion}`);
  }
  return paragraphs.join("\n\n");
}
