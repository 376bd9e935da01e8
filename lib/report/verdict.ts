/**
 * Verdicts on the paper's claims from per-seed results: `reproduced`, `not reproduced`, `inconclusive` and,
 * for "a > b" claims with a paper difference, `smaller than the paper's` / `larger than the paper's` — each
 * with the rule that decided it, the difference, its 95 % confidence interval, the test that formed it, its
 * minimum detectable effect at 80 % power and — when inconclusive — the seeds that would resolve the paper's
 * effect.
 *
 * Intervals: rows of a table that share a seed share the encoder initialisation, the data order and the
 * augmentations (only the mask strategy differs), so with `paired` and the seeds of each value the
 * difference is taken per seed and its Student-t interval (n − 1 df) decides; rows without two common seeds
 * fall back to Welch's interval of the difference of means, and each verdict says which test ran.
 *
 * Rules (the `rule` string of every verdict spells out the one applied):
 * - "a > b": CI of a − b above 0 → reproduced; below 0 → not reproduced; containing 0 → inconclusive, except
 *   when the paper's difference Δp is known and the CI lies wholly below it (upper < Δp) → "smaller than the
 *   paper's", or wholly above it (lower > Δp; possible only when Δp ≤ 0) → "larger than the paper's". A CI
 *   that touches Δp (upper = Δp) is not wholly below it. The sign decides first: a CI above 0 is reproduced
 *   even when it also lies below (above) Δp, and `vsPaper` ("smaller"/"larger") says so beside it.
 *   Fewer than two seeds on a side → inconclusive (no CI; the point difference is still reported).
 * - best-in-group over k rows: reproduced if the claimed row beats every other row (each 95 % CI of
 *   best − other above 0: all k − 1 must hold, so no correction is needed); not reproduced if some row beats
 *   it with Bonferroni over the k − 1 comparisons (its CI at level 1 − 0.05/(k − 1) below 0); otherwise
 *   inconclusive. The comparison shown is the deciding one: the beating row (at the Bonferroni level, see
 *   `bonferroni`), or the weakest of the claimed row's wins.
 * - "a = b ± tol": reproduced if the CI lies inside [−tol, tol], not reproduced if wholly outside.
 * - Deterministic quantities (FLOPs, parameter counts; option `exact`): one measurement per row suffices and
 *   the values are compared directly; "a slightly > b" (`atMost`) also needs the difference to be at most
 *   its bound.
 * Minimum detectable effect (`mde`): (t_{0.975,df} + t_{0.8,df}) · SE of the deciding difference — a true
 * difference this large would give an interval that excludes 0 in 80 % of repetitions if the spread measured
 * here were the true one. `halfWidth` is the interval's half-width (t_{0.975,df} · SE). Seeds needed
 * (`seedsNeeded`): seeds per row for the same 80 % power on the paper's own difference (its points, taken at
 * face value) at the measured spread; `seedsNeededRange` the same at the ends of the spread's 95 % interval
 * (chi-square), since a spread from few seeds is itself uncertain.
 * `holmVerdicts` adds Holm's correction over a table's claims (family-wise error 5 %).
 * Claims are about raw values: "greater" means a larger number, whatever direction is better.
 * The rules and Holm's correction are here; the types are in `verdict_types.ts` and the arithmetic of one
 * comparison (intervals, power, seeds needed) in `comparison.ts`.
 * @module
 */
import { holmAdjust, mean, studentTCdf, twoSidedPValue } from "./stats.ts";
import {
  ciOf,
  compare,
  type Comparison,
  fmt,
  fromComparison,
  missingRows,
  pct,
  pctExact,
  pOf,
  rowSummary,
  seedsNeeded,
  testName,
  type VerdictBase,
} from "./comparison.ts";
import {
  type BestInGroupClaimInput,
  type ClaimInput,
  type EqualClaimInput,
  type GreaterClaimInput,
  type Outcome,
  type SeedIds,
  type SeedResults,
  type Verdict,
  type VerdictOptions,
} from "./verdict_types.ts";
export * from "./verdict_types.ts";

