/**
 * Small-sample statistics for reports: mean, sample standard deviation, Student-t and chi-square quantiles,
 * 95 % confidence intervals of a mean and of a difference of two means (Welch), the minimum detectable effect
 * at 80 % power and the seeds that power needs.
 *
 * The t distribution is evaluated through the regularized incomplete beta function (continued fraction,
 * modified Lentz), and its quantile is found by bisection, so fractional Welch degrees of freedom work too.
 * Above 1e5 degrees of freedom the normal quantile with a first-order Cornish–Fisher term is used. The
 * chi-square distribution goes through the regularized lower incomplete gamma function (series below a + 1,
 * continued fraction above).
 * @module
 */

/** Arithmetic mean; NaN for an empty list. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Unbiased sample variance (divisor n − 1); NaN for fewer than two values. */
export function sampleVariance(values: readonly number[]): number {
  const n = values.length;
  if (n < 2) return NaN;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) * (v - m);
  return ss / (n - 1);
}

/** Sample standard deviation (divisor n − 1); NaN for fewer than two values. */
export function sampleStd(values: readonly number[]): number {
  return Math.sqrt(sampleVariance(values));
}

// Lanczos approximation (g = 7, 9 terms) of ln Γ(x) for x > 0.
const LANCZOS = [
  0.99999999999980993,
  676.5203681218851,
  -1259.1392167224028,
  771.32342877765313,
  -176.61502916214059,
  12.507343278686905,
  -0.13857109526572012,
  9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) {
    // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  }
  const z = x - 1;
  let series = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) series += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(series);
}

/** Continued fraction of the incomplete beta function (modified Lentz); converges for x < (a+1)/(a+b+2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const maxIterations = 10000;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let result = d;
  for (let m = 1; m <= maxIterations; m++) {
    const m2 = 2 * m;
    // Even step: d_{2m} = m (b − m) x / ((a + 2m − 1)(a + 2m)).
    let coefficient = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + coefficient * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + coefficient / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    result *= d * c;
    // Odd step: d_{2m+1} = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    coefficient = -((a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + coefficient * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + coefficient / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    result *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return result;
}

/** Regularized incomplete beta function I_x(a, b) for a, b > 0 and x in [0, 1]. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`beta parameters must be positive, got ${a}, ${b}`);
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  const front = Math.exp(logFront);
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Cumulative distribution function of Student's t with `df` > 0 degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  if (t === 0) return 0.5;
  // P(|T| > |t|) = I_{df/(df+t²)}(df/2, 1/2).
  const tail = regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail / 2 : tail / 2;
}

/** Regularized lower incomplete gamma function P(a, x) for a > 0, x ≥ 0. */
export function regularizedLowerGamma(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`gamma parameter must be positive, got ${a}`);
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  const logFront = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    // Series: P = e^{−x} x^a / Γ(a + 1) · Σ x^n / ((a + 1)…(a + n)).
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.min(1, sum * Math.exp(logFront));
  }
  // Continued fraction of Q = 1 − P (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.max(0, 1 - Math.exp(logFront) * h);
}

/** Cumulative distribution function of the chi-square distribution with `df` > 0 degrees of freedom. */
export function chiSquareCdf(x: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  return regularizedLowerGamma(df / 2, x / 2);
}

/** Quantile of the chi-square distribution with `df` > 0 degrees of freedom, p in (0, 1). */
export function chiSquareQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  let hi = Math.max(1, df);
  while (chiSquareCdf(hi, df) < p && hi < 1e300) hi *= 2;
  return bisect((x) => chiSquareCdf(x, df), p, 0, hi);
}

