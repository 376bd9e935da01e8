/**
 * Optimisers and schedules against hand computations with PyTorch / MAE semantics: AdamW (decoupled decay,
 * bias correction, MAE's no-decay groups, layer-decay lr scales, gradient clipping), SGD with momentum and
 * LARS, the warm-up + cosine schedule, the base-lr rule and MAE's layer ids for layer-wise lr decay.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import {
  absoluteLr,
  AdamW,
  CODE_PRETRAIN_NO_DECAY,
  cosineLr,
  globalNorm,
  hasWeightDecay,
  layerDecayScale,
  layerId,
  SgdMomentum,
} from "../lib/train/optim.ts";
import type { Params } from "../lib/vit.ts";
import { countTensorsMade } from "./made_tensors.ts";

type Values = Record<string, { shape: number[]; data: number[] }>;

function makeParams(values: Values): Params {
  return new Map(Object.entries(values).map(([n, v]) => [n, tf.variable(tf.tensor(v.data, v.shape), true)]));
}

function gradsOf(values: Record<string, number[]>, params: Params): Map<string, tf.Tensor> {
  const present = Object.entries(values).filter(([n]) => params.has(n));
  return new Map(present.map(([n, g]) => [n, tf.tensor(g, params.get(n)!.shape)]));
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, label: string, tol = 1e-6): void {
  assert.equal(got.length, want.length, label);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
    assert.ok(err < tol, `${label}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

/** PyTorch's AdamW on plain numbers (one parameter tensor), written out step by step. */
class HandAdamW {
  m: number[];
  v: number[];
  t = 0;
  constructor(public p: number[], readonly o: { b1: number; b2: number; eps: number; wd: number }) {
    this.m = p.map(() => 0);
    this.v = p.map(() => 0);
  }
  step(g: number[], lr: number): void {
    this.t++;
    const { b1, b2, eps, wd } = this.o;
    for (let i = 0; i < this.p.length; i++) {
      this.p[i] *= 1 - lr * wd; // decoupled decay first
      this.m[i] = b1 * this.m[i] + (1 - b1) * g[i];
      this.v[i] = b2 * this.v[i] + (1 - b2) * g[i] * g[i];
      const mHat = this.m[i] / (1 - b1 ** this.t);
      const vHat = this.v[i] / (1 - b2 ** this.t);
      this.p[i] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  }
}

const INIT: Values = {
  "blocks.0.mlp.fc1.weight": { shape: [2, 2], data: [0.5, -1, 2, 0.25] },
  "blocks.0.mlp.fc1.bias": { shape: [2], data: [0.1, -0.2] },
  "norm.weight": { shape: [2], data: [1, 1] },
  "cls_token": { shape: [1, 2], data: [0.3, -0.4] },
  "mask_token": { shape: [1, 2], data: [-0.7, 0.9] },
  "head.weight": { shape: [2, 1], data: [1.5, -2.5] },
};
const GRADS1: Record<string, number[]> = {
  "blocks.0.mlp.fc1.weight": [0.1, -0.3, 0.02, 1.5],
  "blocks.0.mlp.fc1.bias": [-0.5, 0.25],
  "norm.weight": [0.05, -0.05],
  "cls_token": [1, -2],
  "mask_token": [0.3, 0.6],
  "head.weight": [-0.2, 0.4],
};
const GRADS2: Record<string, number[]> = {
  "blocks.0.mlp.fc1.weight": [-0.2, 0.1, 0.4, -1],
  "blocks.0.mlp.fc1.bias": [0.5, 0.75],
  "norm.weight": [0.01, 0.3],
  "cls_token": [-0.5, 0.5],
  "mask_token": [0.1, -0.6],
  "head.weight": [0.3, 0.1],
};

Deno.test("hasWeightDecay: MAE's groups — no decay on 1-D tensors, biases, cls_token, mask_token; UM-MAE's vis_mask_token decayed", () => {
  assert.equal(hasWeightDecay("blocks.0.mlp.fc1.weight", [2, 2]), true);
  assert.equal(hasWeightDecay("head.weight", [2, 1]), true);
  assert.equal(hasWeightDecay("patch_embed.proj.weight", [48, 32]), true);
  assert.equal(hasWeightDecay("blocks.0.mlp.fc1.bias", [2]), false);
  assert.equal(hasWeightDecay("norm.weight", [2]), false);
  assert.equal(hasWeightDecay("cls_token", [1, 2]), false);
  assert.equal(hasWeightDecay("mask_token", [1, 2]), false);
  assert.equal(hasWeightDecay("vis_mask_token", [1, 2]), true); // UM-MAE decays its encoder-side token
  assert.equal(hasWeightDecay("some.bias", [2, 2]), false);
});

Deno.test("AdamW: one and two steps equal PyTorch's update, per parameter group", async () => {
  await selectBackend("cpu");
  const lr1 = 1e-2, lr2 = 5e-3, wd = 0.05;
  const o = { b1: 0.9, b2: 0.95, eps: 1e-8 };
  const params = makeParams(INIT);
  const opt = new AdamW(params, { weightDecay: wd, beta2: 0.95 });
  try {
    const hands = new Map(
      Object.entries(INIT).map((
        [n, v],
      ) => [n, new HandAdamW([...v.data], { ...o, wd: hasWeightDecay(n, v.shape) ? wd : 0 })]),
    );
    for (const [grads, lr] of [[GRADS1, lr1], [GRADS2, lr2]] as const) {
      const g = gradsOf(grads, params);
      const norm = await opt.apply(g, lr);
      assert.ok(Number.isNaN(norm), "no clipping: the norm is not computed");
      g.forEach((t) => t.dispose());
      for (const [n, hand] of hands) {
        hand.step(grads[n], lr);
        assertClose(params.get(n)!.dataSync(), hand.p, `${n} after step ${opt.step}`);
        assertClose(opt.m.get(n)!.dataSync(), hand.m, `m of ${n}`);
        assertClose(opt.v.get(n)!.dataSync(), hand.v, `v of ${n}`);
      }
    }
    assert.equal(opt.step, 2);
    // The first step of Adam moves every coordinate by ≈ lr·sign(g) (bias correction at work).
    const bias0 = INIT["blocks.0.mlp.fc1.bias"].data[0];
    const afterOne = new HandAdamW([bias0], { ...o, wd: 0 });
    afterOne.step([GRADS1["blocks.0.mlp.fc1.bias"][0]], lr1);
    assert.ok(Math.abs(afterOne.p[0] - (bias0 + lr1)) < 1e-7);
  } finally {
    opt.dispose();
    params.forEach((v) => v.dispose());
  }
});

Deno.test("AdamW: a step's scalars are made once and shared (uploads do not grow with parameters), bit-identical to number operands, nothing leaked", async () => {
  await selectBackend("cpu");
  const count = 24;
  const values: Values = {};
  const grads: Record<string, number[]> = {};
  for (let i = 0; i < count; i++) {
    values[`blocks.${i}.attn.proj.weight`] = { shape: [2, 2], data: [0.5 + i, -1, 2, 0.25 * i] };
    grads[`blocks.${i}.attn.proj.weight`] = [0.1, -0.3 * i, 0.02, 1.5];
  }
  const params = makeParams(values);
  const opt = new AdamW(params, {
    weightDecay: 0.05,
    clipNorm: 0.5,
    lrScale: (n) => n.startsWith("blocks.1") ? 0.5 : 1,
  });
  const g0 = gradsOf(grads, params);
  await opt.apply(g0, 1e-2); // step 1: slots exist already
  const before = tf.memory().numTensors;
  const { made } = await countTensorsMade(() => opt.apply(g0, 1e-2));
  // Two lr groups: ≈ 8 shared constants + 2 per group, not 8 per parameter (the old code made ≈ 190 here).
  assert.ok(made <= 16, `${made} tensors made from values in one step of ${count} parameters`);
  assert.equal(tf.memory().numTensors, before, "the step's scalars are disposed");
  g0.forEach((t) => t.dispose());
  // The same two steps written with number operands (what tfjs converts to float32 scalars) give the same bits.
  const ref = makeParams(values);
  const m = new Map<string, tf.Tensor>([...ref].map(([n, p]) => [n, tf.zerosLike(p)]));
  const v = new Map<string, tf.Tensor>([...ref].map(([n, p]) => [n, tf.zerosLike(p)]));
  const g = gradsOf(grads, ref);
  const norm = await globalNorm([...g.values()]);
  const clip = norm > 0.5 ? 0.5 / (norm + 1e-6) : 1;
  for (const step of [1, 2]) {
    const bc1 = 1 - Math.pow(0.9, step), bc2 = 1 - Math.pow(0.95, step);
    for (const [n, p] of ref) {
      const plr = 1e-2 * (n.startsWith("blocks.1") ? 0.5 : 1);
      const gr = tf.mul(g.get(n)!, clip);
      const m1 = tf.add(tf.mul(m.get(n)!, 0.9), tf.mul(gr, 1 - 0.9));
      const v1 = tf.add(tf.mul(v.get(n)!, 0.95), tf.mul(tf.square(gr), 1 - 0.95));
      m.set(n, m1);
      v.set(n, v1);
      const denom = tf.add(tf.sqrt(tf.div(v1, bc2)), 1e-8);
      p.assign(tf.sub(tf.mul(p, 1 - plr * 0.05), tf.mul(tf.div(m1, denom), plr / bc1)));
    }
  }
  for (const [n, p] of params) assert.deepEqual(p.dataSync(), ref.get(n)!.dataSync(), n);
  opt.dispose();
  for (const t of [...params.values(), ...ref.values(), ...m.values(), ...v.values(), ...g.values()]) {
    t.dispose();
  }
});

Deno.test("AdamW: decayed parameters differ from undecayed ones exactly by the factor (1 − lr·wd)", async () => {
  await selectBackend("cpu");
  const p0 = [0.5, -1, 2, 0.25];
  const g = [0.1, -0.3, 0.02, 1.5];
  const run = async (wd: number) => {
    const params = makeParams({ "x.weight": { shape: [2, 2], data: p0 } });
    const opt = new AdamW(params, { weightDecay: wd });
    const grads = gradsOf({ "x.weight": g }, params);
    await opt.apply(grads, 0.1);
    const out = Array.from(params.get("x.weight")!.dataSync());
    grads.forEach((t) => t.dispose());
    opt.dispose();
    params.forEach((v) => v.dispose());
    return out;
  };
  const plain = await run(0);
  const decayed = await run(0.5);
  // p1 = p0·(1 − lr·wd) − step: the difference is −lr·wd·p0.
  for (let i = 0; i < 4; i++) assert.ok(Math.abs(decayed[i] - plain[i] - -0.1 * 0.5 * p0[i]) < 1e-6);
});

Deno.test("AdamW: layer-decay lr scale multiplies the step and the decay of each parameter", async () => {
  await selectBackend("cpu");
  const values: Values = {
    "blocks.0.mlp.fc1.weight": INIT["blocks.0.mlp.fc1.weight"],
    "head.weight": INIT["head.weight"],
    "cls_token": INIT["cls_token"],
  };
  const depth = 1, ld = 0.5, lr = 0.02, wd = 0.1;
  const params = makeParams(values);
  const opt = new AdamW(params, {
    weightDecay: wd,
    beta2: 0.999,
    lrScale: (n) => layerDecayScale(n, depth, ld),
  });
  try {
    const g = gradsOf(GRADS1, params);
    await opt.apply(g, lr);
    g.forEach((t) => t.dispose());
    const scales: Record<string, number> = {
      "blocks.0.mlp.fc1.weight": 0.5,
      "head.weight": 1,
      "cls_token": 0.25,
    };
    for (const [n, v] of Object.entries(values)) {
      const hand = new HandAdamW([...v.data], {
        b1: 0.9,
        b2: 0.999,
        eps: 1e-8,
        wd: hasWeightDecay(n, v.shape) ? wd : 0,
      });
      hand.step(GRADS1[n], lr * scales[n]);
      assertClose(params.get(n)!.dataSync(), hand.p, n);
    }
  } finally {
    opt.dispose();
    params.forEach((v) => v.dispose());
  }
});

Deno.test("AdamW: gradient clipping by global norm (PyTorch's clip_grad_norm_), norm returned", async () => {
  await selectBackend("cpu");
  // Grad norm: sqrt(3² + 4² + 12²) = 13; clip to 1.3 → every gradient × 1.3 / (13 + 1e-6).
  const values: Values = {
    "a.weight": { shape: [1, 2], data: [1, 2] },
    "b.bias": { shape: [1], data: [-1] },
  };
  const grads = { "a.weight": [3, 4], "b.bias": [12] };
  // A large eps makes Adam's update depend on the gradient's scale, so clipping is visible in the result.
  const eps = 0.5, lr = 0.1;
  for (const clipNorm of [1.3, 100]) {
    const params = makeParams(values);
    const opt = new AdamW(params, { weightDecay: 0, eps, clipNorm });
    const g = gradsOf(grads, params);
    const norm = await opt.apply(g, lr);
    assert.ok(Math.abs(norm - 13) < 1e-5, `returned norm ${norm}`);
    const scale = clipNorm < 13 ? clipNorm / (13 + 1e-6) : 1;
    for (const [n, v] of Object.entries(values)) {
      const hand = new HandAdamW([...v.data], { b1: 0.9, b2: 0.95, eps, wd: 0 });
      hand.step(grads[n as keyof typeof grads].map((x) => x * scale), lr);
      assertClose(params.get(n)!.dataSync(), hand.p, `${n} (clip ${clipNorm})`);
    }
    g.forEach((t) => t.dispose());
    opt.dispose();
    params.forEach((v) => v.dispose());
  }
  const t = [tf.tensor([3, 4]), tf.tensor([[12]])];
  assert.ok(Math.abs((await globalNorm(t)) - 13) < 1e-5);
  t.forEach((x) => x.dispose());
});

Deno.test("AdamW: state round trip through stateTensors/loadState continues identically", async () => {
  await selectBackend("cpu");
  const a = makeParams(INIT);
  const optA = new AdamW(a, { weightDecay: 0.05 });
  const g1 = gradsOf(GRADS1, a);
  await optA.apply(g1, 0.01);
  // Snapshot A into B (weights and slots), then take the same second step on both.
  const b = makeParams(
    Object.fromEntries([...a].map(([n, v]) => [n, { shape: v.shape, data: Array.from(v.dataSync()) }])),
  );
  const optB = new AdamW(b, { weightDecay: 0.05 });
  const slots = new Map(
    [...optA.stateTensors()].map((
      [n, t],
    ) => [n, { shape: t.shape.slice(), data: t.dataSync() as Float32Array }]),
  );
  optB.loadState(slots, optA.step);
  const g2 = gradsOf(GRADS2, a);
  await optA.apply(g2, 0.005);
  await optB.apply(g2, 0.005);
  for (const n of a.keys()) assert.deepEqual(b.get(n)!.dataSync(), a.get(n)!.dataSync(), n);
  assert.throws(() => optB.loadState(new Map(), 1), /lacks optimiser slot/);
  [...g1.values(), ...g2.values()].forEach((t) => t.dispose());
  optA.dispose();
  optB.dispose();
  [...a.values(), ...b.values()].forEach((v) => v.dispose());
});

Deno.test("cosineLr: linear warm-up then half-cycle cosine to minLr (MAE's adjust_learning_rate)", () => {
  const o = { lr: 1e-3, minLr: 1e-5, warmupEpochs: 4, epochs: 20 };
  assert.equal(cosineLr(0, o), 0);
  assert.ok(Math.abs(cosineLr(2, o) - 5e-4) < 1e-15, "warm-up midpoint = lr/2");
  assert.ok(Math.abs(cosineLr(1, o) - 2.5e-4) < 1e-15);
  assert.ok(Math.abs(cosineLr(4, o) - 1e-3) < 1e-15, "end of warm-up = lr");
  assert.ok(Math.abs(cosineLr(12, o) - (1e-3 + 1e-5) / 2) < 1e-15, "cosine midpoint = (lr + minLr)/2");
  // A quarter of the cosine: minLr + (lr − minLr)·(1 + cos(π/4))/2.
  assert.ok(Math.abs(cosineLr(8, o) - (1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + Math.SQRT1_2))) < 1e-15);
  assert.ok(Math.abs(cosineLr(20, o) - 1e-5) < 1e-15, "end = minLr");
  // Monotone decreasing after the warm-up.
  for (let e = 4; e < 20; e += 0.5) assert.ok(cosineLr(e + 0.5, o) < cosineLr(e, o));
  // No warm-up: starts at lr.
  assert.equal(cosineLr(0, { ...o, warmupEpochs: 0 }), 1e-3);
});

