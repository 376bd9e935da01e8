/**
 * What a table says at the scale it ran, and what it cannot say: two or three sentences written from its
 * verdicts (never typed), so that a re-judged report reads its new verdicts. Rendered as a report section and
 * kept in the JSON (`atThisScale`).
 * @module
 */
import { onRowsNotRun } from "./verdict.ts";
import type { Verdict } from "./verdict_types.ts";
import { type GainOverFloor, shareOfGain } from "./report_model.ts";

/** Options of {@link scaleReading}. */
export interface ScaleReadingOptions {
  /** The baseline's gain over the floor row (random init) on the main metric, where the table has both. */
  gain?: GainOverFloor | null;
  /** The main metric's key (a share of the gain is given only for claims on it). */
  metricKey?: string;
}

/** `a`, `a and b`, `a, b and c`. */
function listed(items: string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

function ids(vs: readonly Verdict[]): string {
  return listed(vs.map((v) => `\`${v.claimId}\``));
}

/** A range of numbers as "a" or "a–b" with `digits` decimals. */
function span(values: number[], digits: number): string {
  const lo = Math.min(...values), hi = Math.max(...values);
  return lo.toFixed(digits) === hi.toFixed(digits)
    ? lo.toFixed(digits)
    : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
}

/** The singular or plural word for a count of verdicts. */
function verb(vs: readonly unknown[], one: string, many: string): string {
  return vs.length === 1 ? one : many;
}

/** Seeds needed: "about 4", "about 4–17", "about 17 to more than 1000", "more than 1000". */
function seedsText(needed: number[]): string {
  const finite = needed.filter(Number.isFinite);
  if (finite.length === 0) return "more than 1000";
  return `about ${span(finite, 0)}${finite.length < needed.length ? " to more than 1000" : ""}`;
}

/**
 * The reading of a table at this scale, or null when it has no claims. Sentences: what the judged claims
 * show (by outcome, with Holm's correction where it changes one); below what size an effect has less than 80 %
 * power with these seeds (the MDE of the inconclusive claims, as a share of pre-training's gain where a floor row ran)
 * and how many seeds the paper's own differences would need; which claims were not judged because their rows
 * did not run.
 */
export function scaleReading(verdicts: readonly Verdict[], options: ScaleReadingOptions = {}): string | null {
  if (verdicts.length === 0) return null;
  const notRun = verdicts.filter(onRowsNotRun);
  const judged = verdicts.filter((v) => !onRowsNotRun(v));
  const out: string[] = [];
  if (judged.length > 0) {
    const by = (o: Verdict["outcome"]) => judged.filter((v) => v.outcome === o);
    // Each outcome as a clause: [outcome, singular, plural] of "N <verb> (ids)".
    const clauses: [Verdict["outcome"], string, string][] = [
      ["reproduced", "holds", "hold"],
      ["not reproduced", "is contradicted", "are contradicted"],
      [
        "smaller than the paper's",
        "excludes an effect as large as the paper's, without excluding none",
        "exclude an effect as large as the paper's, without excluding none",
      ],
      [
        "larger than the paper's",
        "excludes an effect as small as the paper's, without excluding none",
        "exclude an effect as small as the paper's, without excluding none",
      ],
      ["inconclusive", "is inconclusive", "are inconclusive"],
    ];
    const parts = clauses.map(([outcome, one, many]) => [by(outcome), one, many] as const)
      .filter(([vs]) => vs.length > 0)
      .map(([vs, one, many]) => `${vs.length} ${verb(vs, one, many)} (${ids(vs)})`);
    const open = by("inconclusive");
    out.push(
      `Of the ${judged.length} ${verb(judged, "claim", "claims")} judged on the runs here, ${listed(parts)}.`,
    );
    // Findings that Holm's correction over the table's claims does not keep.
    const lost = judged.filter((v) =>
      v.outcome !== "inconclusive" && v.method !== "exact" && v.holm?.outcome === "inconclusive"
    );
    if (lost.length) {
      out.push(
        `After Holm's correction over the table's claims, ${ids(lost)} ${
          verb(lost, "becomes", "become")
        } inconclusive.`,
      );
    }
    // What the seeds could not see: the MDE of the claims they left open.
    const mdes = open.filter((v) => v.method !== "exact" && Number.isFinite(v.mde) && v.ci);
    if (mdes.length) {
      const gain = options.gain ?? null;
      // A share of the gain only where every one of these claims is on the main metric: both ranges then
      // describe the same claims.
      const onMain = mdes.every((v) => options.metricKey === undefined || v.metric === options.metricKey);
      const shares = gain && onMain
        ? mdes.map((v) => shareOfGain({ kind: "greater", metric: v.metric, delta: v.mde }, gain, v.metric))
          .filter((s): s is number => s !== null && Number.isFinite(s))
        : [];
      const needed = mdes.map((v) => v.seedsNeeded).filter((n): n is number => n !== null && n > 0);
      out.push(
        `These seeds have less than 80 % power to detect a true difference smaller than about ${
          span(mdes.map((v) => v.mde), 2)
        } points (the MDE of the inconclusive claims)` +
          (shares.length
            ? `, that is ${
              span(shares.map((s) => 100 * s), 0)
            } % of what pre-training itself is worth here ` +
              `(${gain!.baselineLabel} − ${gain!.floorLabel} ${gain!.gain.toFixed(2)})`
            : "") +
          (needed.length
            ? `; the paper's own differences, if they held at this scale, would need ${
              seedsText(needed)
            } seeds per row to be seen 80 % of the time (point estimates; their ranges are in the verdict table)`
            : "") +
          ".",
      );
    }
  }
  if (notRun.length) {
    out.push(
      `${notRun.length} claim${notRun.length === 1 ? " is" : "s are"} not judged: ${
        notRun.length === 1 ? "its" : "their"
      } rows did not run (${ids(notRun)}).`,
    );
  }
  return out.join(" ");
}
