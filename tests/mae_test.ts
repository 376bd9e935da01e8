/**
 * MAE: random-masking invariants, the kept/masked split, the norm-pix target, the loss against an explicit
 * recomputation, the batch layout (targets and positions in token order), a few optimisation steps, and
 * UM-MAE's secondary masking (its token's parameter, the encoder's input, the loss and the token's gradient).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { isEncoderParam } from "../lib/encode.ts";
import {
  encoderInput,
  forwardDecoder,
  forwardEncoder,
  forwardLoss,
  initMae,
  type MaeConfig,
  maeLoss,
  normalizePatches,
  prepareMaeBatch,
  splitMask,
  validateMaeConfig,
} from "../lib/mae.ts";
import { RandomMasking } from "../lib/masking/random.ts";
import { type MaskBatch, maskedCount } from "../lib/masking/types.ts";
import { type UniformMaskBatch, UniformMasking } from "../lib/masking/uniform.ts";
import { type OpsMode, setOpsMode } from "../lib/ops.ts";
import { Rng } from "../lib/rng.ts";
import { AdamW } from "../lib/train/optim.ts";
import { embedTokens, gridOf, type Params, patchify, sinCosPosEmbed } from "../lib/vit.ts";

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

// UM-MAE's secondary masking. An 8×8 grid: 16 kept patches per sample, 16 − int(16·0.75) = 4 of them hidden.
const UM: MaeConfig = { ...CFG, imageSize: 16, visMaskToken: true };
const UM_ROWS = 8;

function uniformMask(batch: number, seed: number, secondaryMaskRatio = 0.25): UniformMaskBatch {
  return new UniformMasking({ secondaryMaskRatio }).generate({
    batchSize: batch,
    grid: { rows: UM_ROWS, cols: UM_ROWS },
    progress: 0,
    epoch: 0,
    step: 0,
    rng: new Rng(seed),
  });
}

function disposeAll(params: Params): void {
  for (const v of params.values()) v.dispose();
}

Deno.test("UM-MAE: only a model that asks has vis_mask_token, [1, D], drawn after every MAE parameter", async () => {
  await selectBackend("cpu");
  const mae = initMae(CFG, new Rng(3));
  const um = initMae({ ...CFG, visMaskToken: true }, new Rng(3));
  const off = initMae({ ...CFG, visMaskToken: false }, new Rng(3));
  try {
    assert.equal(mae.has("vis_mask_token"), false, "a model without secondary masking has no such parameter");
    assert.equal(off.has("vis_mask_token"), false);
    assert.deepEqual([...off.keys()], [...mae.keys()]);
    assert.deepEqual([...um.keys()], [...mae.keys(), "vis_mask_token"]);
    assert.deepEqual(um.get("vis_mask_token")!.shape, [1, CFG.dim]);
    // The same seed gives every MAE parameter the same values (rows with and without it stay paired).
    for (const [n, v] of mae) assert.deepEqual(await um.get(n)!.data(), await v.data(), n);
    // Initialised like mask_token: normal, std 0.02 (16 draws: every value well inside 5 std, not all zero).
    const token = await um.get("vis_mask_token")!.data();
    assert.ok(token.every((x) => Math.abs(x) < 0.1) && token.some((x) => x !== 0), `${token}`);
    // A pre-training-only token: fine-tuning, probing and export never take it.
    assert.equal(isEncoderParam("vis_mask_token"), false);
    assert.throws(() => validateMaeConfig({ ...CFG, visMaskToken: 1 as unknown as boolean }), RangeError);
  } finally {
    for (const p of [mae, um, off]) disposeAll(p);
  }
});

Deno.test("UM-MAE: hidden kept tokens enter the encoder as exactly vis_mask_token + position, the others as in MAE", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await selectBackend(backend, { blas: "off" });
    const B = 3, D = UM.dim;
    const { count: L } = gridOf(UM);
    const params = initMae(UM, new Rng(4));
    const mask = uniformMask(B, 5);
    const mb = prepareMaeBatch(UM, randomImages(B, UM.imageSize, 6), mask);
    const K = mb.numKept;
    const table = sinCosPosEmbed(D, UM_ROWS);
    try {
      assert.equal(K, 16);
      assert.equal(mask.numSecondary, 4);
      assert.deepEqual(mb.keptSecondary!.shape, [B * K, 1]);
      const marks = mb.keptSecondary!.dataSync();
      const token = params.get("vis_mask_token")!.dataSync();
      for (const mode of ["custom", "plain"] as OpsMode[]) {
        setOpsMode(mode);
        try {
          const got = tf.tidy(() => encoderInput(params, mb).dataSync() as Float32Array);
          // The same batch as MAE sees it: every kept patch's own embedding.
          const mae = tf.tidy(() =>
            embedTokens(params, mb.keptPatches, mb.keptPos, B).dataSync() as Float32Array
          );
          for (let b = 0; b < B; b++) {
            let hidden = 0;
            for (let j = 0; j < K; j++) {
              const id: number = mb.keptIds[b * K + j];
              assert.equal(marks[b * K + j], mask.secondaryMask[b * L + id], "marks follow the token order");
              const row: number = (b * (1 + K) + 1 + j) * D;
              for (let d = 0; d < D; d++) {
                const want: number = marks[b * K + j]
                  ? Math.fround(token[d] + table[(1 + id) * D + d])
                  : mae[row + d];
                assert.equal(got[row + d], want, `${backend}/${mode} sample ${b} patch ${id} d${d}`);
              }
              hidden += marks[b * K + j];
            }
            assert.equal(hidden, 4, `${backend}/${mode}: 4 of the 16 kept tokens hidden in sample ${b}`);
            for (let d = 0; d < D; d++) {
              assert.equal(got[b * (1 + K) * D + d], mae[b * (1 + K) * D + d], "CLS");
            }
          }
        } finally {
          setOpsMode("auto");
        }
      }
    } finally {
      mb.dispose();
      disposeAll(params);
    }
  }
});

Deno.test("UM-MAE: the loss stays on the dropped patches; a hidden patch's pixels do not reach it, the token gets a gradient", async () => {
  await selectBackend("cpu");
  const B = 2, S = UM.imageSize, p = UM.patchSize, P = p * p * 3;
  const { count: L } = gridOf(UM);
  const params = initMae(UM, new Rng(7));
  const mask = uniformMask(B, 8);
  const images = randomImages(B, S, 9);
  const lossOf = (img: Float32Array) => {
    const mb = prepareMaeBatch(UM, img, mask);
    try {
      return tf.tidy(() => maeLoss(params, UM, mb).dataSync()[0]);
    } finally {
      mb.dispose();
    }
  };
  /** The images with one patch of sample 0 shifted by +1 in every pixel. */
  const shifted = (patch: number) => {
    const out = images.slice();
    const r = Math.floor(patch / UM_ROWS) * p, c = (patch % UM_ROWS) * p;
    for (let y = r; y < r + p; y++) {
      for (let x = c; x < c + p; x++) for (let ch = 0; ch < 3; ch++) out[(y * S + x) * 3 + ch] += 1;
    }
    return out;
  };
  const mb = prepareMaeBatch(UM, images, mask);
  try {
    // Targets: the 48 dropped patches of each sample, none of them hidden (hidden patches are kept ones).
    assert.deepEqual(mb.target.shape, [B * 48, P]);
    for (let i = 0; i < mb.maskedIds.length; i++) {
      const b = Math.floor(i / 48);
      assert.equal(mask.secondaryMask[b * L + mb.maskedIds[i]], 0);
    }
    const base = lossOf(images);
    const hidden = mask.secondaryMask.indexOf(1); // sample 0
    const seen = mb.keptIds.find((id) => mask.secondaryMask[id] === 0)!;
    assert.equal(lossOf(shifted(hidden)), base, "a hidden patch's content is not seen and not a target");
    assert.notEqual(lossOf(shifted(seen)), base, "a seen kept patch's content changes the loss");

    // The token's gradient: nonzero, and a central difference along it agrees to 0.1 % (h = 1e-2: float32
    // rounding of a loss near 1 is ≈ 1e-5 of the derivative here, and the loss is smooth in the token).
    const token = params.get("vis_mask_token")! as tf.Variable;
    const { value, grads } = tf.variableGrads(() => maeLoss(params, UM, mb), [token]);
    const g = await grads[token.name].data();
    value.dispose();
    Object.values(grads).forEach((t) => t.dispose());
    const norm = Math.hypot(...g);
    assert.ok(g.every(Number.isFinite) && norm > 0, `vis_mask_token gradient ${g}`);
    const t0 = token.dataSync().slice();
    const at = (h: number) => {
      token.assign(tf.tensor2d(t0.map((v, i) => v + (h * g[i]) / norm), [1, UM.dim]));
      return tf.tidy(() => maeLoss(params, UM, mb).dataSync()[0]);
    };
    const h = 1e-2;
    const fd = (at(h) - at(-h)) / (2 * h);
    token.assign(tf.tensor2d(t0, [1, UM.dim]));
    assert.ok(Math.abs(fd - norm) < 1e-3 * norm, `directional derivative ${fd} vs |gradient| ${norm}`);
  } finally {
    mb.dispose();
    disposeAll(params);
  }
});

