import assert from "node:assert/strict";
import {
  GPA_ORIGIN,
  GpaMasking,
  type GpaMaskingOptions,
  gpaShareCounts,
  shareAt,
} from "../lib/masking/gpa.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import { rowCounts } from "../lib/masking/select.ts";
import type { MaskContext } from "../lib/masking/types.ts";
import { Rng } from "../lib/rng.ts";

function ctx(B: number, rows: number, cols: number, progress: number, seed = 1): MaskContext {
  return { batchSize: B, grid: { rows, cols }, progress, epoch: 0, step: 0, rng: new Rng(seed) };
}

/** Maps with distinct values per row: a random permutation of {0, 1/(L−1), …, 1}. */
function distinctMaps(B: number, L: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    const perm = rng.permutation(L);
    for (let j = 0; j < L; j++) out[b * L + j] = perm[j] / (L - 1);
  }
  return out;
}

/** The same `[L]` row repeated B times. */
function repeatRow(row: number[], B: number): Float32Array {
  const out = new Float32Array(B * row.length);
  for (let b = 0; b < B; b++) out.set(row, b * row.length);
  return out;
}

function gpa(map: Float32Array, options: Partial<GpaMaskingOptions> = {}): GpaMasking {
  return new GpaMasking({ mapProvider: () => Promise.resolve(map), ...options });
}

/** Indices of the k largest values of a row, by a plain sort (independent of lib/masking/select.ts). */
function topIndices(row: ArrayLike<number>, k: number): Set<number> {
  const idx = Array.from({ length: row.length }, (_, i) => i);
  idx.sort((a, b) => row[b] - row[a]);
  return new Set(idx.slice(0, k));
}

Deno.test("shareAt: Eq. 6 schedule at t = 0, 0.5, 1", () => {
  assert.equal(shareAt(0.5, 0, 0), 0.5);
  assert.equal(shareAt(0.5, 0, 0.5), 0.25);
  assert.equal(shareAt(0.5, 0, 1), 0);
  assert.equal(shareAt(0, 0.5, 0), 0);
  assert.equal(shareAt(0, 0.5, 0.5), 0.25);
  assert.equal(shareAt(0, 0.5, 1), 0.5);
  assert.equal(shareAt(1, 1, 0.5), 1);
  assert.throws(() => shareAt(0, 1, 1.5), RangeError);
  assert.throws(() => shareAt(0, 1, NaN), RangeError);
  const s = gpa(new Float32Array(0));
  assert.deepEqual([0, 0.5, 1].map((t) => s.softShare(t)), [0.5, 0.25, 0]);
  assert.deepEqual([0, 0.5, 1].map((t) => s.hardShare(t)), [0, 0.25, 0.5]);
});

Deno.test("GpaMasking: schedule validation names the offending values", () => {
  const provider = () => Promise.resolve(new Float32Array(0));
  assert.throws(() => new GpaMasking({ mapProvider: provider, soft: [1, 1] }), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /1\.5 at t = 1/);
    assert.match(e.message, /soft \[1, 1\], hard \[0, 0\.5\]/);
    return true;
  });
  assert.throws(() => new GpaMasking({ mapProvider: provider, hard: [1, 1] }), /1\.5 at t = 0/);
  assert.throws(() => new GpaMasking({ mapProvider: provider, soft: [1.2, 0], hard: [0, 0] }), RangeError);
  assert.throws(() => new GpaMasking({ mapProvider: provider, hard: [-0.1, 0.5] }), RangeError);
  assert.throws(() => new GpaMasking({ mapProvider: provider, maskRatio: 1 }), RangeError);
  assert.throws(() => new GpaMasking({ mapProvider: provider, overlap: "x" as "paper" }), RangeError);
  assert.throws(() => new GpaMasking({ mapProvider: provider, rounding: "x" as "floor" }), RangeError);
  assert.throws(() => new GpaMasking({} as GpaMaskingOptions), TypeError);
  // 0.7 + 0.3 is 1 up to float error; accepted.
  new GpaMasking({ mapProvider: provider, soft: [0.7, 0.7], hard: [0.3, 0.3] });
});

