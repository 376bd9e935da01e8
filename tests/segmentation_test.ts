import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { RunCache } from "../lib/cache/mod.ts";
import { loadDataset } from "../lib/data/mod.ts";
import {
  buildSegmenter,
  conv3x3,
  defaultOutIndices,
  interpolationMatrix,
  pixelCrossEntropy,
  polyLr,
  progressiveStages,
  resample,
  segment,
  segmentationClasses,
  segmentationLogits,
  type SegmenterConfig,
} from "../lib/downstream/mod.ts";
import { confusionMatrix, miou } from "../lib/eval/miou.ts";
import { Rng } from "../lib/rng.ts";
import { getProfile } from "../experiments/profiles.ts";
import { getSegmentationSetup, segmentationSpecFor } from "../experiments/segmentation.ts";

await selectBackend("wasm");

function randomArray(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("segmentation: interpolation matrices follow half-pixel bilinear rules", () => {
  // 2 → 4: sources at −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
  assert.deepEqual(Array.from(interpolationMatrix(2, 4)), [1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
  // Halving an even length is 2-tap averaging (= 2×2 average pooling along both axes).
  assert.deepEqual(Array.from(interpolationMatrix(4, 2)), [0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5]);
  // Identity size is the identity; every row sums to 1.
  assert.deepEqual(Array.from(interpolationMatrix(3, 3)), [1, 0, 0, 0, 1, 0, 0, 0, 1]);
  const m = interpolationMatrix(5, 13);
  for (let o = 0; o < 13; o++) {
    const s = m.slice(o * 5, o * 5 + 5).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
});

Deno.test("segmentation: resample equals tf.image.resizeBilinear (half-pixel) in value and gradient", () => {
  const rng = new Rng(1);
  const x = tf.tensor4d(randomArray(rng, 2 * 4 * 6 * 3), [2, 4, 6, 3]);
  const single = tf.tensor4d(randomArray(rng, 4 * 6), [1, 4, 6, 1]);
  for (const [h, w] of [[16, 24], [8, 12], [2, 3], [4, 6], [7, 5]]) {
    const ours = resample(x, h, w);
    const ref = tf.image.resizeBilinear(x, [h, w], false, true);
    assert.deepEqual(ours.shape, [2, h, w, 3]);
    assert.ok(maxAbsDiff(ours.dataSync(), ref.dataSync()) < 1e-5, `${h}×${w}`);
    // Gradient of Σ r ⊙ resize(x): the map is linear, so d/dx_p is the value at the basis image e_p
    // (tfjs's own ResizeBilinearGrad is not a usable reference: wrong on wasm, shape error on cpu, tfjs 4.22).
    const r = tf.tensor4d(randomArray(rng, h * w), [1, h, w, 1]);
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(resample(t as tf.Tensor4D, h, w), r)))(single);
    const basis: number[] = [];
    for (let p = 0; p < 24; p++) {
      const e = new Float32Array(24);
      e[p] = 1;
      const img = tf.tensor4d(e, [1, 4, 6, 1]);
      basis.push(tf.sum(tf.mul(tf.image.resizeBilinear(img, [h, w], false, true), r)).dataSync()[0]);
    }
    assert.ok(maxAbsDiff(grad.dataSync(), basis) < 1e-4, `grad ${h}×${w}`);
  }
  // ×½ of an even grid is 2×2 average pooling.
  const pooled = tf.avgPool(x, 2, 2, "valid");
  assert.ok(maxAbsDiff(resample(x, 2, 3).dataSync(), pooled.dataSync()) < 1e-6);
});

Deno.test("segmentation: conv3x3 matches a direct loop convolution and its hand-derived gradients", () => {
  const rng = new Rng(2);
  const B = 2, H = 4, W = 5, Ci = 3, Co = 2;
  const xs = randomArray(rng, B * H * W * Ci);
  const ws = randomArray(rng, Ci * 9 * Co); // [Ci, 9·Co], column (ky·3 + kx)·Co + o
  const rs = randomArray(rng, B * H * W * Co); // upstream gradient
  const at = (b: number, y: number, x: number, c: number, C: number) => ((b * H + y) * W + x) * C + c;
  const inside = (y: number, x: number) => y >= 0 && y < H && x >= 0 && x < W;
  const out = new Float64Array(B * H * W * Co);
  const dx = new Float64Array(xs.length);
  const dw = new Float64Array(ws.length);
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const sy = y + ky - 1, sx = x + kx - 1;
            if (!inside(sy, sx)) continue;
            for (let i = 0; i < Ci; i++) {
              for (let o = 0; o < Co; o++) {
                const wi = i * 9 * Co + (ky * 3 + kx) * Co + o;
                out[at(b, y, x, o, Co)] += xs[at(b, sy, sx, i, Ci)] * ws[wi];
                dx[at(b, sy, sx, i, Ci)] += rs[at(b, y, x, o, Co)] * ws[wi];
                dw[wi] += rs[at(b, y, x, o, Co)] * xs[at(b, sy, sx, i, Ci)];
              }
            }
          }
        }
      }
    }
  }
  const x = tf.tensor4d(xs, [B, H, W, Ci]);
  const w = tf.tensor2d(ws, [Ci, 9 * Co]);
  const r = tf.tensor4d(rs, [B, H, W, Co]);
  assert.ok(maxAbsDiff(conv3x3(x, w).dataSync(), out) < 1e-4);
  const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(conv3x3(a as tf.Tensor4D, b as tf.Tensor2D), r))
  )([x, w]);
  assert.ok(maxAbsDiff(gx.dataSync(), dx) < 1e-4, "dx");
  assert.ok(maxAbsDiff(gw.dataSync(), dw) < 1e-4, "dw");
});

