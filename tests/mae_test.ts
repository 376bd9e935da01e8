/**
 * MAE: random-masking invariants, the kept/masked split, the norm-pix target, the loss against an explicit
 * recomputation, the batch layout (targets and positions in token order), and a few optimisation steps.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import {
  forwardDecoder,
  forwardEncoder,
  forwardLoss,
  initMae,
  type MaeConfig,
  maeLoss,
  normalizePatches,
  prepareMaeBatch,
  splitMask,
} from "../lib/mae.ts";
import { RandomMasking } from "../lib/masking/random.ts";
import { type MaskBatch, maskedCount } from "../lib/masking/types.ts";
import { Rng } from "../lib/rng.ts";
import { AdamW } from "../lib/train/optim.ts";
import { gridOf, patchify, sinCosPosEmbed } from "../lib/vit.ts";

const CFG: MaeConfig = {
  imageSize: 8,
  patchSize: 2,
  dim: 16,
  depth: 1,
  heads: 2,
  mlpRatio: 2,
  decoderDim: 16,
  decoderDepth: 1,
  decoderHeads: 2,
  normPixLoss: true,
};

function randomMask(batch: number, rows: number, ratio: number, seed: number): MaskBatch {
  return new RandomMasking(ratio).generate({
    batchSize: batch,
    grid: { rows, cols: rows },
    progress: 0,
    epoch: 0,
    step: 0,
    rng: new Rng(seed),
  }) as MaskBatch;
}

function randomImages(batch: number, size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: batch * size * size * 3 }, () => rng.normal());
}

Deno.test("maskedCount follows MAE: L − int(L·(1 − ratio))", () => {
  assert.equal(maskedCount(196, 0.75), 147); // ViT-B/16 at 224: 49 kept
  assert.equal(maskedCount(16, 0.75), 12);
  assert.equal(maskedCount(64, 0.4), 64 - Math.floor(64 * 0.6));
  assert.equal(maskedCount(10, 0.33), 10 - 6);
  assert.throws(() => maskedCount(16, 1), RangeError);
  assert.throws(() => maskedCount(16, 0), RangeError);
});

Deno.test("random masking: exact count per sample, samples differ, deterministic in the seed", () => {
  for (const [rows, ratio] of [[4, 0.75], [7, 0.5], [14, 0.75], [3, 0.8]] as const) {
    const B = 6;
    const m = randomMask(B, rows, ratio, 11);
    const L = rows * rows;
    assert.equal(m.numPatches, L);
    assert.equal(m.numMasked, maskedCount(L, ratio));
    const rowsOf = new Set<string>();
    for (let b = 0; b < B; b++) {
      const row = m.mask.subarray(b * L, (b + 1) * L);
      assert.ok(row.every((v) => v === 0 || v === 1));
      assert.equal(row.reduce((a, v) => a + v, 0), m.numMasked, `sample ${b} of grid ${rows}`);
      rowsOf.add(row.join(""));
    }
    assert.ok(rowsOf.size > 1, "samples of a batch get different masks");
    assert.deepEqual(randomMask(B, rows, ratio, 11).mask, m.mask);
    assert.notDeepEqual(randomMask(B, rows, ratio, 12).mask, m.mask);
  }
});

Deno.test("random masking is uniform: every patch is masked about ratio of the time", () => {
  const B = 400, rows = 4, L = 16;
  const m = randomMask(B, rows, 0.75, 5);
  for (let l = 0; l < L; l++) {
    let n = 0;
    for (let b = 0; b < B; b++) n += m.mask[b * L + l];
    // Binomial(400, 0.75): sd ≈ 8.7; ±5 sd.
    assert.ok(Math.abs(n - 300) < 45, `patch ${l} masked ${n}/400 times`);
  }
});

Deno.test("splitMask: kept ∪ masked = all patches, disjoint, ascending, and agrees with the mask", () => {
  const m = randomMask(5, 4, 0.75, 3);
  const { keptIds, maskedIds, numKept } = splitMask(m);
  const L = 16;
  assert.equal(numKept, 4);
  for (let b = 0; b < 5; b++) {
    const kept: number[] = Array.from(keptIds.subarray(b * numKept, (b + 1) * numKept));
    const masked: number[] = Array.from(maskedIds.subarray(b * m.numMasked, (b + 1) * m.numMasked));
    assert.deepEqual([...kept, ...masked].sort((x, y) => x - y), Array.from({ length: L }, (_, i) => i));
    assert.deepEqual(kept, [...kept].sort((x, y) => x - y));
    assert.deepEqual(masked, [...masked].sort((x, y) => x - y));
    for (const k of kept) assert.equal(m.mask[b * L + k], 0);
    for (const k of masked) assert.equal(m.mask[b * L + k], 1);
  }
  // A sample with the wrong number of masked patches is rejected.
  const bad = { ...m, mask: m.mask.slice() };
  bad.mask[bad.mask.indexOf(0)] = 1;
  assert.throws(() => splitMask(bad), /more than 12 masked/);
});

Deno.test("normalizePatches: (x − mean) / sqrt(unbiased var + 1e-6), per patch", () => {
  const out = normalizePatches(Float32Array.from([1, 2, 3, 4, 5, 5, 5, 5, -2, 0, 0, 6]), 4);
  // Patch 1: mean 2.5, Σ(x − mean)² = 5, unbiased variance 5/3.
  const s1 = Math.sqrt(5 / 3 + 1e-6);
  // Patch 3: mean 1, Σ(x − mean)² = 9 + 1 + 1 + 25 = 36, unbiased variance 12.
  const s3 = Math.sqrt(12 + 1e-6);
  const want = [-1.5 / s1, -0.5 / s1, 0.5 / s1, 1.5 / s1, 0, 0, 0, 0, -3 / s3, -1 / s3, -1 / s3, 5 / s3];
  want.forEach((w, i) => assert.ok(Math.abs(out[i] - w) < 1e-6, `element ${i}: ${out[i]} vs ${w}`));
  // The biased form (÷N) would give a clearly different scale.
  assert.ok(Math.abs(out[0] - -1.5 / Math.sqrt(5 / 4 + 1e-6)) > 1e-2);
});

Deno.test("prepareMaeBatch: targets, kept patches and positions follow the token order", async () => {
  await selectBackend("cpu");
  const B = 3, S = CFG.imageSize, p = CFG.patchSize, P = p * p * 3;
  const { count: L, rows } = gridOf(CFG);
  const images = randomImages(B, S, 1);
  const mask = randomMask(B, rows, 0.75, 2);
  const mb = prepareMaeBatch(CFG, images, mask);
  try {
    const patches = patchify(images, B, S, p);
    const Lm = mask.numMasked, Lk = L - Lm;
    assert.deepEqual(mb.target.shape, [B * Lm, P]);
    assert.deepEqual(mb.keptPatches.shape, [B * Lk, P]);
    assert.deepEqual(mb.decoderPos.shape, [B * (1 + L), CFG.decoderDim]);
    const target = mb.target.dataSync();
    const kept = mb.keptPatches.dataSync();
    const keptPos = mb.keptPos.dataSync();
    const decPos = mb.decoderPos.dataSync();
    const encTable = sinCosPosEmbed(CFG.dim, rows);
    const decTable = sinCosPosEmbed(CFG.decoderDim, rows);
    const Dd = CFG.decoderDim, D = CFG.dim;
    for (let b = 0; b < B; b++) {
      const maskedIds: number[] = [];
      const keptIds: number[] = [];
      for (let l = 0; l < L; l++) (mask.mask[b * L + l] ? maskedIds : keptIds).push(l);
      maskedIds.forEach((l, j) => {
        const raw = patches.subarray((b * L + l) * P, (b * L + l + 1) * P);
        const want = normalizePatches(raw, P);
        const got = target.subarray((b * Lm + j) * P, (b * Lm + j + 1) * P);
        want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-5, `target b${b} patch ${l}`));
        // Decoder position of the j-th masked token = table row of patch l (after CLS and the kept tokens).
        const row = (b * (1 + L) + 1 + Lk + j) * Dd;
        assert.deepEqual(decPos.subarray(row, row + Dd), decTable.subarray((1 + l) * Dd, (2 + l) * Dd));
      });
      keptIds.forEach((l, j) => {
        assert.deepEqual(
          kept.subarray((b * Lk + j) * P, (b * Lk + j + 1) * P),
          patches.subarray((b * L + l) * P, (b * L + l + 1) * P),
        );
        assert.deepEqual(
          keptPos.subarray((b * Lk + j) * D, (b * Lk + j + 1) * D),
          encTable.subarray((1 + l) * D, (2 + l) * D),
        );
      });
      const clsRow = b * (1 + L) * Dd;
      assert.ok(decPos.subarray(clsRow, clsRow + Dd).every((v) => v === 0), "CLS position row is zero");
    }
    // Without norm-pix the target is the raw patch.
    const raw = prepareMaeBatch({ ...CFG, normPixLoss: false }, images, mask);
    const l0 = mask.mask.indexOf(1);
    assert.deepEqual(raw.target.dataSync().subarray(0, P), patches.subarray(l0 * P, (l0 + 1) * P));
    raw.dispose();
  } finally {
    mb.dispose();
  }
});

Deno.test("prepareMaeBatch rejects a mask that keeps no patch (ratio 0.99 on a 16-patch grid)", async () => {
  await selectBackend("cpu");
  // MAE's rule keeps int(16 · 0.01) = 0 patches: the encoder would see nothing.
  assert.equal(maskedCount(16, 0.99), 16);
  const mask = randomMask(2, 4, 0.99, 1);
  assert.throws(
    () => prepareMaeBatch({ ...CFG, imageSize: 8 }, randomImages(2, 8, 1), mask),
    /keeps no patch/,
  );
});

/** Mean over masked patches of each patch's mean squared error, in float64. */
function explicitMaeLoss(pred: ArrayLike<number>, target: ArrayLike<number>, P: number): number {
  const n = target.length / P;
  let total = 0;
  for (let r = 0; r < n; r++) {
    let se = 0;
    for (let i = 0; i < P; i++) se += (pred[r * P + i] - target[r * P + i]) ** 2;
    total += se / P;
  }
  return total / n;
}

