/**
 * Verdicts on the paper's claims from per-seed results: `reproduced`, `not reproduced` or `inconclusive`,
 * each with the rule that decided it, the difference of means and its 95 % confidence interval.
 *
 * Rules (the `rule` string of every verdict spells out the one applied):
 * - "a > b": Welch 95 % CI of mean(a) − mean(b): above 0 → reproduced, below 0 → not reproduced, containing
 *   0 → inconclusive. Fewer than two seeds on either side → inconclusive (no CI can be formed; the point
 *   difference is still reported).
 * - best-in-group: reproduced if the claimed row has the highest mean and the CI of its difference to the
 *   runner-up lies above 0; not reproduced if some other row beats it with a CI above 0; else inconclusive.
 * - "a = b ± tol": reproduced if the CI lies inside [−tol, tol], not reproduced if it lies wholly outside.
 * - Deterministic quantities (FLOPs, parameter counts; option `exact`): one measurement per row suffices and
 *   the values are compared directly.
 * Claims are about raw values: "greater" means a larger number, whatever direction is better.
 * @module
 */
import { type ConfidenceInterval, mean, welchDifferenceInterval } from "./stats.ts";

/** Outcome of testing one claim. */
export type Outcome = "reproduced" | "not reproduced" | "inconclusive";

/** Claim "row a has a larger value of `metric` than row b" (structurally the paper module's claim). */
export interface GreaterClaimInput {
  kind: "greater";
  id: string;
  text: string;
  metric: string;
  a: string;
  b: string;
}

/** Claim "row `best` has the largest value among `rows`". */
export interface BestInGroupClaimInput {
  kind: "best-in-group";
  id: string;
  text: string;
  metric: string;
  best: string;
  rows: readonly string[];
}

/** Claim "rows a and b agree within ±tolerance". */
export interface EqualClaimInput {
  kind: "equal";
  id: string;
  text: string;
  metric: string;
  a: string;
  b: string;
  tolerance: number;
}

/** Any claim a verdict can be given on. */
export type ClaimInput = GreaterClaimInput | BestInGroupClaimInput | EqualClaimInput;

/** Per-seed values of one metric, by row key. */
export type SeedResults = Readonly<Record<string, readonly number[]>>;

/** Options of {@link judgeClaim}. */
export interface VerdictOptions {
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /** The metric is deterministic (no seed noise): compare single measurements directly. */
  exact?: boolean;
}

/** The verdict on one claim. */
export interface Verdict {
  claimId: string;
  /** The claim in words. */
  text: string;
  kind: ClaimInput["kind"];
  metric: string;
  outcome: Outcome;
  /** The decision rule applied, in words. */
  rule: string;
  /** The two rows whose difference decided the verdict (`a − b`). */
  compared: { a: string; b: string };
  /** mean(a) − mean(b) of the compared rows (NaN if a row has no results). */
  delta: number;
  /** Confidence interval of `delta`, or null where none could be formed. */
  ci: [number, number] | null;
  /** Confidence level of `ci`. */
  level: number;
  /** Mean and number of seeds of every row the claim refers to. */
  rows: Record<string, { mean: number; n: number }>;
  /** What the numbers showed, in words. */
  detail: string;
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(4).replace(/\.?0+$/, "") : String(x));
const pct = (level: number): string => `${Math.round(level * 100)}%`;

function rowSummary(
  keys: readonly string[],
  results: SeedResults,
): Record<string, { mean: number; n: number }> {
  const out: Record<string, { mean: number; n: number }> = {};
  for (const key of keys) {
    const values = results[key] ?? [];
    out[key] = { mean: mean(values), n: values.length };
  }
  return out;
}

function ciOf(interval: ConfidenceInterval): [number, number] | null {
  return Number.isNaN(interval.lower) ? null : [interval.lower, interval.upper];
}

function missingRows(keys: readonly string[], results: SeedResults): string[] {
  return keys.filter((k) => (results[k]?.length ?? 0) === 0);
}

