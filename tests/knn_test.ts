import assert from "node:assert/strict";
import { selectBackend } from "../lib/backend.ts";
import { generateSynthetic } from "../lib/data/synthetic.ts";
import { knnClassify, knnEvaluate, l2NormalizeRows } from "../lib/eval/knn.ts";
import { Rng } from "../lib/rng.ts";
import { initEncoder, type Params, type VitConfig } from "../lib/vit.ts";

await selectBackend("wasm");

function randomNormal(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

Deno.test("knn: temperature-weighted vote matches a hand computation (4 train points, k = 3)", async () => {
  // Unit directions (scaled arbitrarily: the classifier must normalise): a = (1, 0) class 0,
  // b = (0.8, 0.6) class 1, c = (0.6, 0.8) class 1, d = (-1, 0) class 0. Query (1, 0).
  const trainFeatures = new Float32Array([5, 0, 0.08, 0.06, 6, 8, -2, 0]);
  const trainLabels = new Int32Array([0, 1, 1, 0]);
  const queryFeatures = new Float32Array([3, 0]);
  // Neighbours: a (sim 1), b (0.8), c (0.6); d (sim −1) is the 4th and does not vote.
  // T = 0.1: class 0 gets e^10 = 22026, class 1 gets e^8 + e^6 = 3384 → class 0 despite the 2-to-1 count.
  // T = 1: class 0 gets e^1 = 2.718, class 1 gets e^0.8 + e^0.6 = 4.048 → class 1.
  const common = { trainFeatures, trainLabels, queryFeatures, numClasses: 2, k: 3 };
  const sharp = await knnClassify({ ...common, temperature: 0.1, queryLabels: new Int32Array([0]) });
  assert.deepEqual(Array.from(sharp.predictions), [0]);
  assert.equal(sharp.top1, 100);
  const soft = await knnClassify({ ...common, temperature: 1, queryLabels: new Int32Array([0]) });
  assert.deepEqual(Array.from(soft.predictions), [1]);
  assert.equal(soft.top1, 0);
  // With k = 4 the far point d (class 0) also votes: T = 1 gives class 0 e^1 + e^−1 = 3.086 < 4.048 → still 1.
  const all = await knnClassify({ ...common, k: 4, temperature: 1 });
  assert.deepEqual(Array.from(all.predictions), [1]);
  // k larger than N is clamped rather than failing.
  const clamped = await knnClassify({ ...common, k: 50, temperature: 1 });
  assert.deepEqual(Array.from(clamped.predictions), [1]);
});

Deno.test("knn: separable clusters are classified perfectly", async () => {
  const rng = new Rng(1);
  const D = 32, C = 5, perClass = 40;
  const centres = randomNormal(rng, C * D);
  const make = (count: number) => {
    const feats = new Float32Array(count * C * D);
    const labels = new Int32Array(count * C);
    for (let i = 0; i < count * C; i++) {
      const c = i % C;
      labels[i] = c;
      for (let j = 0; j < D; j++) feats[i * D + j] = centres[c * D + j] + 0.1 * rng.normal();
    }
    return { feats, labels };
  };
  const train = make(perClass);
  const val = make(10);
  const r = await knnClassify({
    trainFeatures: train.feats,
    trainLabels: train.labels,
    queryFeatures: val.feats,
    queryLabels: val.labels,
    numClasses: C,
    batchSize: 7, // several uneven batches
  });
  assert.equal(r.top1, 100);
  assert.equal(r.top5, 100);
  assert.deepEqual(Array.from(r.predictions), Array.from(val.labels));
});

Deno.test("knn: random features and labels give chance accuracy", async () => {
  const rng = new Rng(2);
  const N = 2000, M = 2000, D = 16, C = 10;
  const r = await knnClassify({
    trainFeatures: randomNormal(rng, N * D),
    trainLabels: Int32Array.from({ length: N }, () => rng.int(C)),
    queryFeatures: randomNormal(rng, M * D),
    queryLabels: Int32Array.from({ length: M }, () => rng.int(C)),
    numClasses: C,
  });
  // Chance is 10 % (top-5: 50 %); the binomial std over 2000 queries is 0.7 % (1.1 %).
  assert.ok(Math.abs(r.top1! - 10) < 3, `top-1 ${r.top1}`);
  assert.ok(Math.abs(r.top5! - 50) < 5, `top-5 ${r.top5}`);
});

// How fast (seconds at this size) is a speed check: `deno task bench -- --only checks`.
Deno.test("knn: N = 50k, D = 192 matches a brute-force reference", async () => {
  const rng = new Rng(3);
  const N = 50_000, D = 192, M = 500, C = 100, k = 20, T = 0.07;
  const trainFeatures = randomNormal(rng, N * D);
  const trainLabels = Int32Array.from({ length: N }, () => rng.int(C));
  const queryFeatures = randomNormal(rng, M * D);
  const r = await knnClassify({
    trainFeatures,
    trainLabels,
    queryFeatures,
    numClasses: C,
    k,
    temperature: T,
  });
  // Brute force on a few queries: exact cosine similarities in float64, full sort, weighted vote.
  const bank = l2NormalizeRows(trainFeatures, N, D);
  const queries = l2NormalizeRows(queryFeatures, M, D);
  for (const qi of [0, 1, 77, 499]) {
    const sims = new Float64Array(N);
    for (let i = 0; i < N; i++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += bank[i * D + j] * queries[qi * D + j];
      sims[i] = s;
    }
    const order = Array.from({ length: N }, (_, i) => i).sort((a, b) => sims[b] - sims[a]).slice(0, k);
    const votes = new Float64Array(C);
    for (const i of order) votes[trainLabels[i]] += Math.exp(sims[i] / T);
    const expected = votes.indexOf(Math.max(...votes));
    assert.equal(r.predictions[qi], expected, `query ${qi}`);
  }
});

Deno.test("knn: knnEvaluate of a split against itself with k = 1 is 100 %; val accuracy is a percentage", async () => {
  const cfg: VitConfig = { imageSize: 16, patchSize: 4, dim: 32, depth: 2, heads: 2, mlpRatio: 2 };
  const params: Params = new Map();
  initEncoder(params, cfg, new Rng(4));
  const { train, val } = generateSynthetic({ size: 16, trainPerClass: 6, valPerClass: 3, numClasses: 5 });
  // Every image's nearest neighbour is itself (synthetic images are distinct), whatever the encoder.
  const self = await knnEvaluate(params, cfg, train, train, { pooling: "cls", k: 1 });
  assert.equal(self.top1, 100);
  const r = await knnEvaluate(params, cfg, train, val, { pooling: "mean", k: 5, encodeBatchSize: 8 });
  assert.ok(r.top1 >= 0 && r.top1 <= 100 && r.top5 >= r.top1, JSON.stringify(r));
  for (const v of params.values()) v.dispose();
});

Deno.test("knn: rejects malformed inputs", async () => {
  const base = {
    trainFeatures: new Float32Array(6),
    trainLabels: new Int32Array([0, 1, 0]),
    queryFeatures: new Float32Array(4),
    numClasses: 2,
  };
  await assert.rejects(() => knnClassify({ ...base, trainLabels: new Int32Array([0, 2, 0]) }), RangeError);
  await assert.rejects(() => knnClassify({ ...base, queryFeatures: new Float32Array(3) }), RangeError);
  await assert.rejects(() => knnClassify({ ...base, temperature: 0 }), RangeError);
  await assert.rejects(() => knnClassify({ ...base, queryLabels: new Int32Array(1) }), RangeError);
});