/** Tests one claim on per-seed results of its metric. */
export function judgeClaim(claim: ClaimInput, results: SeedResults, options: VerdictOptions = {}): Verdict {
  const level = options.level ?? 0.95;
  if (claim.kind === "best-in-group" && (claim.rows.length < 2 || !claim.rows.includes(claim.best))) {
    throw new RangeError(`claim ${claim.id}: best-in-group needs ≥ 2 rows including '${claim.best}'`);
  }
  if (claim.kind === "equal" && !(claim.tolerance >= 0)) {
    throw new RangeError(`claim ${claim.id}: tolerance must be ≥ 0, got ${claim.tolerance}`);
  }
  const keys = claim.kind === "best-in-group" ? [...claim.rows] : [claim.a, claim.b];
  const base: VerdictBase = {
    claimId: claim.id,
    text: claim.text,
    kind: claim.kind,
    metric: claim.metric,
    level,
    rows: rowSummary(keys, results),
    paperEffect: options.paperEffect ?? null,
    seedsNeeded: null,
    seedsNeededRange: null,
    vsPaper: null,
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
      method: "none",
      n: "0",
      mde: NaN,
      halfWidth: NaN,
      pValue: NaN,
      ...(claim.kind === "equal" ? { tolerance: claim.tolerance } : {}),
      detail: `no results for ${missing.join(", ")}`,
    };
  }
  if (options.exact) return judgeExact(claim, results, base);
  if (claim.kind === "greater") return judgeGreater(claim, results, level, options, base);
  if (claim.kind === "equal") return judgeEqual(claim, results, level, options, base);
  return judgeBest(claim, results, level, options, base);
}

function judgeExact(claim: ClaimInput, results: SeedResults, base: VerdictBase): Verdict {
  const exact = {
    method: "exact" as const,
    n: "1 measurement per row",
    mde: 0,
    halfWidth: 0,
    pValue: NaN,
    ...(claim.kind === "equal" ? { tolerance: claim.tolerance } : {}),
  };
  const m = (k: string) => mean(results[k]);
  const keys = claim.kind === "best-in-group" ? claim.rows : [claim.a, claim.b];
  const bad = keys.filter((k) => !Number.isFinite(m(k)));
  if (bad.length > 0) {
    return {
      ...base,
      ...exact,
      outcome: "inconclusive",
      rule: "A deterministic comparison needs a finite value for every row.",
      compared: claim.kind === "best-in-group" ? { a: claim.best, b: bad[0] } : { a: claim.a, b: claim.b },
      delta: NaN,
      ci: null,
      detail: `no finite value for ${bad.join(", ")}`,
    };
  }
  if (claim.kind === "best-in-group") {
    const others = claim.rows.filter((r) => r !== claim.best);
    const runnerUp = others.reduce((best, r) => (m(r) > m(best) ? r : best), others[0]);
    const delta = m(claim.best) - m(runnerUp);
    return {
      ...base,
      ...exact,
      outcome: delta > 0 ? "reproduced" : "not reproduced",
      rule: `${claim.best} best of ${claim.rows.length} rows on a deterministic quantity: reproduced if it ` +
        "has strictly the largest value, otherwise not reproduced.",
      compared: { a: claim.best, b: runnerUp },
      delta,
      ci: [delta, delta],
      detail: `${claim.best} − ${runnerUp} = ${fmt(delta)}`,
    };
  }
  const delta = m(claim.a) - m(claim.b);
  const greater = claim.kind === "greater";
  const atMost = greater ? claim.atMost : undefined;
  const ok = greater
    ? delta > 0 && (atMost === undefined || delta <= atMost)
    : Math.abs(delta) <= claim.tolerance;
  const paper = base.paperEffect !== null && Number.isFinite(base.paperEffect)
    ? `; the paper's difference: ${fmt(base.paperEffect)}`
    : "";
  return {
    ...base,
    ...exact,
    ...(atMost !== undefined ? { atMost } : {}),
    outcome: ok ? "reproduced" : "not reproduced",
    rule: greater
      ? atMost !== undefined
        ? `${claim.a} slightly > ${claim.b} on a deterministic quantity: reproduced if the measured ` +
          `difference is positive and at most ${
            fmt(atMost)
          } ("slightly"), otherwise not reproduced (no seed ` +
          "noise, so no interval)."
        : `${claim.a} > ${claim.b} on a deterministic quantity: reproduced if the measured difference is ` +
          "positive, otherwise not reproduced (no seed noise, so no interval)."
      : `${claim.a} = ${claim.b} ± ${claim.tolerance} on a deterministic quantity: reproduced if ` +
        `|difference| ≤ ${claim.tolerance}, otherwise not reproduced.`,
    compared: { a: claim.a, b: claim.b },
    delta,
    ci: [delta, delta],
    detail: `measured ${claim.a} − ${claim.b} = ${fmt(delta)}` +
      (atMost !== undefined && delta > atMost
        ? ` — larger than the ${fmt(atMost)} that "slightly" allows${paper}`
        : ""),
  };
}