Deno.test("gpaShareCounts: rounding rule and exact sum", () => {
  // K = 147, α = 0.25: 36.75 → 37 (nearest), 36 (floor, as the authors' int()).
  assert.deepEqual(gpaShareCounts(147, 0.25, 0.25), { hard: 37, soft: 37, random: 73 });
  assert.deepEqual(gpaShareCounts(147, 0.25, 0.25, "floor"), { hard: 36, soft: 36, random: 75 });
  // Half rounds up: 0.5·147 = 73.5 → 74 for both shares, so soft is clipped to 147 − 74 = 73.
  assert.deepEqual(gpaShareCounts(147, 0.5, 0.5), { hard: 74, soft: 73, random: 0 });
  // 0.3·100 = 29.999… in floating point still counts as 30 under floor.
  assert.deepEqual(gpaShareCounts(100, 0.3, 0, "floor"), { hard: 0, soft: 30, random: 70 });
  for (let K = 0; K <= 60; K++) {
    for (const s of [0, 0.1, 0.25, 0.5, 0.75, 1]) {
      for (const h of [0, 0.1, 0.25, 0.5, 0.75, 1]) {
        if (s + h > 1) continue;
        for (const r of ["nearest", "floor"] as const) {
          const c = gpaShareCounts(K, s, h, r);
          assert.equal(c.hard + c.soft + c.random, K);
          assert.ok(c.hard >= 0 && c.soft >= 0 && c.random >= 0);
        }
      }
    }
  }
});

// Masked counts K = maskedCount(L, α), written out: L = 64 → 32 / 48 / 58 (64 − ⌊6.4⌋);
// L = 196 → 98 / 147 / 177 (196 − ⌊19.6⌋).
const MASKED: Record<number, Record<number, number>> = {
  64: { 0.5: 32, 0.75: 48, 0.9: 58 },
  196: { 0.5: 98, 0.75: 147, 0.9: 177 },
};
// round-half-up(α·K) for the shares that occur at t ∈ {0, 0.5, 1}, by hand:
// e.g. 0.25·58 = 14.5 → 15, 0.25·147 = 36.75 → 37, 0.25·177 = 44.25 → 44, 0.5·177 = 88.5 → 89.
const ROUNDED: Record<number, Record<number, number>> = {
  32: { 0: 0, 0.25: 8, 0.5: 16, 1: 32 },
  48: { 0: 0, 0.25: 12, 0.5: 24, 1: 48 },
  58: { 0: 0, 0.25: 15, 0.5: 29, 1: 58 },
  98: { 0: 0, 0.25: 25, 0.5: 49, 1: 98 },
  147: { 0: 0, 0.25: 37, 0.5: 74, 1: 147 },
  177: { 0: 0, 0.25: 44, 0.5: 89, 1: 177 },
};

/**
 * Rows of the paper's Table 3 (soft ablation: the hard schedule stays at the default 0 → 0.5, except for
 * the all-soft 1 → 1 rows, where it must be 0) and Table 4 (hard ablation: soft stays at 0.5 → 0, except
 * the all-hard 1 → 1 rows), plus all-soft and all-hard at every ratio.
 */
const CONFIGS: { ratio: number; soft: [number, number]; hard: [number, number] }[] = [
  // Table 3
  ...[[0, 0], [0.5, 0], [1, 0]].map((soft) => ({ ratio: 0.75, soft, hard: [0, 0.5] })),
  ...[0.5, 0.9].flatMap((ratio) => [[0, 0], [0.5, 0]].map((soft) => ({ ratio, soft, hard: [0, 0.5] }))),
  // Table 4
  ...[0.75, 0.5, 0.9].flatMap((ratio) =>
    [[0, 0], [0, 0.5], [0, 1]].map((hard) => ({ ratio, soft: [0.5, 0], hard }))
  ),
  // all soft (Table 3 "soft" rows) and all hard (Table 4 row at 0.75), at every ratio
  ...[0.5, 0.75, 0.9].flatMap((ratio) => [
    { ratio, soft: [1, 1], hard: [0, 0] },
    { ratio, soft: [0, 0], hard: [1, 1] },
  ]),
] as { ratio: number; soft: [number, number]; hard: [number, number] }[];

