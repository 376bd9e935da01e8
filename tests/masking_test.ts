import assert from "node:assert/strict";
import { Rng } from "../lib/rng.ts";
import { BlockMasking, defaultMinBlockPatches } from "../lib/masking/block.ts";
import { ClsAttentionMasking } from "../lib/masking/cls_attention.ts";
import { hpmAbsoluteLoss, HpmMasking, hpmRelativeLoss } from "../lib/masking/hpm.ts";
import { createMaskStrategy, MASK_STRATEGY_NAMES } from "../lib/masking/mod.ts";
import { RandomMasking } from "../lib/masking/random.ts";
import type { MaskBatch, MaskContext, MaskStrategy } from "../lib/masking/types.ts";
import { UniformMasking } from "../lib/masking/uniform.ts";

const GRIDS: [number, number][] = [[2, 2], [4, 4], [8, 8], [14, 14]];
const BATCHES = [1, 3, 8];

function ctx(batchSize: number, rows: number, cols: number, seed: number, progress = 0.5): MaskContext {
  return { batchSize, grid: { rows, cols }, progress, epoch: 0, step: 0, rng: new Rng(seed) };
}

/** A provider of seeded random `[B, L]` scores in (0, 1), different per sample and per call seed. */
function randomScores(seed: number) {
  return (c: MaskContext): Promise<Float32Array> => {
    const L = c.grid.rows * c.grid.cols;
    const rng = new Rng(seed + c.step);
    return Promise.resolve(Float32Array.from({ length: c.batchSize * L }, () => rng.next() + 1e-3));
  };
}

function strategies(): MaskStrategy[] {
  return [
    new BlockMasking(),
    new UniformMasking(),
    new ClsAttentionMasking({ variant: "top", attentionProvider: randomScores(1) }),
    new ClsAttentionMasking({ variant: "sample", attentionProvider: randomScores(2) }),
    new HpmMasking({ lossPredictionProvider: randomScores(3) }),
  ];
}

function rowsOf(batch: MaskBatch): string[] {
  const L = batch.numPatches;
  return Array.from({ length: batch.batchSize }, (_, b) => batch.mask.subarray(b * L, (b + 1) * L).join(""));
}

function checkCounts(batch: MaskBatch, expectedMasked: number): void {
  const L = batch.numPatches;
  assert.equal(batch.numMasked, expectedMasked);
  assert.equal(batch.mask.length, batch.batchSize * L);
  for (let b = 0; b < batch.batchSize; b++) {
    let count = 0;
    for (let j = 0; j < L; j++) {
      const v = batch.mask[b * L + j];
      assert.ok(v === 0 || v === 1);
      count += v;
    }
    assert.equal(count, expectedMasked, `sample ${b}`);
  }
}

Deno.test("masking: exact masked counts for every strategy, grid and batch size", async () => {
  // Hand values of L − int(L·0.25): 2×2 → 3, 4×4 → 12, 8×8 → 48, 14×14 → 147.
  const expected: Record<number, number> = { 4: 3, 16: 12, 64: 48, 196: 147 };
  for (const strategy of strategies()) {
    for (const [rows, cols] of GRIDS) {
      for (const B of BATCHES) {
        const batch = await strategy.generate(ctx(B, rows, cols, 11 * B + rows));
        checkCounts(batch, expected[rows * cols]);
      }
    }
  }
  // Other ratios and a non-square grid.
  for (const [rows, cols, ratio, masked] of [[14, 14, 0.4, 79], [6, 10, 0.6, 36], [3, 5, 0.5, 8]]) {
    checkCounts(new BlockMasking({ maskRatio: ratio }).generate(ctx(4, rows, cols, 5)), masked);
    checkCounts(
      await new HpmMasking({ maskRatio: ratio, lossPredictionProvider: randomScores(9) })
        .generate(ctx(4, rows, cols, 5, 1)),
      masked,
    );
  }
});