function judgeGreater(
  claim: GreaterClaimInput,
  results: SeedResults,
  level: number,
  o: VerdictOptions,
  base: VerdictBase,
): Verdict {
  const c = compare(claim.a, claim.b, results, level, o);
  const ci = ciOf(c.interval);
  const pe = base.paperEffect !== null && Number.isFinite(base.paperEffect) ? base.paperEffect : null;
  const rule = `${claim.a} > ${claim.b}: reproduced if the ${pct(level)} CI of ${claim.a} − ${claim.b} ` +
    "(paired per seed where the rows share seeds, else Welch) lies above 0, not reproduced if below 0, " +
    (pe === null
      ? "inconclusive if it contains 0 or cannot be formed (fewer than 2 seeds)."
      : `and, if it contains 0, "smaller than the paper's" when it lies wholly below the paper's Δ ` +
        `(${fmt(pe)}; upper bound < Δ), "larger than the paper's" when wholly above it, otherwise ` +
        "inconclusive (also when it cannot be formed: fewer than 2 seeds). A CI above 0 that lies wholly " +
        "below (above) the paper's Δ is reproduced and labelled smaller (larger) than the paper's.");
  const vsPaper = ci && pe !== null ? (ci[1] < pe ? "smaller" : ci[0] > pe ? "larger" : null) : null;
  const outcome: Outcome = !ci
    ? "inconclusive"
    : ci[0] > 0
    ? "reproduced"
    : ci[1] < 0
    ? "not reproduced"
    : vsPaper === "smaller"
    ? "smaller than the paper's"
    : vsPaper === "larger"
    ? "larger than the paper's"
    : "inconclusive";
  // p of the decision taken: against the paper's Δ for smaller/larger, against 0 otherwise (as for Holm).
  const vsPaperOutcome = outcome === "smaller than the paper's" || outcome === "larger than the paper's";
  const { estimate: d, standardError: se, df } = c.interval;
  const against = vsPaper === "smaller"
    ? `; the paper's Δ ${fmt(pe!)} lies above the interval`
    : vsPaper === "larger"
    ? `; the paper's Δ ${fmt(pe!)} lies below the interval`
    : "";
  return {
    ...base,
    ...fromComparison(c),
    ...(outcome === "inconclusive" ? seedsNeeded(c, base.paperEffect, level) : {}),
    pValue: vsPaperOutcome ? twoSidedPValue(d - pe!, se, df) : pOf(c),
    vsPaper,
    outcome,
    rule,
    detail: ci
      ? `Δ = ${fmt(d)}, ${testName(c, level)} [${fmt(ci[0])}, ${fmt(ci[1])}]${against}`
      : `${testName(c, level)}; point difference ${fmt(d)} (${
        !Number.isFinite(d)
          ? "not available"
          : d > 0
          ? "in the claimed direction"
          : d < 0
          ? "against the claimed direction"
          : "a tie"
      })`,
  };
}