Deno.test("segmentation: head output shape and stride for image/patch 16/4, 32/4, 32/8", () => {
  assert.deepEqual(defaultOutIndices(12), [3, 5, 7, 11]);
  assert.deepEqual(defaultOutIndices(6), [1, 2, 4, 5]);
  assert.deepEqual(defaultOutIndices(2), [0, 0, 1, 1]);
  assert.deepEqual([4, 8, 16].map(progressiveStages), [1, 1, 2]);
  const rng = new Rng(3);
  for (const [size, patch] of [[16, 4], [32, 4], [32, 8]]) {
    const g = size / patch;
    for (const head of ["upernet", "progressive"] as const) {
      const sc: SegmenterConfig = {
        backbone: { imageSize: size, patchSize: patch, dim: 16, depth: 2, heads: 2, mlpRatio: 2 },
        head,
        channels: 8,
        numClasses: 5,
        outIndices: defaultOutIndices(2),
      };
      const params = buildSegmenter(sc, 0);
      const images = randomArray(rng, 2 * size * size * 3);
      tf.tidy(() => {
        const { logits, headLogits } = segmentationLogits(params, sc, images, 2);
        assert.deepEqual(logits.shape, [2, size, size, 5], `${head} ${size}/${patch}`);
        // UperNet's finest level is 4× the patch grid (stride p/4); progressive doubles until stride ≤ 4.
        const side = head === "upernet" ? 4 * g : g * 2 ** progressiveStages(patch);
        assert.deepEqual(headLogits.shape, [2, side, side, 5], `${head} ${size}/${patch} head`);
        const other = segmentationLogits(params, sc, images, 2, { outputSize: [9, 11] }).logits;
        assert.deepEqual(other.shape, [2, 9, 11, 5]);
      });
      for (const v of params.values()) v.dispose();
    }
  }
});

Deno.test("segmentation: every parameter gets a finite gradient of its own shape on wasm", () => {
  assert.equal(tf.getBackend(), "wasm");
  for (const head of ["upernet", "progressive"] as const) {
    const sc: SegmenterConfig = {
      backbone: { imageSize: 16, patchSize: 4, dim: 16, depth: 4, heads: 2, mlpRatio: 2 },
      head,
      channels: 8,
      numClasses: 4,
      outIndices: defaultOutIndices(4),
    };
    const params = buildSegmenter(sc, 1);
    assert.ok(!params.has("norm.weight"), "the unused final norm is not a parameter");
    const rng = new Rng(4);
    const images = randomArray(rng, 3 * 16 * 16 * 3);
    const labels = Int32Array.from({ length: 3 * 16 * 16 }, () => (rng.next() < 0.1 ? 255 : rng.int(4)));
    const { value, grads } = tf.variableGrads(
      () => pixelCrossEntropy(segmentationLogits(params, sc, images, 3).logits, labels, 255),
      [...params.values()],
    );
    assert.ok(Number.isFinite(value.dataSync()[0]));
    for (const [name, v] of params) {
      const g = grads[v.name];
      assert.ok(g, `${head}: no gradient for ${name}`);
      assert.deepEqual(g.shape, v.shape, name);
      const d = g.dataSync();
      assert.ok(d.every(Number.isFinite), `${head}: non-finite gradient for ${name}`);
      // Blocks feed the head, so everything but exactly-zero-init paths receives signal.
      assert.ok(d.some((e) => e !== 0), `${head}: zero gradient for ${name}`);
    }
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    for (const v of params.values()) v.dispose();
  }
});