Deno.test("absoluteLr: lr = blr × batch / 256", () => {
  assert.ok(Math.abs(absoluteLr(1.5e-4, 4096) - 2.4e-3) < 1e-15);
  assert.ok(Math.abs(absoluteLr(5e-4, 1024) - 2e-3) < 1e-15);
  assert.equal(absoluteLr(0.1, 256), 0.1);
});

Deno.test("layerId / layerDecayScale follow MAE's param_groups_lrd (depth 12, ld 0.75)", () => {
  const depth = 12, ld = 0.75;
  const cases: [string, number][] = [
    ["cls_token", 0],
    ["pos_embed", 0],
    ["patch_embed.proj.weight", 0],
    ["patch_embed.proj.bias", 0],
    ["blocks.0.attn.q.weight", 1],
    ["blocks.0.norm1.bias", 1],
    ["blocks.5.mlp.fc2.weight", 6],
    ["blocks.11.attn.proj.bias", 12],
    ["norm.weight", 13],
    ["fc_norm.bias", 13],
    ["head.weight", 13],
    ["head.bias", 13],
  ];
  for (const [name, id] of cases) {
    assert.equal(layerId(name, depth), id, name);
    const want = Math.pow(0.75, 13 - id);
    assert.ok(Math.abs(layerDecayScale(name, depth, ld) - want) < 1e-15, `${name}: scale`);
  }
  assert.equal(layerDecayScale("head.weight", depth, ld), 1);
  assert.ok(Math.abs(layerDecayScale("cls_token", depth, ld) - 0.75 ** 13) < 1e-15);
  // A name that merely contains "blocks." is not a block (MAE tests the prefix).
  assert.equal(layerId("decoder_blocks.3.attn.q.weight", depth), 13);
});