Deno.test("masking: samples of a batch differ, and masks are deterministic under a seed", async () => {
  for (const strategy of strategies()) {
    for (const [rows, cols] of [[8, 8], [14, 14]]) {
      const a = await strategy.generate(ctx(8, rows, cols, 42));
      const b = await strategy.generate(ctx(8, rows, cols, 42));
      const c = await strategy.generate(ctx(8, rows, cols, 43));
      assert.deepEqual(a.mask, b.mask, `${strategy.name} deterministic`);
      const distinct = new Set(rowsOf(a)).size;
      assert.ok(distinct >= 7, `${strategy.name}: only ${distinct} distinct samples of 8`);
      if (!(strategy instanceof ClsAttentionMasking && strategy.variant === "top")) {
        assert.notDeepEqual(a.mask, c.mask, `${strategy.name} depends on the seed`);
      }
    }
  }
});

Deno.test("block: the mask is the union of the recorded rectangles plus the recorded fill", () => {
  for (
    const [rows, cols, ratio] of [[14, 14, 0.75], [14, 14, 0.4], [8, 8, 0.75], [4, 4, 0.75], [2, 2, 0.75]]
  ) {
    const strategy = new BlockMasking({ maskRatio: ratio });
    const minBlock = strategy.minBlockFor(rows, cols);
    const batch = strategy.generate(ctx(16, rows, cols, rows * 7));
    const L = rows * cols;
    let filledTotal = 0;
    for (let b = 0; b < batch.batchSize; b++) {
      const rebuilt = new Uint8Array(L);
      for (const r of batch.rectangles[b]) {
        assert.ok(r.height >= 1 && r.width >= 1 && r.height < rows && r.width < cols, JSON.stringify(r));
        assert.ok(r.top >= 0 && r.left >= 0 && r.top + r.height <= rows && r.left + r.width <= cols);
        assert.ok(r.height * r.width >= minBlock, `block ${r.height}×${r.width} below ${minBlock}`);
        const before = rebuilt.reduce((s, v) => s + v, 0);
        for (let i = r.top; i < r.top + r.height; i++) {
          for (let j = r.left; j < r.left + r.width; j++) {
            rebuilt[i * cols + j] = 1;
          }
        }
        assert.ok(rebuilt.reduce((s, v) => s + v, 0) > before, "each rectangle adds patches");
      }
      // Replay the fill: every filled patch was unmasked and, when any patch was masked, 4-adjacent to one.
      for (const p of batch.filled[b]) {
        assert.equal(rebuilt[p], 0);
        const i = Math.floor(p / cols);
        const j = p % cols;
        const anyMasked = rebuilt.some((v) => v === 1);
        const adjacent = (i > 0 && rebuilt[p - cols] === 1) || (i < rows - 1 && rebuilt[p + cols] === 1) ||
          (j > 0 && rebuilt[p - 1] === 1) || (j < cols - 1 && rebuilt[p + 1] === 1);
        assert.ok(!anyMasked || adjacent, `fill ${p} not adjacent`);
        rebuilt[p] = 1;
      }
      filledTotal += batch.filled[b].length;
      assert.deepEqual(rebuilt, batch.mask.subarray(b * L, (b + 1) * L));
    }
    assert.equal(batch.info.filledPatches, filledTotal);
    if (rows === 14) {
      // Rectangles carry nearly all of the mask at 14×14 (measured ≈ 2–3 % fill).
      assert.ok(filledTotal < 0.1 * batch.batchSize * batch.numMasked, `fill ${filledTotal}`);
    }
  }
  assert.equal(defaultMinBlockPatches(14, 14), 16);
  assert.equal(defaultMinBlockPatches(8, 8), 5); // round(16·64/196) = round(5.22)
  assert.equal(defaultMinBlockPatches(2, 2), 1);
});

Deno.test("block: random fill option, describe and invalid options", () => {
  const batch = new BlockMasking({ fill: "random", maxAttempts: 1 }).generate(ctx(8, 8, 8, 1));
  checkCounts(batch, 48);
  const d = new BlockMasking({ maskRatio: 0.4 }).describe();
  assert.equal(d.maskRatio, 0.4);
  assert.equal(d.minAspect, 0.3);
  assert.throws(() => new BlockMasking({ maskRatio: 1 }), RangeError);
  assert.throws(() => new BlockMasking({ minAspect: 0 }), RangeError);
  assert.throws(() => new BlockMasking({ minBlockPatches: 0 }), RangeError);
});

