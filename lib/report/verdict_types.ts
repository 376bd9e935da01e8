/**
 * The types of claims and verdicts (what `verdict.ts` judges and returns), apart from the rules, so that the
 * comparison arithmetic (`comparison.ts`) and the rules can share them without a cycle.
 * @module
 */
/** Outcome of testing one claim. */
export type Outcome =
  | "reproduced"
  | "not reproduced"
  | "inconclusive"
  | "smaller than the paper's"
  | "larger than the paper's";

/** Every outcome, in the order reports count them. */
export const OUTCOMES: readonly Outcome[] = [
  "reproduced",
  "not reproduced",
  "smaller than the paper's",
  "larger than the paper's",
  "inconclusive",
];

/** Claim "row a has a larger value of `metric` than row b" (structurally the paper module's claim). */
export interface GreaterClaimInput {
  kind: "greater";
  id: string;
  text: string;
  metric: string;
  a: string;
  b: string;
  /**
   * "a is slightly larger than b": the difference must also be at most this (deterministic quantities only;
   * a larger one is "not reproduced", the magnitude the claim's wording rules out).
   */
  atMost?: number;
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

/** The seed of each value of a `SeedResults`, same shape (`seeds[row][i]` produced `results[row][i]`). */
export type SeedIds = Readonly<Record<string, readonly number[]>>;

/** Options of {@link judgeClaim}. */
export interface VerdictOptions {
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /** The metric is deterministic (no seed noise): compare single measurements directly. */
  exact?: boolean;
  /** Seeds of the values; with `paired`, rows are compared seed by seed. */
  seeds?: SeedIds;
  /** Rows that share a seed share initialisation and data order (a paired design). */
  paired?: boolean;
  /** The paper's own difference for this claim, in the metric's units (for `seedsNeeded`). */
  paperEffect?: number | null;
}

/** Which test formed a verdict's interval. */
export type TestMethod = "paired" | "welch" | "exact" | "none";

/** The verdict on one claim. */
export interface Verdict {
  claimId: string;
  /** The claim in words. */
  text: string;
  kind: ClaimInput["kind"];
  metric: string;
  outcome: Outcome;
  /**
   * Where the CI lies against the paper's difference ("a > b" claims with one): wholly below ("smaller"),
   * wholly above ("larger"), or null (overlapping it, touching it, or no CI / no paper difference). Set
   * whatever the outcome; reports show it beside a reproduced verdict (the outcome says it otherwise).
   */
  vsPaper: "smaller" | "larger" | null;
  /** The decision rule applied, in words. */
  rule: string;
  /** The two rows whose difference decided the verdict (`a − b`). */
  compared: { a: string; b: string };
  /** mean(a) − mean(b) of the compared rows (paired: mean of per-seed differences; NaN without results). */
  delta: number;
  /** Confidence interval of `delta`, or null where none could be formed. */
  ci: [number, number] | null;
  /** Nominal confidence level of the verdict (and of `ci`, unless `bonferroni` says otherwise). */
  level: number;
  /** Set when `ci` is a Bonferroni interval (best-in-group, not reproduced): its level and the family size. */
  bonferroni?: { comparisons: number; level: number };
  /** Tolerance of an "a = b ± tol" claim. */
  tolerance?: number;
  /** Upper bound of a "slightly larger" claim's difference (see `GreaterClaimInput.atMost`). */
  atMost?: number;
  /** The test behind `ci`. */
  method: TestMethod;
  /** Pairs (paired), or seeds of a and b (Welch), behind the deciding comparison. */
  n: string;
  /**
   * Minimum detectable effect at 80 % power: (t_{(1+level)/2,df} + t_{0.8,df}) · SE of `delta` (NaN where no
   * interval exists; 0 when exact).
   */
  mde: number;
  /** Half-width of `ci`, t_{(1+level)/2,df} · SE (NaN where no interval exists; 0 when exact). */
  halfWidth: number;
  /** Two-sided p-value of the deciding test (see `holmVerdicts`); NaN where none exists. */
  pValue: number;
  /** The paper's difference for this claim, when known. */
  paperEffect: number | null;
  /**
   * Seeds per row for 80 % power on the paper's effect, if it held at this scale, at the measured spread
   * (inconclusive verdicts); Infinity when more than `SEEDS_FOR_POWER_MAX` would be needed. A point estimate.
   */
  seedsNeeded: number | null;
  /** `seedsNeeded` at the lower and upper end of the spread's 95 % chi-square interval (Infinity: beyond). */
  seedsNeededRange: [number, number] | null;
  /**
   * A second interval of `delta` (set by the table runner where every compared run recorded its per-image
   * predictions): a bootstrap over the paired seeds and the validation images. The verdict uses `ci`.
   */
  bootstrap?: { ci: [number, number]; pairs: number; images: number; resamples: number; level: number };
  /** Holm-corrected outcome over the table's claims (set by `holmVerdicts`). */
  holm?: { adjustedP: number; outcome: Outcome };
  /** Mean and number of seeds of every row the claim refers to. */
  rows: Record<string, { mean: number; n: number }>;
  /** What the numbers showed, in words. */
  detail: string;
}