function judgeEqual(
  claim: EqualClaimInput,
  results: SeedResults,
  level: number,
  o: VerdictOptions,
  base: VerdictBase,
): Verdict {
  const tol = claim.tolerance;
  const c = compare(claim.a, claim.b, results, level, o);
  const ci = ciOf(c.interval);
  const rule = `${claim.a} = ${claim.b} ± ${tol}: reproduced if the ${pct(level)} CI of the difference ` +
    `(paired where the rows share seeds, else Welch) lies inside [−${tol}, ${tol}], not reproduced if it ` +
    "lies wholly outside, otherwise inconclusive; fewer than 2 seeds on a side → inconclusive.";
  let outcome: Outcome = "inconclusive";
  if (ci && ci[0] >= -tol && ci[1] <= tol) outcome = "reproduced";
  else if (ci && (ci[0] > tol || ci[1] < -tol)) outcome = "not reproduced";
  // p of the decision the interval supports: equivalence (two one-sided tests) or a difference beyond ±tol.
  const { estimate: d, standardError: se, df } = c.interval;
  let p = NaN;
  if (ci && se === 0) p = outcome === "inconclusive" ? 1 : 0; // a collapsed interval decides (or not) surely
  else if (ci && se > 0) {
    const inside = 2 * Math.max(1 - studentTCdf((d + tol) / se, df), studentTCdf((d - tol) / se, df));
    const outside = 2 * Math.min(1 - studentTCdf((d - tol) / se, df), studentTCdf((d + tol) / se, df));
    p = Math.min(1, outcome === "not reproduced" ? outside : inside);
  }
  return {
    ...base,
    ...fromComparison(c),
    pValue: p,
    tolerance: tol,
    outcome,
    rule,
    detail: ci
      ? `Δ = ${fmt(d)}, ${testName(c, level)} [${fmt(ci[0])}, ${fmt(ci[1])}]`
      : `${testName(c, level)}; point difference ${fmt(d)}`,
  };
}

function judgeBest(
  claim: BestInGroupClaimInput,
  results: SeedResults,
  level: number,
  o: VerdictOptions,
  base: VerdictBase,
): Verdict {
  const others = claim.rows.filter((r) => r !== claim.best);
  // A negative verdict needs only one of the k − 1 comparisons: Bonferroni over them keeps its error at 5 %.
  const k1 = others.length;
  const familyLevel = k1 > 1 ? 1 - (1 - level) / k1 : level;
  const rule = `${claim.best} best of {${claim.rows.join(", ")}}: reproduced if the ${pct(level)} CI of ` +
    `${claim.best} − r (paired per seed where the rows share seeds, else Welch) lies above 0 for every other ` +
    `row r; not reproduced if some row beats ${claim.best}: its CI below 0 ` +
    (k1 > 1
      ? `at the Bonferroni level ${pctExact(familyLevel)} (1 − ${fmt(1 - level)}/${k1}, over the ${k1} ` +
        "comparisons); "
      : "; ") +
    "otherwise inconclusive (also with fewer than 2 seeds on a side).";
  const comparisons = others.map((r) => compare(claim.best, r, results, level, o));
  const strict = k1 > 1 ? others.map((r) => compare(claim.best, r, results, familyLevel, o)) : comparisons;
  const means = base.rows;
  // A row that beats the claimed row significantly decides a negative verdict (the strongest such row).
  const beaters = strict.filter((c) => c.interval.upper < 0).sort((x, y) =>
    means[y.b].mean - means[x.b].mean
  );
  if (beaters.length > 0) {
    const c = beaters[0];
    return {
      ...base,
      ...fromComparison(c),
      // Bonferroni-adjusted p of the deciding comparison (the family Holm sees).
      pValue: Math.min(1, k1 * pOf(c)),
      ...(k1 > 1 ? { bonferroni: { comparisons: k1, level: familyLevel } } : {}),
      outcome: "not reproduced",
      rule,
      detail: `${c.b} beats ${claim.best}: Δ = ${fmt(c.interval.estimate)}, ` +
        (k1 > 1
          ? `${testName(c, familyLevel)} (Bonferroni over ${k1} comparisons) `
          : `${testName(c, level)} `) +
        `[${fmt(c.interval.lower)}, ${fmt(c.interval.upper)}]`,
    };
  }
  // Otherwise the weakest of the claimed row's comparisons decides (lowest lower bound; no CI is weakest).
  const lower = (c: Comparison) => (Number.isNaN(c.interval.lower) ? -Infinity : c.interval.lower);
  const weakest = comparisons.reduce((w, c) => (lower(c) < lower(w) ? c : w), comparisons[0]);
  const wins = comparisons.every((c) => c.interval.lower > 0);
  const outcome: Outcome = wins ? "reproduced" : "inconclusive";
  const ci = ciOf(weakest.interval);
  const p = Math.max(...comparisons.map(pOf));
  const paperMargin = base.paperEffect;
  // Rows ahead at the nominal level but not after Bonferroni: said so, they do not decide.
  const ahead = comparisons.filter((c) => c.interval.upper < 0).map((c) => {
    const s = strict[comparisons.indexOf(c)].interval;
    return `${c.b} is ahead at ${pct(level)} [${fmt(c.interval.lower)}, ${fmt(c.interval.upper)}] but not ` +
      `at the Bonferroni level ${pctExact(familyLevel)} [${fmt(s.lower)}, ${fmt(s.upper)}]`;
  });
  const detail = !ci
    ? `${testName(weakest, level)} against ${weakest.b}; point difference ${fmt(weakest.interval.estimate)}`
    : wins
    ? `beats every other row; weakest win over ${weakest.b}: Δ = ${fmt(weakest.interval.estimate)}, ` +
      `${testName(weakest, level)} [${fmt(ci[0])}, ${fmt(ci[1])}]`
    : `not shown to beat ${weakest.b}: Δ = ${fmt(weakest.interval.estimate)}, ${testName(weakest, level)} ` +
      `[${fmt(ci[0])}, ${fmt(ci[1])}]`;
  return {
    ...base,
    ...fromComparison(weakest),
    pValue: p,
    ...(outcome === "inconclusive" ? seedsNeeded(weakest, paperMargin, level) : {}),
    outcome,
    rule,
    detail: ahead.length > 0 ? `${detail}; ${ahead.join("; ")}` : detail,
  };
}