Deno.test("uniform: exactly one kept patch per 2×2 window; secondary mask inside the kept ones", () => {
  const counts = [0, 0, 0, 0];
  for (const [rows, cols] of [[2, 2], [4, 4], [8, 8], [14, 14], [4, 6]]) {
    const batch = new UniformMasking().generate(ctx(8, rows, cols, rows + cols));
    const L = rows * cols;
    const kept = L / 4;
    assert.equal(batch.numSecondary, kept - Math.floor(kept * 0.75));
    for (let b = 0; b < 8; b++) {
      const m = batch.mask.subarray(b * L, (b + 1) * L);
      const s = batch.secondaryMask.subarray(b * L, (b + 1) * L);
      for (let wi = 0; wi < rows; wi += 2) {
        for (let wj = 0; wj < cols; wj += 2) {
          const cells = [wi * cols + wj, wi * cols + wj + 1, (wi + 1) * cols + wj, (wi + 1) * cols + wj + 1];
          const keptCells = cells.filter((p) => m[p] === 0);
          assert.equal(keptCells.length, 1);
          counts[cells.indexOf(keptCells[0])]++;
        }
      }
      let secondary = 0;
      for (let p = 0; p < L; p++) {
        if (s[p] === 1) {
          assert.equal(m[p], 0, "secondary-masked patches are kept patches");
          secondary++;
        }
      }
      assert.equal(secondary, batch.numSecondary);
    }
  }
  // The kept position inside a window is uniform: 8·(1 + 4 + 16 + 49 + 6) = 608 windows, p = 1/4.
  const n = counts.reduce((a, b) => a + b, 0);
  assert.equal(n, 608);
  for (const c of counts) assert.ok(Math.abs(c - n / 4) < 4.5 * Math.sqrt(n * 0.25 * 0.75), `${counts}`);
  // 14×14: 49 kept, 49 − int(49·0.75) = 13 secondary; off when the ratio is 0.
  assert.equal(new UniformMasking().generate(ctx(1, 14, 14, 1)).numSecondary, 13);
  const off = new UniformMasking({ secondaryMaskRatio: 0 }).generate(ctx(2, 4, 4, 1));
  assert.equal(off.numSecondary, 0);
  assert.ok(off.secondaryMask.every((v) => v === 0));
});

Deno.test("uniform: odd grids throw a RangeError", () => {
  for (const [rows, cols] of [[3, 4], [4, 7], [7, 7], [1, 2]]) {
    assert.throws(() => new UniformMasking().generate(ctx(1, rows, cols, 1)), (e: unknown) => {
      return e instanceof RangeError && /even patch grid/.test(e.message) &&
        e.message.includes(`${rows}×${cols}`);
    });
  }
  assert.throws(() => new UniformMasking({ secondaryMaskRatio: 1 }), RangeError);
});

Deno.test("cls-attention top: masks exactly the most attended patches", async () => {
  const B = 4;
  const L = 64;
  const attention = new Float32Array(B * L);
  const rng = new Rng(5);
  for (let i = 0; i < attention.length; i++) attention[i] = rng.next();
  const strategy = new ClsAttentionMasking({
    variant: "top",
    attentionProvider: () => Promise.resolve(attention),
  });
  const batch = await strategy.generate(ctx(B, 8, 8, 1));
  for (let b = 0; b < B; b++) {
    const row = Array.from(attention.subarray(b * L, (b + 1) * L));
    const order = row.map((v, j) => [v, j]).sort((x, y) => y[0] - x[0]).map(([, j]) => j);
    const top = new Set(order.slice(0, 48));
    for (let j = 0; j < L; j++) assert.equal(batch.mask[b * L + j], top.has(j) ? 1 : 0);
  }
  assert.equal(batch.scores, attention);
  assert.equal(strategy.needsImages, true);
  // A provider returning the wrong shape is an error.
  const bad = new ClsAttentionMasking({
    variant: "top",
    attentionProvider: () => Promise.resolve(new Float32Array(3)),
  });
  await assert.rejects(async () => await bad.generate(ctx(B, 8, 8, 1)), RangeError);
});