Deno.test("UM-MAE: value and gradients equal on the fast-ops (custom) and plain tfjs paths (wasm)", async () => {
  await selectBackend("wasm", { blas: "off" });
  const params = initMae(UM, new Rng(10));
  const mb = prepareMaeBatch(UM, randomImages(2, UM.imageSize, 11), uniformMask(2, 12));
  const names = new Map([...params].map(([n, v]) => [v.name, n]));
  try {
    const run = (mode: OpsMode) => {
      setOpsMode(mode);
      try {
        const { value, grads } = tf.variableGrads(() => maeLoss(params, UM, mb));
        const out = {
          loss: value.dataSync()[0],
          grads: new Map(Object.entries(grads).map(([k, g]) => [names.get(k)!, g.dataSync().slice()])),
        };
        value.dispose();
        Object.values(grads).forEach((g) => g.dispose());
        return out;
      } finally {
        setOpsMode("auto");
      }
    };
    const custom = run("custom"), plain = run("plain");
    assert.ok(Math.abs(custom.loss - plain.loss) < 1e-5 * plain.loss, `${custom.loss} vs ${plain.loss}`);
    for (const n of ["vis_mask_token", "patch_embed.proj.weight", "cls_token"]) {
      const a = custom.grads.get(n)!, b = plain.grads.get(n)!;
      const ref = Math.max(...b.map(Math.abs));
      assert.ok(ref > 0, `${n}: zero gradient`);
      const err = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
      assert.ok(err < 1e-4 * ref, `${n}: custom vs plain gradient error ${err} (max ${ref})`);
    }
  } finally {
    mb.dispose();
    disposeAll(params);
  }
});

Deno.test("UM-MAE: prepareMaeBatch refuses a secondary mask the model cannot apply or that hides a dropped patch", async () => {
  await selectBackend("cpu");
  const images = randomImages(2, UM.imageSize, 13);
  const plainCfg = { ...UM, visMaskToken: undefined };
  // A model without the token: a secondary mask is an error, not a silent fallback to uniform sampling.
  assert.throws(() => prepareMaeBatch(plainCfg, images, uniformMask(2, 14)), /no vis_mask_token/);
  // Ratio 0 (an all-zero secondary mask): the batch is MAE's, nothing to replace.
  const off = prepareMaeBatch(plainCfg, images, uniformMask(2, 14, 0));
  assert.equal(off.keptSecondary, undefined);
  off.dispose();
  // A mark on a dropped patch.
  const bad = uniformMask(2, 14);
  bad.secondaryMask[bad.mask.indexOf(1)] = 1;
  assert.throws(() => prepareMaeBatch(UM, images, bad), /marks 1 dropped patches/);
});