Deno.test("MAE loss equals the mean over masked patches of the per-patch MSE", async () => {
  await selectBackend("cpu");
  const B = 2, P = CFG.patchSize ** 2 * 3;
  const params = initMae(CFG, new Rng(4));
  const mb = prepareMaeBatch(CFG, randomImages(B, CFG.imageSize, 5), randomMask(B, 4, 0.75, 6));
  try {
    const target = mb.target.dataSync();
    // Given predictions.
    const rng = new Rng(9);
    const pred = Float32Array.from({ length: target.length }, () => rng.normal());
    const given = tf.tidy(() => forwardLoss(tf.tensor2d(pred, mb.target.shape), mb.target).dataSync()[0]);
    const want = explicitMaeLoss(pred, target, P);
    assert.ok(Math.abs(given - want) < 1e-5 * want, `${given} vs ${want}`);
    // The model's own predictions: maeLoss = explicit loss of forwardDecoder's output.
    const { loss, decoded } = tf.tidy(() => {
      const latent = forwardEncoder(params, CFG, mb);
      assert.deepEqual(latent.shape, [B * (1 + mb.numKept), CFG.dim]);
      const out = forwardDecoder(params, CFG, latent, mb);
      assert.deepEqual(out.shape, [B * mb.numMasked, P]);
      return { loss: maeLoss(params, CFG, mb).dataSync()[0], decoded: out.dataSync() };
    });
    const recomputed = explicitMaeLoss(decoded, target, P);
    assert.ok(Math.abs(loss - recomputed) < 1e-5 * recomputed, `${loss} vs ${recomputed}`);
  } finally {
    mb.dispose();
    for (const v of params.values()) v.dispose();
  }
});

Deno.test("a few AdamW steps on a fixed batch lower the MAE loss (wasm, fast-ops path)", async () => {
  await selectBackend("wasm");
  const B = 4;
  const params = initMae(CFG, new Rng(7));
  const opt = new AdamW(params, { weightDecay: 0.05, beta2: 0.95 });
  const mb = prepareMaeBatch(CFG, randomImages(B, CFG.imageSize, 8), randomMask(B, 4, 0.75, 9));
  const names = new Map([...params].map(([n, v]) => [v.name, n]));
  const losses: number[] = [];
  try {
    for (let i = 0; i < 25; i++) {
      const { value, grads } = tf.variableGrads(() => maeLoss(params, CFG, mb));
      losses.push(value.dataSync()[0]);
      await opt.apply(new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g])), 3e-3);
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    }
    const final = tf.tidy(() => maeLoss(params, CFG, mb).dataSync()[0]);
    assert.ok(losses.every(Number.isFinite));
    assert.ok(final < 0.8 * losses[0], `loss ${losses[0]} → ${final}`);
  } finally {
    mb.dispose();
    opt.dispose();
    for (const v of params.values()) v.dispose();
  }
});
