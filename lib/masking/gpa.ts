/**
 * GPA's soft-to-hard masking (paper Sec. 3.2.2, Eq. 6): the masked patches of a sample are split into three
 * shares driven by a teacher's Global Patch-wise Attention (GPA) map, min–max scaled to [0, 1] per image.
 *
 * - hard: the patches with the highest GPA (argsort descending; high GPA = masked);
 * - soft: drawn without replacement with probability ∝ GPA (successive sampling, as `torch.multinomial`);
 * - random: drawn uniformly.
 *
 * With progress t = `ctx.progress` ∈ [0, 1], the shares of the masked count K = `maskedCount(L, maskRatio)`
 * follow Eq. 6: α_s(t) = s₀ + t·(s_T − s₀), α_h(t) = h₀ + t·(h_T − h₀), α_r = 1 − α_s − α_h. Defaults are
 * the paper's (soft 0.5 → 0, hard 0 → 0.5, ratio 0.75).
 *
 * Counts (`gpaShareCounts`): hard = R(α_h·K), soft = min(R(α_s·K), K − hard), random = K − hard − soft, so
 * the three always sum to exactly K. R is `rounding`: "nearest" (default) rounds half up, i.e.
 * ⌊x + 0.5⌋; "floor" is ⌊x⌋, the authors' code (`int(len_mask · ratio)`). Both add 1e-9 before flooring so
 * that products such as 0.3·100 = 29.999… count as intended. The clip on the soft count only bites when
 * both products round up (e.g. K = 3, α_s = α_h = 0.5).
 *
 * Overlap of the soft and hard shares (`overlap`):
 * - "paper" (default): the soft share is drawn among the patches not already hard-masked, and the random
 *   share among the rest, so each share gets exactly its count.
 * - "official": as the authors' code: the soft draw is made from all L patches independently of the hard
 *   set; a drawn patch that is also a hard patch counts once, and the masks are topped up to K with uniform
 *   random patches. The realised soft share (soft draws outside the hard set) is then smaller than asked
 *   whenever hard > 0.
 *
 * The GPA map comes from an injected `mapProvider` (the teacher lives elsewhere). It is called for every
 * batch, even when no share uses it, because the map is returned as `scores` (the MAM target reuses it).
 * @module
 */
import { maskFromIndices, randomFillPerRow, sampleWithoutReplacementPerRow, topKPerRow } from "./select.ts";
import { type MaskBatch, type MaskContext, maskedCount, type MaskStrategy } from "./types.ts";

/** Returns the `[B, L]` GPA map (row-major, per image min–max scaled to [0, 1]) for the batch in `ctx`. */
export type GpaMapProvider = (ctx: MaskContext) => Promise<Float32Array>;

/** How a share's fraction of the masked count becomes a patch count. */
export type GpaRounding = "nearest" | "floor";

/** How the soft draw treats patches already chosen by the hard share. */
export type GpaOverlap = "paper" | "official";

/** Options of `GpaMasking`. */
export interface GpaMaskingOptions {
  /** The teacher's GPA map of a batch. */
  mapProvider: GpaMapProvider;
  /** Fraction of patches masked per sample. Default 0.75. */
  maskRatio?: number;
  /** Soft share of the masked count at t = 0 and t = 1 (α_0^s, α_T^s). Default [0.5, 0]. */
  soft?: readonly [number, number];
  /** Hard share of the masked count at t = 0 and t = 1 (α_0^h, α_T^h). Default [0, 0.5]. */
  hard?: readonly [number, number];
  /** Soft/hard overlap handling: "paper" (disjoint) or "official" (authors' code). Default "paper". */
  overlap?: GpaOverlap;
  /** Share-count rounding: "nearest" (half up) or "floor" (authors' code). Default "nearest". */
  rounding?: GpaRounding;
  /**
   * Let soft + hard exceed 1 and clip the soft share to 1 − hard at every t (the authors' code, where the
   * hard schedule is fixed and the soft draw fills what is left). Default false: such schedules are errors.
   */
  clipSoft?: boolean;
  /** Description of the teacher behind `mapProvider` (model, block, head, variant), for run metadata. */
  describeTeacher?: Record<string, unknown>;
  /**
   * Registry name of the strategy (default "gpa"): the control strategies (`centre`, `mean-map`,
   * `oracle-box`) run this machinery on maps of their own and are told apart by it.
   */
  name?: string;
  /** Description of a map that is not a teacher's per-view GPA (a control's), for run metadata. */
  describeMap?: Record<string, unknown>;
}

/** Patch counts of the three shares of one sample's mask. */
export interface GpaShareCounts {
  hard: number;
  soft: number;
  random: number;
}

/** Where a patch of a `GpaMaskBatch` came from (values of `origin`). */
export const GPA_ORIGIN = { kept: 0, hard: 1, soft: 2, random: 3 } as const;