Deno.test("cls-attention sample: frequencies follow the attention", async () => {
  // 2×2 grid, ratio 0.25 → one masked patch per sample, drawn with P ∝ [1, 2, 3, 4].
  const B = 8000;
  const w = [1, 2, 3, 4];
  const attention = new Float32Array(B * 4);
  for (let b = 0; b < B; b++) attention.set(w, b * 4);
  const strategy = new ClsAttentionMasking({
    variant: "sample",
    maskRatio: 0.25,
    attentionProvider: () => Promise.resolve(attention),
  });
  const batch = await strategy.generate(ctx(B, 2, 2, 77));
  checkCounts(batch, 1);
  for (let j = 0; j < 4; j++) {
    let hits = 0;
    for (let b = 0; b < B; b++) hits += batch.mask[b * 4 + j];
    const p = w[j] / 10;
    assert.ok(Math.abs(hits - B * p) < 4.5 * Math.sqrt(B * p * (1 - p)), `patch ${j}: ${hits}`);
  }
  // Zero attention is never masked while enough positive patches exist.
  const z = new Float32Array(64).map((_, j) => (j < 16 ? 0 : 1));
  const zs = new ClsAttentionMasking({
    variant: "sample",
    maskRatio: 0.5,
    attentionProvider: () => Promise.resolve(z),
  });
  const zb = await zs.generate(ctx(1, 8, 8, 3));
  for (let j = 0; j < 16; j++) assert.equal(zb.mask[j], 0);
});

Deno.test("hpm: hard share follows the schedule and the masked set holds the top predicted losses", async () => {
  const B = 6;
  const rows = 14;
  const L = rows * rows;
  const predicted = new Float32Array(B * L);
  const rng = new Rng(9);
  for (let i = 0; i < predicted.length; i++) predicted[i] = rng.next();
  let calls = 0;
  const strategy = new HpmMasking({
    lossPredictionProvider: () => {
      calls++;
      return Promise.resolve(predicted);
    },
  });
  const topSets = Array.from({ length: B }, (_, b) => {
    const row = Array.from(predicted.subarray(b * L, (b + 1) * L));
    return row.map((v, j) => [v, j]).sort((x, y) => y[0] - x[0]).map(([, j]) => j);
  });
  let previousOverlap = -1;
  for (const t of [0, 0.25, 0.5, 1]) {
    const batch = await strategy.generate(ctx(B, rows, rows, 100, t));
    checkCounts(batch, 147);
    const hard = Math.floor(147 * 0.5 * t); // HPM: int(masked · 0.5 · t)
    assert.equal(batch.info?.hardCount, hard);
    let overlap = 0;
    for (let b = 0; b < B; b++) {
      for (const j of topSets[b].slice(0, hard)) {
        assert.equal(batch.mask[b * L + j], 1, `t=${t}: top ${j} kept`);
      }
      for (const j of topSets[b].slice(0, 147)) overlap += batch.mask[b * L + j];
    }
    // How many masked patches are among the 147 top-predicted grows with t (random alone: 147²/196 ≈ 110).
    assert.ok(overlap > previousOverlap, `t=${t}: overlap ${overlap} ≤ ${previousOverlap}`);
    previousOverlap = overlap;
  }
  assert.equal(calls, 3); // t = 0 has no hard share, so no prediction is needed
  assert.equal((await strategy.generate(ctx(B, rows, rows, 1, 1))).scores, predicted);
  assert.equal((await strategy.generate(ctx(B, rows, rows, 1, 0))).scores, undefined);
  assert.equal(strategy.hardShare(2), 0.5);
  const custom = new HpmMasking({
    lossPredictionProvider: () => Promise.resolve(predicted),
    hardShareStart: 0.2,
  });
  assert.equal(custom.hardCount(147, 0), 29); // int(147 · 0.2)
});