Deno.test("SgdMomentum: PyTorch semantics (buf = μ·buf + g + wd·p; p −= lr·buf), decay groups", async () => {
  await selectBackend("cpu");
  const mu = 0.9, wd = 0.1;
  const values: Values = { "head.weight": INIT["head.weight"], "head.bias": { shape: [1], data: [0.5] } };
  const params = makeParams(values);
  const opt = new SgdMomentum(params, { momentum: mu, weightDecay: wd });
  try {
    const hand: Record<string, { p: number[]; buf: number[] }> = {};
    for (const [n, v] of Object.entries(values)) hand[n] = { p: [...v.data], buf: v.data.map(() => 0) };
    const steps: [Record<string, number[]>, number][] = [
      [{ "head.weight": [-0.2, 0.4], "head.bias": [1] }, 0.1],
      [{ "head.weight": [0.3, 0.1], "head.bias": [-2] }, 0.05],
      [{ "head.weight": [0.5, -0.5], "head.bias": [0.5] }, 0.05],
    ];
    for (const [k, [grads, lr]] of steps.entries()) {
      const g = gradsOf(grads, params);
      await opt.apply(g, lr);
      g.forEach((t) => t.dispose());
      for (const [n, v] of Object.entries(values)) {
        const h = hand[n];
        const d = hasWeightDecay(n, v.shape) ? wd : 0;
        for (let i = 0; i < h.p.length; i++) {
          const gi = grads[n][i] + d * h.p[i];
          h.buf[i] = k === 0 ? gi : mu * h.buf[i] + gi;
          h.p[i] -= lr * h.buf[i];
        }
        assertClose(params.get(n)!.dataSync(), h.p, `${n} after step ${k + 1}`);
      }
    }
  } finally {
    opt.dispose();
    params.forEach((v) => v.dispose());
  }
});