/** Masks of one batch plus the share each masked patch came from. */
export interface GpaMaskBatch extends MaskBatch {
  /** The GPA map the masks were built from, `[B, L]`. */
  scores: Float32Array;
  /** `[B, L]`: `GPA_ORIGIN` code of every patch (0 kept, 1 hard, 2 soft, 3 random). */
  origin: Uint8Array;
  /** Counts the schedule asked for (identical for every sample). */
  requested: GpaShareCounts;
  /** Realised counts per sample, each `[B]` (equal to `requested` in "paper" mode). */
  shares: { hard: Int32Array; soft: Int32Array; random: Int32Array };
  /** Realised counts, mean per sample over the batch (exact integers in "paper" mode). */
  info: { hard: number; soft: number; random: number; softRequested: number };
}

/**
 * Linear schedule of Eq. 6: `start + t·(end − start)` for progress t ∈ [0, 1].
 * Throws a RangeError for t outside [0, 1] or not finite.
 */
export function shareAt(start: number, end: number, t: number): number {
  if (!(t >= 0 && t <= 1)) throw new RangeError(`progress must be in [0, 1], got ${t}`);
  return start + t * (end - start);
}

function roundShare(x: number, rounding: GpaRounding): number {
  return Math.floor(x + (rounding === "nearest" ? 0.5 : 0) + 1e-9);
}

/**
 * Splits `numMasked` patches into hard, soft and random counts for shares `softShare` and `hardShare`
 * (see the module doc for the rule); the three always sum to `numMasked`.
 */