Deno.test("segmentation: pixel cross-entropy ignores void pixels (hand computation)", () => {
  // 3 pixels, 2 classes; logits (0, 0), (2, 0), (1, 3); labels 1, 0, void.
  const logits = tf.tensor4d([0, 0, 2, 0, 1, 3], [1, 1, 3, 2]);
  const loss = pixelCrossEntropy(logits, new Int32Array([1, 0, 255]), 255).dataSync()[0];
  const expected = (Math.log(2) + Math.log(1 + Math.exp(-2))) / 2;
  assert.ok(Math.abs(loss - expected) < 1e-6, `${loss} vs ${expected}`);
  assert.ok(pixelCrossEntropy(logits, new Int32Array([255, 255, 255]), 255).dataSync()[0] === 0);
  assert.throws(() => pixelCrossEntropy(logits, new Int32Array([2, 0, 0]), 255), RangeError);
});

Deno.test("segmentation: poly schedule with linear warm-up (mmseg)", () => {
  const o = { lr: 1e-3, minLr: 0, warmupEpochs: 1, epochs: 10, power: 1 };
  assert.ok(Math.abs(polyLr(5, o) - 5e-4) < 1e-12); // halfway: (1 − 0.5)·lr
  assert.equal(polyLr(10, o), 0);
  // Warm-up: regular poly value scaled by ≈ t / warm-up.
  assert.ok(Math.abs(polyLr(0.5, o) - 1e-3 * 0.95 * 0.5) < 1e-9);
  assert.ok(polyLr(0, o) < 1e-8);
  assert.ok(Math.abs(polyLr(4, { ...o, power: 2, minLr: 1e-5 }) - ((1e-3 - 1e-5) * 0.36 + 1e-5)) < 1e-12);
});

Deno.test("segmentation: a smoke run learns above the all-background mIoU; then a cache hit", async () => {
  const profile = getProfile("smoke");
  const spec = segmentationSpecFor(profile, { seed: 0, from: null });
  assert.equal(spec.recipe.head, getSegmentationSetup("smoke").recipe.head);
  const data = await loadDataset(spec.dataset, { cacheDir: "/nonexistent", log: () => {} });
  const classes = segmentationClasses(data.val);
  assert.equal(classes.count, 11);
  assert.equal(classes.names[0], "background");
  // The trivial baseline: every pixel predicted as background.
  const labels = data.val.segmentation!;
  const trivial = 100 *
    miou(confusionMatrix(new Uint8Array(labels.length), labels, 11, classes.ignoreLabel)).miou;
  const dir = await Deno.makeTempDir({ prefix: "seg-test-" });
  try {
    const env = { cache: new RunCache(dir), log: () => {}, progress: false };
    const t0 = performance.now();
    const out = await segment(spec, null, data, env);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `smoke segmentation: ${seconds.toFixed(1)} s, mIoU ${out.miou.toFixed(2)} % (all-background ${
        trivial.toFixed(2)
      } %)`,
    );
    assert.equal(out.cacheHit, false);
    assert.ok(out.miou > trivial + 5, `mIoU ${out.miou} vs trivial ${trivial}`);
    assert.equal(Object.keys(out.perClassIoU).length, 11);
    assert.ok(out.history.length === spec.recipe.epochs && out.history.at(-1)!.loss < out.history[0].loss);
    const again = await segment(spec, null, data, env);
    assert.equal(again.cacheHit, true);
    assert.equal(again.miou, out.miou);
    assert.deepEqual(again.perClassIoU, out.perClassIoU);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