/** Tests one claim on per-seed results of its metric. */
export function judgeClaim(claim: ClaimInput, results: SeedResults, options: VerdictOptions = {}): Verdict {
  const level = options.level ?? 0.95;
  const keys = claim.kind === "best-in-group" ? [...claim.rows] : [claim.a, claim.b];
  const base = {
    claimId: claim.id,
    text: claim.text,
    kind: claim.kind,
    metric: claim.metric,
    level,
    rows: rowSummary(keys, results),
  };
  const missing = missingRows(keys, results);
  if (missing.length > 0) {
    const compared = claim.kind === "best-in-group"
      ? { a: claim.best, b: missing[0] }
      : { a: claim.a, b: claim.b };
    return {
      ...base,
      outcome: "inconclusive",
      rule: "A verdict needs results for every row the claim refers to.",
      compared,
      delta: NaN,
      ci: null,
      detail: `no results for ${missing.join(", ")}`,
    };
  }
  if (claim.kind === "greater") return judgeGreater(claim, results, level, options.exact ?? false, base);
  if (claim.kind === "equal") return judgeEqual(claim, results, level, options.exact ?? false, base);
  return judgeBest(claim, results, level, options.exact ?? false, base);
}

type VerdictBase = Pick<Verdict, "claimId" | "text" | "kind" | "metric" | "level" | "rows">;

function judgeGreater(
  claim: GreaterClaimInput,
  results: SeedResults,
  level: number,
  exact: boolean,
  base: VerdictBase,
): Verdict {
  const a = results[claim.a];
  const b = results[claim.b];
  const compared = { a: claim.a, b: claim.b };
  if (exact) {
    const delta = mean(a) - mean(b);
    return {
      ...base,
      outcome: delta > 0 ? "reproduced" : "not reproduced",
      rule: `${claim.a} > ${claim.b} on a deterministic quantity: reproduced if the measured difference is ` +
        "positive, otherwise not reproduced (no seed noise, so no interval).",
      compared,
      delta,
      ci: [delta, delta],
      detail: `measured ${claim.a} − ${claim.b} = ${fmt(delta)}`,
    };
  }
  const interval = welchDifferenceInterval(a, b, level);
  const ci = ciOf(interval);
  const rule = `${claim.a} > ${claim.b}: reproduced if the ${pct(level)} Welch CI of mean(${claim.a}) − ` +
    `mean(${claim.b}) lies above 0, not reproduced if it lies below 0, inconclusive if it contains 0; with ` +
    "fewer than 2 seeds on a side no CI exists and the verdict is inconclusive (point difference reported).";
  if (!ci) {
    return {
      ...base,
      outcome: "inconclusive",
      rule,
      compared,
      delta: interval.estimate,
      ci: null,
      detail: `only ${a.length} vs ${b.length} seed(s); point difference ${fmt(interval.estimate)} ` +
        `(${interval.estimate > 0 ? "in" : "against"} the claimed direction)`,
    };
  }
  const outcome: Outcome = ci[0] > 0 ? "reproduced" : ci[1] < 0 ? "not reproduced" : "inconclusive";
  return {
    ...base,
    outcome,
    rule,
    compared,
    delta: interval.estimate,
    ci,
    detail: `Δ = ${fmt(interval.estimate)}, ${pct(level)} CI [${fmt(ci[0])}, ${fmt(ci[1])}], ` +
      `df ${fmt(interval.df)}, n = ${a.length}/${b.length}`,
  };
}

function judgeEqual(
  claim: EqualClaimInput,
  results: SeedResults,
  level: number,
  exact: boolean,
  base: VerdictBase,
): Verdict {
  const a = results[claim.a];
  const b = results[claim.b];
  const tol = claim.tolerance;
  const compared = { a: claim.a, b: claim.b };
  if (exact) {
    const delta = mean(a) - mean(b);
    return {
      ...base,
      outcome: Math.abs(delta) <= tol ? "reproduced" : "not reproduced",
      rule:
        `${claim.a} = ${claim.b} ± ${tol} on a deterministic quantity: reproduced if |difference| ≤ ${tol}, ` +
        "otherwise not reproduced.",
      compared,
      delta,
      ci: [delta, delta],
      detail: `measured ${claim.a} − ${claim.b} = ${fmt(delta)}`,
    };
  }
  const interval = welchDifferenceInterval(a, b, level);
  const ci = ciOf(interval);
  const rule =
    `${claim.a} = ${claim.b} ± ${tol}: reproduced if the ${pct(level)} Welch CI of the difference ` +
    `lies inside [−${tol}, ${tol}], not reproduced if it lies wholly outside, otherwise inconclusive; fewer ` +
    "than 2 seeds on a side → inconclusive.";
  let outcome: Outcome = "inconclusive";
  if (ci && ci[0] >= -tol && ci[1] <= tol) outcome = "reproduced";
  else if (ci && (ci[0] > tol || ci[1] < -tol)) outcome = "not reproduced";
  return {
    ...base,
    outcome,
    rule,
    compared,
    delta: interval.estimate,
    ci,
    detail: ci
      ? `Δ = ${fmt(interval.estimate)}, ${pct(level)} CI [${fmt(ci[0])}, ${fmt(ci[1])}]`
      : `only ${a.length} vs ${b.length} seed(s); point difference ${fmt(interval.estimate)}`,
  };
}