Deno.test("hpm: relative and absolute loss-prediction losses on hand-computed cases", () => {
  // Two patches, p = [0, 1], t = [1, 2]: both ordered pairs give −log σ(1) = log(1 + e⁻¹) = 0.3132616875…
  const two = hpmRelativeLoss(new Float32Array([0, 1]), new Float32Array([1, 2]), 1, 2);
  assert.ok(Math.abs(two - 0.3132616875182228) < 1e-5, `${two}`);
  // Wrong order predicted: −log σ(−1) = log(1 + e) = 1.3132616875…
  const wrong = hpmRelativeLoss(new Float32Array([1, 0]), new Float32Array([1, 2]), 1, 2);
  assert.ok(Math.abs(wrong - 1.3132616875182228) < 1e-5, `${wrong}`);
  // Ties are skipped; all ties → 0.
  assert.equal(hpmRelativeLoss(new Float32Array([0, 5]), new Float32Array([3, 3]), 1, 2), 0);
  // Batch of 2 images by unordered pairs: image 0 (3 patches, 3 valid pairs), image 1 (2 patches, a tie).
  const p = new Float32Array([0.5, -1, 2, 0.3, 0, 0.7, 0.7, 0]); // rows of 4 (cols = 4)
  const t = new Float32Array([1, 3, 2, 2, 5, 5, 1, 0]);
  const softplus = (x: number) => Math.log(1 + Math.exp(x));
  let sum = 0;
  let pairs = 0;
  for (let b = 0; b < 2; b++) {
    for (let i = 0; i < 4; i++) {
      for (let j = i + 1; j < 4; j++) {
        const ti = t[b * 4 + i];
        const tj = t[b * 4 + j];
        if (ti === tj) continue;
        const [hi, lo] = tj > ti ? [j, i] : [i, j];
        sum += softplus(-(p[b * 4 + hi] - p[b * 4 + lo])); // −log σ(p_hi − p_lo)
        pairs++;
      }
    }
  }
  const rel = hpmRelativeLoss(p, t, 2, 4);
  assert.ok(Math.abs(rel - sum / pairs) < 1e-5, `${rel} vs ${sum / pairs}`);
  // Absolute: t = [1, 2, 3] → mean 2, unbiased var 1 → t̂ = [−1, 0, 1]/√(1 + 1e-6); p = 0 → 2/3/(1 + 1e-6).
  const abs = hpmAbsoluteLoss(new Float32Array([0, 0, 0]), new Float32Array([1, 2, 3]), 1, 3);
  assert.ok(Math.abs(abs - 2 / 3 / (1 + 1e-6)) < 1e-9, `${abs}`);
  assert.throws(() => hpmRelativeLoss(new Float32Array(3), new Float32Array(4), 1, 4), RangeError);
});

Deno.test("registry: builds each strategy and rejects unknown names", () => {
  assert.deepEqual([...MASK_STRATEGY_NAMES], [
    "random",
    "block",
    "uniform",
    "cls-attention",
    "hpm",
    "gpa",
    "centre",
    "mean-map",
    "oracle-box",
  ]);
  assert.ok(createMaskStrategy("random") instanceof RandomMasking);
  assert.equal(createMaskStrategy("random", { maskRatio: 0.5 }).maskRatio, 0.5);
  assert.ok(createMaskStrategy("block", { maskRatio: 0.4 }) instanceof BlockMasking);
  assert.ok(createMaskStrategy("uniform") instanceof UniformMasking);
  const provider = () => Promise.resolve(new Float32Array(0));
  assert.ok(
    createMaskStrategy("cls-attention", { variant: "sample", attentionProvider: provider }) instanceof
      ClsAttentionMasking,
  );
  assert.ok(createMaskStrategy("hpm", { lossPredictionProvider: provider }) instanceof HpmMasking);
  assert.throws(() => createMaskStrategy("hpm", {}), TypeError);
  assert.throws(() => createMaskStrategy("bogus"), (e: unknown) => {
    return e instanceof RangeError && e.message.includes("bogus") &&
      e.message.includes("random, block, uniform");
  });
  assert.throws(() => createMaskStrategy("toString"), RangeError);
});