Deno.test("GpaMasking: exact share counts for every Table 3 / Table 4 configuration, 8×8 and 14×14", async () => {
  assert.equal(CONFIGS.length, 22); // 7 (Table 3) + 9 (Table 4) + 6 (all soft / all hard)
  const B = 3;
  for (const side of [8, 14]) {
    const L = side * side;
    const maps = distinctMaps(B, L, side);
    for (const { ratio, soft, hard } of CONFIGS) {
      const strategy = gpa(maps, { maskRatio: ratio, soft, hard });
      for (const t of [0, 0.5, 1]) {
        const K = MASKED[L][ratio];
        const alphaS = soft[0] + t * (soft[1] - soft[0]);
        const alphaH = hard[0] + t * (hard[1] - hard[0]);
        const h = ROUNDED[K][alphaH];
        const s = Math.min(ROUNDED[K][alphaS], K - h);
        const label = `L=${L} α=${ratio} soft=${soft} hard=${hard} t=${t}`;
        const out = await strategy.generate(ctx(B, side, side, t, 7));
        assert.equal(out.numMasked, K, label);
        assert.deepEqual(out.requested, { hard: h, soft: s, random: K - h - s }, label);
        assert.deepEqual([...rowCounts(out.mask, B, L)], [K, K, K], label);
        assert.deepEqual(out.info, { hard: h, soft: s, random: K - h - s, softRequested: s }, label);
        for (let b = 0; b < B; b++) {
          assert.equal(out.shares.hard[b], h, label);
          assert.equal(out.shares.soft[b], s, label);
          assert.equal(out.shares.random[b], K - h - s, label);
          // Hard patches are exactly the top-h of the map; origin and mask agree.
          const row = maps.subarray(b * L, (b + 1) * L);
          const top = topIndices(row, h);
          for (let j = 0; j < L; j++) {
            const o = out.origin[b * L + j];
            assert.equal(o === GPA_ORIGIN.hard, top.has(j), `${label} patch ${j}`);
            assert.equal(out.mask[b * L + j], o === GPA_ORIGIN.kept ? 0 : 1);
          }
        }
        assert.equal(out.scores, maps);
      }
    }
  }
});

/**
 * Exact inclusion probabilities of 2 successive draws without replacement with weights w:
 * P(j) = w_j/W + Σ_{i≠j} (w_i/W)·(w_j/(W − w_i)).
 */
function twoDrawInclusion(w: number[]): number[] {
  const W = w.reduce((a, b) => a + b, 0);
  return w.map((wj, j) => {
    let p = wj / W;
    for (let i = 0; i < w.length; i++) if (i !== j) p += (w[i] / W) * (wj / (W - w[i]));
    return p;
  });
}

function assertFrequencies(counts: number[], probs: number[], n: number, label: string): void {
  for (let j = 0; j < probs.length; j++) {
    const p = probs[j];
    const sigma = Math.sqrt((p * (1 - p)) / n);
    const f = counts[j] / n;
    assert.ok(Math.abs(f - p) <= 5 * sigma + 1e-12, `${label} patch ${j}: frequency ${f} vs ${p}`);
  }
}

Deno.test("GpaMasking: soft draws ∝ GPA among the non-hard patches, without repeats", async () => {
  const B = 20000;
  const row = [1, 0.8, 0.1, 0.4, 0.2, 0.6]; // 2×3 grid; patch 0 is the top patch
  const maps = repeatRow(row, B);
  // One soft draw: K = 3 at ratio 0.5; soft 1/3 → 1 patch, no hard → P(j) = w_j / Σw.
  const one = await gpa(maps, { maskRatio: 0.5, soft: [1 / 3, 1 / 3], hard: [0, 0] })
    .generate(ctx(B, 2, 3, 0.3, 11));
  assert.deepEqual(one.requested, { hard: 0, soft: 1, random: 2 });
  const counts1 = row.map((_, j) => {
    let c = 0;
    for (let b = 0; b < B; b++) c += one.origin[b * 6 + j] === GPA_ORIGIN.soft ? 1 : 0;
    return c;
  });
  const W = row.reduce((a, b) => a + b, 0);
  assertFrequencies(counts1, row.map((w) => w / W), B, "one draw");

  // Hard 1/3 → patch 0; soft 2/3 → 2 draws among patches 1…5 (exact inclusion by enumeration).
  const two = await gpa(maps, { maskRatio: 0.5, soft: [2 / 3, 2 / 3], hard: [1 / 3, 1 / 3] })
    .generate(ctx(B, 2, 3, 0.5, 12));
  assert.deepEqual(two.requested, { hard: 1, soft: 2, random: 0 });
  const counts2 = [0, 0, 0, 0, 0];
  for (let b = 0; b < B; b++) {
    assert.equal(two.origin[b * 6], GPA_ORIGIN.hard);
    let soft = 0;
    for (let j = 1; j < 6; j++) {
      if (two.origin[b * 6 + j] === GPA_ORIGIN.soft) {
        counts2[j - 1]++;
        soft++;
      }
    }
    assert.equal(soft, 2); // two distinct soft patches in every sample
  }
  assertFrequencies(counts2, twoDrawInclusion(row.slice(1)), B, "two draws");
});