export function gpaShareCounts(
  numMasked: number,
  softShare: number,
  hardShare: number,
  rounding: GpaRounding = "nearest",
): GpaShareCounts {
  if (!Number.isInteger(numMasked) || numMasked < 0) {
    throw new RangeError(`numMasked must be a non-negative integer, got ${numMasked}`);
  }
  for (const [name, v] of [["soft", softShare], ["hard", hardShare]] as const) {
    if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} share must be in [0, 1], got ${v}`);
  }
  const hard = Math.min(numMasked, roundShare(hardShare * numMasked, rounding));
  const soft = Math.min(numMasked - hard, roundShare(softShare * numMasked, rounding));
  return { hard, soft, random: numMasked - hard - soft };
}

/** Tolerance on share sums such as 0.7 + 0.3, which floating point may put a hair above 1. */
const SUM_TOLERANCE = 1e-9;

/** GPA soft-to-hard masking. */
export class GpaMasking implements MaskStrategy {
  readonly name: string;
  readonly maskRatio: number;
  readonly soft: readonly [number, number];
  readonly hard: readonly [number, number];
  readonly overlap: GpaOverlap;
  readonly rounding: GpaRounding;
  readonly clipSoft: boolean;
  /** The provider runs the teacher on the batch's images. */
  readonly needsImages = true;
  readonly #provider: GpaMapProvider;
  readonly #teacher: Record<string, unknown> | undefined;
  readonly #map: Record<string, unknown> | undefined;

  constructor(options: GpaMaskingOptions) {
    if (typeof options.mapProvider !== "function") {
      throw new TypeError("gpa masking needs a mapProvider function");
    }
    this.#provider = options.mapProvider;
    this.#teacher = options.describeTeacher;
    this.#map = options.describeMap;
    this.name = options.name ?? "gpa";
    this.maskRatio = options.maskRatio ?? 0.75;
    maskedCount(4, this.maskRatio); // validates the ratio
    this.soft = checkPair("soft", options.soft ?? [0.5, 0]);
    this.hard = checkPair("hard", options.hard ?? [0, 0.5]);
    this.clipSoft = options.clipSoft ?? false;
    // The shares are linear in t, so their sum stays in [0, 1] iff it does at both ends.
    for (const t of this.clipSoft ? [] : [0, 1]) {
      const s = shareAt(this.soft[0], this.soft[1], t);
      const h = shareAt(this.hard[0], this.hard[1], t);
      if (!(s + h >= 0 && s + h <= 1 + SUM_TOLERANCE)) {
        throw new RangeError(
          `soft share ${s} + hard share ${h} = ${s + h} at t = ${t} is outside [0, 1] ` +
            `(soft [${this.soft.join(", ")}], hard [${this.hard.join(", ")}])`,
        );
      }
    }
    this.overlap = options.overlap ?? "paper";
    if (this.overlap !== "paper" && this.overlap !== "official") {
      throw new RangeError(`overlap must be "paper" or "official", got ${String(this.overlap)}`);
    }
    this.rounding = options.rounding ?? "nearest";
    if (this.rounding !== "nearest" && this.rounding !== "floor") {
      throw new RangeError(`rounding must be "nearest" or "floor", got ${String(this.rounding)}`);
    }
  }

  /** Soft share α_s(t) (with `clipSoft`, at most 1 − α_h(t)). */
  softShare(progress: number): number {
    const s = shareAt(this.soft[0], this.soft[1], progress);
    return this.clipSoft ? Math.min(s, 1 - this.hardShare(progress)) : s;
  }

  /** Hard share α_h(t). */
  hardShare(progress: number): number {
    return shareAt(this.hard[0], this.hard[1], progress);
  }

  /** Requested share counts of one sample with `numPatches` patches at progress t. */
  countsAt(numPatches: number, progress: number): GpaShareCounts {
    return gpaShareCounts(
      maskedCount(numPatches, this.maskRatio),
      clampShare(this.softShare(progress)),
      clampShare(this.hardShare(progress)),
      this.rounding,
    );
  }

  async generate(ctx: MaskContext): Promise<GpaMaskBatch> {
    const B = ctx.batchSize;
    const L = ctx.grid.rows * ctx.grid.cols;
    const numMasked = maskedCount(L, this.maskRatio);
    const requested = this.countsAt(L, ctx.progress);
    const gpa = await this.#provider(ctx); // [B, L]
    if (gpa.length !== B * L) {
      throw new RangeError(`GPA map provider returned ${gpa.length} values, expected B·L = ${B * L}`);
    }
    for (let i = 0; i < gpa.length; i++) {
      if (!(gpa[i] >= 0 && gpa[i] <= 1)) {
        throw new RangeError(
          `GPA map [${Math.floor(i / L)}, ${i % L}] = ${gpa[i]} is outside [0, 1] (expected min–max scaled)`,
        );
      }
    }
    const origin = new Uint8Array(B * L);
    const hardMask = maskFromIndices(topKPerRow(gpa, B, L, requested.hard), B, L, requested.hard);
    for (let i = 0; i < origin.length; i++) if (hardMask[i] === 1) origin[i] = GPA_ORIGIN.hard;

    // Soft draw: among non-hard patches ("paper"), or among all patches ("official", collisions dropped).
    const softIndices = requested.soft === 0 ? new Int32Array(0) : sampleWithoutReplacementPerRow(
      gpa,
      B,
      L,
      requested.soft,
      ctx.rng,
      this.overlap === "paper" ? hardMask : undefined,
    );
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < requested.soft; i++) {
        const p = b * L + softIndices[b * requested.soft + i];
        if (origin[p] === GPA_ORIGIN.kept) origin[p] = GPA_ORIGIN.soft;
      }
    }

    const mask = new Uint8Array(B * L);
    for (let i = 0; i < origin.length; i++) mask[i] = origin[i] === GPA_ORIGIN.kept ? 0 : 1;
    randomFillPerRow(mask, B, L, numMasked, ctx.rng);
    const shares = { hard: new Int32Array(B), soft: new Int32Array(B), random: new Int32Array(B) };
    for (let b = 0; b < B; b++) {
      for (let j = b * L; j < (b + 1) * L; j++) {
        if (mask[j] === 1 && origin[j] === GPA_ORIGIN.kept) origin[j] = GPA_ORIGIN.random;
        if (origin[j] === GPA_ORIGIN.hard) shares.hard[b]++;
        else if (origin[j] === GPA_ORIGIN.soft) shares.soft[b]++;
        else if (origin[j] === GPA_ORIGIN.random) shares.random[b]++;
      }
    }
    return {
      mask,
      batchSize: B,
      numPatches: L,
      numMasked,
      scores: gpa,
      origin,
      requested,
      shares,
      info: {
        hard: mean(shares.hard),
        soft: mean(shares.soft),
        random: mean(shares.random),
        softRequested: requested.soft,
      },
    };
  }

  describe(): Record<string, unknown> {
    return {
      name: this.name,
      maskRatio: this.maskRatio,
      soft: [...this.soft],
      hard: [...this.hard],
      overlap: this.overlap,
      rounding: this.rounding,
      // Only when set, so that runs without it keep their identity.
      ...(this.clipSoft ? { clipSoft: true } : {}),
      teacher: this.#teacher ?? null,
      // Only controls have one, so GPA's identity is what it was before they existed.
      ...(this.#map ? { map: this.#map } : {}),
    };
  }
}

function checkPair(name: string, pair: readonly [number, number]): readonly [number, number] {
  if (!Array.isArray(pair) || pair.length !== 2) {
    throw new RangeError(`${name} must be a pair [start, end], got ${JSON.stringify(pair)}`);
  }
  for (const v of pair) {
    if (!(v >= 0 && v <= 1)) {
      throw new RangeError(`${name} shares must be in [0, 1], got [${pair.join(", ")}]`);
    }
  }
  return [pair[0], pair[1]];
}

/** Clamps float error of the linear schedule (e.g. −1e-17) back into [0, 1]. */
function clampShare(v: number): number {
  return Math.min(1, Math.max(0, v));
}

function mean(values: Int32Array): number {
  if (values.length === 0) return 0;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}