/** Standard normal CDF via the all-positive-terms series of erf (accurate for |x| ≲ 8). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  if (z > 6) return x > 0 ? 1 : 0;
  // erf(z) = 2/√π · e^{−z²} · Σ_n (2z²)^n z / (1·3·…·(2n+1)).
  let term = z;
  let sum = z;
  for (let n = 1; n < 500; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  const erf = (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
  return x >= 0 ? 0.5 + 0.5 * erf : 0.5 - 0.5 * erf;
}

function bisect(f: (x: number) => number, target: number, lo: number, hi: number): number {
  for (let i = 0; i < 200; i++) {
    const mid = 0.5 * (lo + hi);
    if (f(mid) < target) lo = mid;
    else hi = mid;
    if (hi - lo <= 1e-13 * Math.max(1, Math.abs(mid))) break;
  }
  return 0.5 * (lo + hi);
}

/** Quantile of the standard normal distribution, p in (0, 1). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -normalQuantile(1 - p);
  return bisect(normalCdf, p, 0, 40);
}

/** Quantile of Student's t with `df` > 0 degrees of freedom (fractional df allowed), p in (0, 1). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`probability must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  if (df > 1e5) {
    const z = normalQuantile(p);
    return z + (z * z * z + z) / (4 * df);
  }
  // Bracket the root by doubling, then bisect.
  let hi = 2;
  while (studentTCdf(hi, df) < p && hi < 1e300) hi *= 2;
  return bisect((t) => studentTCdf(t, df), p, 0, hi);
}

/** A two-sided confidence interval. `lower`/`upper` are NaN where it cannot be formed (too few values). */
export interface ConfidenceInterval {
  /** Point estimate (a mean, or a difference of means). */
  estimate: number;
  lower: number;
  upper: number;
  /** Half width (t · standard error). */
  halfWidth: number;
  /** Standard error of the estimate. */
  standardError: number;
  /** Degrees of freedom of the t quantile (Welch–Satterthwaite for differences). */
  df: number;
  /** Confidence level, e.g. 0.95. */
  level: number;
}

function notFormed(estimate: number, level: number): ConfidenceInterval {
  return { estimate, lower: NaN, upper: NaN, halfWidth: NaN, standardError: NaN, df: NaN, level };
}

/** Student-t confidence interval of the mean of `values` (needs at least two values). */
export function meanConfidenceInterval(values: readonly number[], level = 0.95): ConfidenceInterval {
  const n = values.length;
  const m = mean(values);
  if (n < 2) return notFormed(m, level);
  const standardError = sampleStd(values) / Math.sqrt(n);
  const df = n - 1;
  const halfWidth = studentTQuantile(0.5 + level / 2, df) * standardError;
  return { estimate: m, lower: m - halfWidth, upper: m + halfWidth, halfWidth, standardError, df, level };
}

/**
 * Welch confidence interval of mean(a) − mean(b) (unequal variances; needs two values on each side).
 * When both samples have zero spread the interval collapses onto the difference.
 */
export function welchDifferenceInterval(
  a: readonly number[],
  b: readonly number[],
  level = 0.95,
): ConfidenceInterval {
  const estimate = mean(a) - mean(b);
  if (a.length < 2 || b.length < 2) return notFormed(estimate, level);
  const va = sampleVariance(a) / a.length;
  const vb = sampleVariance(b) / b.length;
  const standardError = Math.sqrt(va + vb);
  // Welch–Satterthwaite; with both variances zero the df is undefined and the pooled df is used.
  const df = va + vb > 0
    ? (va + vb) ** 2 / ((va * va) / (a.length - 1) + (vb * vb) / (b.length - 1))
    : a.length + b.length - 2;
  const halfWidth = studentTQuantile(0.5 + level / 2, df) * standardError;
  return {
    estimate,
    lower: estimate - halfWidth,
    upper: estimate + halfWidth,
    halfWidth,
    standardError,
    df,
    level,
  };
}

/**
 * Paired confidence interval of mean(a − b) for aligned samples (`a[i]` and `b[i]` measured under the same
 * seed: same initialisation and data order), a Student-t interval of the per-pair differences with n − 1
 * degrees of freedom. Needs two pairs; with zero spread it collapses onto the difference.
 */
export function pairedDifferenceInterval(
  a: readonly number[],
  b: readonly number[],
  level = 0.95,
): ConfidenceInterval {
  if (a.length !== b.length) {
    throw new RangeError(`paired samples differ in length: ${a.length} vs ${b.length}`);
  }
  return meanConfidenceInterval(a.map((v, i) => v - b[i]), level);
}

