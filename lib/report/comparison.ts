/**
 * One comparison of two rows of a table, a − b, and the verdict fields it decides: the paired (per-seed) or
 * Welch interval, its p-value, minimum detectable effect and the seeds that would give 80 % power on the
 * paper's difference — the arithmetic the rules of `verdict.ts` share.
 * @module
 */
import {
  type ConfidenceInterval,
  mean,
  minimumDetectableEffect,
  pairedDifferenceInterval,
  sampleStd,
  sampleVariance,
  sdConfidenceInterval,
  seedsForPower,
  twoSidedPValue,
  welchDifferenceInterval,
} from "./stats.ts";
import type { SeedResults, TestMethod, Verdict, VerdictOptions } from "./verdict_types.ts";

/** Up to four decimals, trailing zeros dropped; values that round to zero print as "0" (never "-0"). */
export const fmt = (x: number): string => {
  if (!Number.isFinite(x)) return String(x);
  const text = x.toFixed(4).replace(/\.?0+$/, "");
  return text === "-0" ? "0" : text;
};
export const pct = (level: number): string => `${Math.round(level * 100)}%`;
/** A level to two decimals of a percent where it is not whole: "98.33%", "95%". */
export const pctExact = (level: number): string => `${Number((level * 100).toFixed(2))}%`;

/** One comparison a − b of two rows: the interval, the test and the spread behind it. */
export interface Comparison {
  a: string;
  b: string;
  method: TestMethod;
  interval: ConfidenceInterval;
  n: string;
  /** Spread for power: sd of per-seed differences (paired) or the rows' pooled sd (Welch). */
  sd: number;
  /** Degrees of freedom of `sd`: pairs − 1 (paired) or n_a + n_b − 2 (Welch). */
  sdDf: number;
}

export function checkSeeds(row: string, values: readonly number[], seeds: readonly number[]): void {
  if (seeds.length !== values.length) {
    throw new RangeError(`row ${row}: ${seeds.length} seeds for ${values.length} values`);
  }
  if (new Set(seeds).size !== seeds.length) throw new RangeError(`row ${row}: a seed appears twice`);
}

export function compare(
  a: string,
  b: string,
  results: SeedResults,
  level: number,
  o: VerdictOptions,
): Comparison {
  const va = results[a] ?? [];
  const vb = results[b] ?? [];
  if (o.paired && o.seeds?.[a] && o.seeds?.[b]) {
    checkSeeds(a, va, o.seeds[a]);
    checkSeeds(b, vb, o.seeds[b]);
    const sb = new Map(o.seeds[b].map((s, i) => [s, vb[i]]));
    const xa: number[] = [];
    const xb: number[] = [];
    o.seeds[a].forEach((s, i) => {
      if (sb.has(s)) {
        xa.push(va[i]);
        xb.push(sb.get(s)!);
      }
    });
    if (xa.length >= 2) {
      const interval = pairedDifferenceInterval(xa, xb, level);
      const dropped = va.length - xa.length + vb.length - xb.length;
      return {
        a,
        b,
        method: Number.isNaN(interval.lower) ? "none" : "paired",
        interval,
        n: `${xa.length} pairs` + (dropped > 0 ? ` (${dropped} unpaired seed value(s) left out)` : ""),
        sd: sampleStd(xa.map((v, i) => v - xb[i])),
        sdDf: xa.length - 1,
      };
    }
  }
  const interval = welchDifferenceInterval(va, vb, level);
  return {
    a,
    b,
    method: Number.isNaN(interval.lower) ? "none" : "welch",
    interval,
    n: `${va.length}/${vb.length} seeds`,
    sd: Math.sqrt((sampleVariance(va) + sampleVariance(vb)) / 2),
    sdDf: va.length + vb.length - 2,
  };
}

export function ciOf(interval: ConfidenceInterval): [number, number] | null {
  return Number.isNaN(interval.lower) ? null : [interval.lower, interval.upper];
}

export function pOf(c: Comparison): number {
  return twoSidedPValue(c.interval.estimate, c.interval.standardError, c.interval.df);
}

export function testName(c: Comparison, level: number): string {
  return c.method === "paired"
    ? `paired ${pctExact(level)} CI (per-seed differences, ${c.n})`
    : c.method === "welch"
    ? `Welch ${pctExact(level)} CI (${c.n}, not paired)`
    : `no CI (${c.n})`;
}

export function rowSummary(
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

export function missingRows(keys: readonly string[], results: SeedResults): string[] {
  return keys.filter((k) => (results[k]?.length ?? 0) === 0);
}

export type VerdictBase = Pick<
  Verdict,
  | "claimId"
  | "text"
  | "kind"
  | "metric"
  | "level"
  | "rows"
  | "paperEffect"
  | "seedsNeeded"
  | "seedsNeededRange"
  | "vsPaper"
>;

/** Fields of a verdict decided by one comparison. */
export function fromComparison(
  c: Comparison,
): Pick<Verdict, "compared" | "delta" | "ci" | "method" | "n" | "mde" | "halfWidth" | "pValue"> {
  return {
    compared: { a: c.a, b: c.b },
    delta: c.interval.estimate,
    ci: ciOf(c.interval),
    method: c.method,
    n: c.n,
    mde: minimumDetectableEffect(c.interval),
    halfWidth: c.interval.halfWidth,
    pValue: pOf(c),
  };
}

/**
 * Seeds per row to resolve the paper's effect at the spread of comparison `c`, and the same at the ends of
 * the spread's 95 % chi-square interval (nulls where not defined).
 */
export function seedsNeeded(
  c: Comparison,
  paperEffect: number | null,
  level: number,
): Pick<Verdict, "seedsNeeded" | "seedsNeededRange"> {
  const none = { seedsNeeded: null, seedsNeededRange: null };
  if (paperEffect === null || !Number.isFinite(c.sd) || c.method === "none") return none;
  const at = (sd: number) => seedsForPower({ sd, effect: paperEffect, paired: c.method === "paired", level });
  const n = at(c.sd);
  if (Number.isNaN(n)) return none;
  const [lo, hi] = sdConfidenceInterval(c.sd, c.sdDf);
  const range: [number, number] = [at(lo), at(hi)];
  return { seedsNeeded: n, seedsNeededRange: range.some(Number.isNaN) ? null : range };
}