Deno.test("GpaMasking: the random share is uniform over the non-hard patches", async () => {
  const B = 20000;
  const L = 16;
  const maps = repeatRow(Array.from({ length: L }, (_, j) => j / (L - 1)), B);
  // K = 8; hard 0.5 → the top 4 (patches 12…15); soft 0; random 4 of the other 12: P = 1/3 each.
  const out = await gpa(maps, { maskRatio: 0.5, soft: [0, 0], hard: [0.5, 0.5] }).generate(
    ctx(B, 4, 4, 0, 5),
  );
  assert.deepEqual(out.requested, { hard: 4, soft: 0, random: 4 });
  const counts = new Array(12).fill(0);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < L; j++) {
      const o = out.origin[b * L + j];
      if (j >= 12) assert.equal(o, GPA_ORIGIN.hard);
      else if (o === GPA_ORIGIN.random) counts[j]++;
    }
  }
  assertFrequencies(counts, new Array(12).fill(1 / 3), B, "random share");
});

Deno.test("GpaMasking: deterministic under a seed", async () => {
  const maps = distinctMaps(4, 196, 3);
  const s = gpa(maps);
  const a = await s.generate(ctx(4, 14, 14, 0.4, 99));
  const b = await s.generate(ctx(4, 14, 14, 0.4, 99));
  const c = await s.generate(ctx(4, 14, 14, 0.4, 100));
  assert.deepEqual(a.mask, b.mask);
  assert.deepEqual(a.origin, b.origin);
  assert.notDeepEqual(a.mask, c.mask);
  const o = gpa(maps, { overlap: "official" });
  assert.deepEqual(
    (await o.generate(ctx(4, 14, 14, 0.4, 99))).origin,
    (await o.generate(ctx(4, 14, 14, 0.4, 99))).origin,
  );
});

Deno.test("GpaMasking: provider output is validated", async () => {
  await assert.rejects(() => gpa(new Float32Array(10)).generate(ctx(1, 4, 4, 0)), RangeError);
  const bad = new Float32Array(16).fill(0.5);
  bad[3] = 1.5;
  await assert.rejects(() => gpa(bad).generate(ctx(1, 4, 4, 0)), /outside \[0, 1\]/);
  bad[3] = NaN;
  await assert.rejects(() => gpa(bad).generate(ctx(1, 4, 4, 0)), RangeError);
});

Deno.test("GpaMasking official overlap: soft draws from all patches, collisions refilled at random", async () => {
  // Uniform weights: the soft draw is a uniform s-subset of L, so E[|S ∩ H|] = s·h/L (hypergeometric).
  const B = 2000;
  const L = 196;
  const uniform = new Float32Array(B * L).fill(1);
  const out = await gpa(uniform, { overlap: "official" }).generate(ctx(B, 14, 14, 0.5, 21));
  assert.deepEqual(out.requested, { hard: 37, soft: 37, random: 73 });
  const expected = 37 * (1 - 37 / 196);
  assert.ok(Math.abs(out.info.soft - expected) < 0.3, `realised soft ${out.info.soft} vs ${expected}`);
  assert.deepEqual([...new Set(rowCounts(out.mask, B, L))], [147]);
  for (let b = 0; b < B; b++) {
    assert.equal(out.shares.hard[b], 37);
    assert.equal(out.shares.soft[b] + out.shares.random[b], 110);
  }

  // Weight concentrated on the hard patches: almost every soft draw collides; paper mode keeps all 37.
  const row = Array.from({ length: L }, (_, j) => (j < 37 ? 1 : 1e-6));
  const peaked = repeatRow(row, 200);
  const official = await gpa(peaked, { overlap: "official" }).generate(ctx(200, 14, 14, 0.5, 22));
  const paper = await gpa(peaked).generate(ctx(200, 14, 14, 0.5, 22));
  assert.ok(official.info.soft < 0.5, `official realised soft ${official.info.soft}`);
  assert.equal(paper.info.soft, 37);
  for (let b = 0; b < 200; b++) {
    for (let j = 0; j < 37; j++) assert.equal(official.origin[b * L + j], GPA_ORIGIN.hard);
  }
});