/** Whether a verdict is about rows that did not run (no results at all; not the same as too few seeds). */
export function onRowsNotRun(v: Pick<Verdict, "method" | "n">): boolean {
  return v.method === "none" && v.n === "0";
}

/**
 * Holm's correction over the claims of one table: the p-values of the non-exact verdicts are adjusted
 * together; a verdict keeps its outcome when its adjusted p is below 1 − level, otherwise it becomes
 * inconclusive. Each verdict's p is that of the decision it took: against 0, against the paper's Δ for
 * "smaller/larger than the paper's", Bonferroni-adjusted for a best-in-group loss. The `vsPaper` label of a
 * reproduced verdict is not part of the family (it is shown uncorrected). Exact verdicts (no seed noise) are
 * not part of the family and keep theirs.
 */
export function holmVerdicts(verdicts: readonly Verdict[], level = 0.95): Verdict[] {
  const family = verdicts.map((v) => (v.method === "exact" ? NaN : v.pValue));
  const adjusted = holmAdjust(family);
  return verdicts.map((v, i) => {
    if (v.method === "exact") return { ...v, holm: { adjustedP: NaN, outcome: v.outcome } };
    const p = adjusted[i];
    const outcome: Outcome = Number.isFinite(p) && p < 1 - level ? v.outcome : "inconclusive";
    return { ...v, holm: { adjustedP: p, outcome } };
  });
}

/**
 * Tests several claims. `resultsByMetric[metric][row]` holds per-seed values (and `seedsByMetric` their
 * seeds, for a paired design); `exactMetrics` names the deterministic metrics (compared without intervals);
 * `paperEffects[claimId]` the paper's own differences. Holm's correction is applied over the claims.
 */
export function judgeClaims(
  claims: readonly ClaimInput[],
  resultsByMetric: Readonly<Record<string, SeedResults>>,
  options: {
    level?: number;
    exactMetrics?: readonly string[];
    seedsByMetric?: Readonly<Record<string, SeedIds>>;
    paired?: boolean;
    paperEffects?: Readonly<Record<string, number | null>>;
  } = {},
): Verdict[] {
  const verdicts = claims.map((claim) =>
    judgeClaim(claim, resultsByMetric[claim.metric] ?? {}, {
      level: options.level,
      exact: options.exactMetrics?.includes(claim.metric) ?? false,
      seeds: options.seedsByMetric?.[claim.metric],
      paired: options.paired,
      paperEffect: options.paperEffects?.[claim.id] ?? null,
    })
  );
  return holmVerdicts(verdicts, options.level);
}