function judgeBest(
  claim: BestInGroupClaimInput,
  results: SeedResults,
  level: number,
  exact: boolean,
  base: VerdictBase,
): Verdict {
  const others = claim.rows.filter((r) => r !== claim.best);
  const means = base.rows;
  // Strongest competitor by mean.
  const runnerUp = others.reduce((best, r) => (means[r].mean > means[best].mean ? r : best), others[0]);
  const claimedTop = others.every((r) => means[claim.best].mean > means[r].mean);
  if (exact) {
    const delta = means[claim.best].mean - means[runnerUp].mean;
    return {
      ...base,
      outcome: claimedTop ? "reproduced" : "not reproduced",
      rule: `${claim.best} best of ${claim.rows.length} rows on a deterministic quantity: reproduced if it ` +
        "has strictly the largest value, otherwise not reproduced.",
      compared: { a: claim.best, b: runnerUp },
      delta,
      ci: [delta, delta],
      detail: `${claim.best} − ${runnerUp} = ${fmt(delta)}`,
    };
  }
  const rule =
    `${claim.best} best of {${claim.rows.join(", ")}}: reproduced if it has the highest mean and ` +
    `the ${pct(level)} Welch CI of its difference to the runner-up lies above 0; not reproduced if another ` +
    "row beats it with a CI above 0; otherwise inconclusive (also with fewer than 2 seeds on a side).";
  // Rows that beat the claimed row significantly; the strongest of them decides a negative verdict.
  const beaters = others
    .map((r) => ({ row: r, interval: welchDifferenceInterval(results[r], results[claim.best], level) }))
    .filter(({ interval }) => interval.lower > 0)
    .sort((x, y) => means[y.row].mean - means[x.row].mean);
  if (beaters.length > 0) {
    const { row, interval } = beaters[0];
    // Report as claimed − winner, so a negative delta reads as "the claim lost".
    return {
      ...base,
      outcome: "not reproduced",
      rule,
      compared: { a: claim.best, b: row },
      delta: -interval.estimate,
      ci: [-interval.upper, -interval.lower],
      detail: `${row} beats ${claim.best} by ${fmt(interval.estimate)}, ${pct(level)} CI ` +
        `[${fmt(interval.lower)}, ${fmt(interval.upper)}]`,
    };
  }
  const interval = welchDifferenceInterval(results[claim.best], results[runnerUp], level);
  const ci = ciOf(interval);
  const outcome: Outcome = claimedTop && ci !== null && ci[0] > 0 ? "reproduced" : "inconclusive";
  let detail: string;
  if (!ci) detail = `too few seeds for a CI; point difference to ${runnerUp}: ${fmt(interval.estimate)}`;
  else if (claimedTop) {
    detail = `highest mean; Δ to runner-up ${runnerUp} = ${fmt(interval.estimate)}, ${pct(level)} CI ` +
      `[${fmt(ci[0])}, ${fmt(ci[1])}]`;
  } else {
    detail = `${runnerUp} has the highest mean (Δ = ${fmt(interval.estimate)}, CI [${fmt(ci[0])}, ` +
      `${fmt(ci[1])}]), but not significantly`;
  }
  return {
    ...base,
    outcome,
    rule,
    compared: { a: claim.best, b: runnerUp },
    delta: interval.estimate,
    ci,
    detail,
  };
}

/**
 * Tests several claims. `resultsByMetric[metric][row]` holds per-seed values; `exactMetrics` names the
 * deterministic metrics (compared without intervals).
 */
export function judgeClaims(
  claims: readonly ClaimInput[],
  resultsByMetric: Readonly<Record<string, SeedResults>>,
  options: { level?: number; exactMetrics?: readonly string[] } = {},
): Verdict[] {
  return claims.map((claim) =>
    judgeClaim(claim, resultsByMetric[claim.metric] ?? {}, {
      level: options.level,
      exact: options.exactMetrics?.includes(claim.metric) ?? false,
    })
  );
}