/** Object-like maps: a Gaussian bump (σ = 2.5 patches) at a random centre plus noise, min–max scaled. */
function blobMaps(B: number, side: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const L = side * side;
  const out = new Float32Array(B * L);
  for (let b = 0; b < B; b++) {
    const cy = rng.uniform(3, side - 3);
    const cx = rng.uniform(3, side - 3);
    let lo = Infinity;
    let hi = -Infinity;
    const raw = new Float64Array(L);
    for (let j = 0; j < L; j++) {
      const y = Math.floor(j / side);
      const x = j % side;
      raw[j] = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * 2.5 ** 2)) + 0.1 * rng.next();
      lo = Math.min(lo, raw[j]);
      hi = Math.max(hi, raw[j]);
    }
    for (let j = 0; j < L; j++) out[b * L + j] = (raw[j] - lo) / (hi - lo);
  }
  return out;
}

Deno.test("GpaMasking: measured soft shortfall of the official overlap rule (14×14, default schedule)", async () => {
  const B = 1000;
  const lines: string[] = [];
  for (
    const [name, maps] of [["blob", blobMaps(B, 14, 8)], ["uniform-noise", distinctMaps(B, 196, 9)]] as const
  ) {
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      const paper = await gpa(maps).generate(ctx(B, 14, 14, t, 31));
      const official = await gpa(maps, { overlap: "official" }).generate(ctx(B, 14, 14, t, 31));
      const req = paper.requested;
      assert.equal(paper.info.soft, req.soft);
      assert.ok(official.info.soft <= req.soft);
      if (req.hard === 0 || req.soft === 0) assert.equal(official.info.soft, req.soft);
      else assert.ok(official.info.soft < req.soft, `t=${t}: collisions expected`);
      lines.push(
        `${name} t=${t}: hard ${req.hard}, soft requested ${req.soft}, official realised soft ` +
          `${official.info.soft.toFixed(2)} (${
            ((1 - official.info.soft / Math.max(1, req.soft)) * 100).toFixed(1)
          }% ` +
          `short), random ${req.random} → ${official.info.random.toFixed(2)}`,
      );
    }
  }
  console.log(lines.join("\n"));
});

Deno.test("GpaMasking: describe, needsImages and registry", () => {
  const provider = () => Promise.resolve(new Float32Array(0));
  const s = createMaskStrategy("gpa", {
    mapProvider: provider,
    describeTeacher: { model: "mae-vit-b16", block: 9, head: 11 },
  });
  assert.ok(s instanceof GpaMasking);
  assert.equal(s.needsImages, true);
  assert.deepEqual(s.describe(), {
    name: "gpa",
    maskRatio: 0.75,
    soft: [0.5, 0],
    hard: [0, 0.5],
    overlap: "paper",
    rounding: "nearest",
    teacher: { model: "mae-vit-b16", block: 9, head: 11 },
  });
  assert.throws(() => createMaskStrategy("gpa", {}), TypeError);
});

Deno.test("clipSoft: soft 1 → 1 keeps the hard share 0 → 0.5 and takes what is left (Table 3's α_s 1 → 1)", () => {
  const provider = () => Promise.resolve(new Float32Array(0));
  assert.throws(
    () => new GpaMasking({ mapProvider: provider, soft: [1, 1], hard: [0, 0.5] }),
    /outside \[0, 1\]/,
    "without clipping, soft + hard > 1 is an error",
  );
  const m = new GpaMasking({ mapProvider: provider, soft: [1, 1], hard: [0, 0.5], clipSoft: true });
  // L = 64, ratio 0.75 → K = 48.
  assert.deepEqual(m.countsAt(64, 0), { hard: 0, soft: 48, random: 0 });
  assert.deepEqual(m.countsAt(64, 0.5), { hard: 12, soft: 36, random: 0 });
  assert.deepEqual(m.countsAt(64, 1), { hard: 24, soft: 24, random: 0 });
  assert.equal(m.describe().clipSoft, true);
  assert.equal(
    "clipSoft" in new GpaMasking({ mapProvider: provider }).describe(),
    false,
    "identity unchanged when off",
  );
});