Deno.test("SgdMomentum with LARS scales a weight matrix's update by trust·‖p‖/‖g‖ (MAE's LARS)", async () => {
  await selectBackend("cpu");
  const params = makeParams({
    "head.weight": { shape: [2, 1], data: [3, 4] },
    "head.bias": { shape: [1], data: [1] },
  });
  const opt = new SgdMomentum(params, { momentum: 0.9, weightDecay: 0, lars: true, trustCoefficient: 0.001 });
  try {
    const g = gradsOf({ "head.weight": [0.6, 0.8], "head.bias": [2] }, params);
    await opt.apply(g, 1);
    g.forEach((t) => t.dispose());
    // ‖p‖ = 5, ‖g‖ = 1 → q = 0.005; the bias (1-D) is not scaled.
    assertClose(params.get("head.weight")!.dataSync(), [3 - 0.005 * 0.6, 4 - 0.005 * 0.8], "weight");
    assertClose(params.get("head.bias")!.dataSync(), [1 - 2], "bias");
  } finally {
    opt.dispose();
    params.forEach((v) => v.dispose());
  }
});

Deno.test("AdamW with the code's pre-training groups: cls_token and mask_token are decayed, biases not", async () => {
  await selectBackend("cpu");
  // Zero gradients: Adam's step is 0, so what moves a parameter is the decay alone, p·(1 − lr·wd).
  const run = async (noDecayNames?: ReadonlySet<string>) => {
    const params = makeParams({
      "cls_token": { shape: [1, 2], data: [1, -2] },
      "mask_token": { shape: [1, 2], data: [0.5, 4] },
      "head.bias": { shape: [2], data: [1, 1] },
    });
    const opt = new AdamW(params, { weightDecay: 0.5, ...(noDecayNames ? { noDecayNames } : {}) });
    const grads = gradsOf({ "cls_token": [0, 0], "mask_token": [0, 0], "head.bias": [0, 0] }, params);
    await opt.apply(grads, 0.1);
    const out = Object.fromEntries([...params].map(([n, v]) => [n, Array.from(v.dataSync())]));
    grads.forEach((t) => t.dispose());
    opt.dispose();
    params.forEach((v) => v.dispose());
    return out;
  };
  const code = await run(CODE_PRETRAIN_NO_DECAY);
  assert.deepEqual(code["cls_token"].map((x) => Number(x.toFixed(6))), [0.95, -1.9]);
  assert.deepEqual(code["mask_token"].map((x) => Number(x.toFixed(6))), [0.475, 3.8]);
  assert.deepEqual(code["head.bias"], [1, 1]);
  const legacy = await run();
  assert.deepEqual(legacy["cls_token"], [1, -2]);
  assert.deepEqual(legacy["mask_token"], [0.5, 4]);
  assert.equal(hasWeightDecay("cls_token", [1, 2], CODE_PRETRAIN_NO_DECAY), true);
  assert.equal(hasWeightDecay("norm.weight", [2], CODE_PRETRAIN_NO_DECAY), false);
});

Deno.test("decayTokens: the paper profile follows the code; a recipe without the field keeps its identity", async () => {
  const { getProfile } = await import("../experiments/profiles.ts");
  const { recipeScaleDeviations } = await import("../experiments/tables/common.ts");
  assert.equal(getProfile("paper").pretrain.decayTokens, true);
  assert.equal(getProfile("cpu").pretrain.decayTokens, undefined, "the cpu tables' runs keep their hashes");
  assert.ok(recipeScaleDeviations(getProfile("cpu")).some((d) => d.includes("exempts cls_token")));
  const { pretrainHash } = await import("../lib/train/pretrain_spec.ts");
  const { createMaskStrategy } = await import("../lib/masking/mod.ts");
  const p = getProfile("smoke");
  const spec = (recipe: typeof p.pretrain) => ({
    profile: p.name,
    dataset: p.dataset,
    model: p.model,
    recipe,
    seed: 0,
    strategy: createMaskStrategy("random", { maskRatio: 0.75 }),
  });
  assert.notEqual(pretrainHash(spec({ ...p.pretrain, decayTokens: true })), pretrainHash(spec(p.pretrain)));
});