/** Two-sided p-value of H0: true value 0 for a t statistic `estimate / standardError` with `df`. */
export function twoSidedPValue(estimate: number, standardError: number, df: number): number {
  if (!(df > 0) || !Number.isFinite(estimate)) return NaN;
  if (standardError === 0) return estimate === 0 ? 1 : 0;
  const t = Math.abs(estimate / standardError);
  // The two-sided tail directly, I_{df/(df+t²)}(df/2, 1/2): no cancellation in 1 − cdf for tiny p.
  return Math.min(1, regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5));
}

/**
 * Holm's step-down adjustment of p-values (family-wise error control for several claims of one table):
 * sorted ascending, p₍ⱼ₎ becomes max over i ≤ j of min(1, (m − i + 1)·p₍ᵢ₎). NaN entries stay NaN and do
 * not count towards m.
 */
export function holmAdjust(pValues: readonly number[]): number[] {
  const idx = pValues.map((p, i) => [p, i] as const).filter(([p]) => Number.isFinite(p)).sort((x, y) =>
    x[0] - y[0]
  );
  const m = idx.length;
  const out = pValues.map(() => NaN);
  let running = 0;
  idx.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}

/**
 * Minimum detectable effect of a t-based interval at `power` (default 0.8): (t_{(1+level)/2, df} +
 * t_{power, df}) · standard error — the true difference whose interval would exclude 0 with probability
 * `power` if the standard error were the true one (the level is the interval's). NaN where the interval
 * could not be formed; 0 for a collapsed one.
 */
export function minimumDetectableEffect(interval: ConfidenceInterval, power = 0.8): number {
  const { standardError: se, df, level } = interval;
  if (!(Number.isFinite(se) && df > 0)) return NaN;
  if (se === 0) return 0;
  return (studentTQuantile(0.5 + level / 2, df) + studentTQuantile(power, df)) * se;
}

/**
 * 95 % (or `level`) interval of a standard deviation `sd` estimated with `df` degrees of freedom, from the
 * chi-square distribution of df·s²/σ²: [s·√(df/χ²_{(1+level)/2}), s·√(df/χ²_{(1−level)/2})].
 */
export function sdConfidenceInterval(sd: number, df: number, level = 0.95): [number, number] {
  if (!(Number.isFinite(sd) && sd >= 0 && df > 0)) return [NaN, NaN];
  const alpha = 1 - level;
  return [
    sd * Math.sqrt(df / chiSquareQuantile(1 - alpha / 2, df)),
    sd * Math.sqrt(df / chiSquareQuantile(alpha / 2, df)),
  ];
}

/** The largest number of seeds {@linkcode seedsForPower} searches by default; beyond it, Infinity. */
export const SEEDS_FOR_POWER_MAX = 1000;

/**
 * Seeds per row needed to detect an effect of size `effect` with probability `power` by a two-sided test at
 * `level` confidence, given a per-seed standard deviation `sd`: the smallest n ≥ 2 with
 * (t₁₋α/₂,df + t_power,df) · se(n) ≤ |effect|. Paired (`sd` of the per-seed differences): se = sd/√n,
 * df = n − 1. Unpaired (`sd` the common per-row spread, equal n per row): se = sd·√(2/n), df = 2n − 2.
 * Returns Infinity above `max` (default 1000) and NaN for a non-finite or zero effect or spread.
 */
export function seedsForPower(o: {
  sd: number;
  effect: number;
  paired: boolean;
  level?: number;
  power?: number;
  max?: number;
}): number {
  const level = o.level ?? 0.95;
  const power = o.power ?? 0.8;
  const max = o.max ?? SEEDS_FOR_POWER_MAX;
  // With no spread there is nothing more seeds could resolve: no number (NaN), as documented.
  if (!(Number.isFinite(o.sd) && o.sd > 0 && Number.isFinite(o.effect) && o.effect !== 0)) return NaN;
  for (let n = 2; n <= max; n++) {
    const df = o.paired ? n - 1 : 2 * n - 2;
    const se = o.paired ? o.sd / Math.sqrt(n) : o.sd * Math.sqrt(2 / n);
    const reach = (studentTQuantile(0.5 + level / 2, df) + studentTQuantile(power, df)) * se;
    if (reach <= Math.abs(o.effect)) return n;
  }
  return Infinity;
}
