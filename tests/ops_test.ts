/**
 * The fast-ops layer: custom-gradient ops equal plain tfjs autodiff in value and gradient, on the cpu and wasm
 * backends; attention logits and GELU equal independent plain-JS formulas; forward+backward leaks no tensors.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { openBlas } from "../lib/blas.ts";
import {
  channelBatchedMatMul,
  gelu,
  layerNorm,
  linear,
  multiHeadAttention,
  type OpsMode,
  repeatRow,
  setOpsMode,
  sumRows,
} from "../lib/ops.ts";
import { Rng } from "../lib/rng.ts";
import { countTensorsMade } from "./made_tensors.ts";

// wasm twice: matMuls on XNNPACK (attention as depthwise convolutions) and, where installed, on OpenBLAS
// (attention as batched matMuls with transposes as flags).
const BACKENDS: { label: string; name: "cpu" | "wasm"; blas?: "on" | "off" }[] = [
  { label: "cpu", name: "cpu" },
  { label: "wasm, XNNPACK", name: "wasm", blas: "off" },
  ...(openBlas(1).ok ? [{ label: "wasm, OpenBLAS", name: "wasm" as const, blas: "on" as const }] : []),
];
const TOLERANCE = 1e-4;

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** max|a − b| / max(max|b|, 1e-6): relative error in the max norm. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "length");
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    ref = Math.max(ref, Math.abs(b[i]));
  }
  return diff / Math.max(ref, 1e-6);
}

/**
 * Value and gradients of `op` for the given inputs in one ops mode. The gradient is of Σ op(x)·R for a fixed
 * random cotangent R, so every output element contributes a different weight.
 */
function valueAndGrads(
  mode: OpsMode,
  op: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: { shape: number[]; data: Float32Array }[],
  seed: number,
): { value: Float32Array; grads: Float32Array[] } {
  setOpsMode(mode);
  try {
    return tf.tidy(() => {
      const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
      const out = op(...xs);
      const r = tf.tensor(randn(new Rng(seed), out.size), out.shape);
      const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(op(...args), r)))(xs);
      return {
        value: out.dataSync() as Float32Array,
        grads: grads.map((g) => g.dataSync() as Float32Array),
      };
    });
  } finally {
    setOpsMode("auto");
  }
}

function assertCustomEqualsPlain(
  label: string,
  op: (...xs: tf.Tensor[]) => tf.Tensor,
  shapes: number[][],
  seed: number,
): void {
  const rng = new Rng(seed);
  const inputs = shapes.map((shape) => ({ shape, data: randn(rng, shape.reduce((a, b) => a * b, 1)) }));
  const custom = valueAndGrads("custom", op, inputs, seed + 1);
  const plain = valueAndGrads("plain", op, inputs, seed + 1);
  const ev = relError(custom.value, plain.value);
  assert.ok(ev < TOLERANCE, `${label}: value relative error ${ev}`);
  assert.equal(custom.grads.length, plain.grads.length);
  custom.grads.forEach((g, i) => {
    const eg = relError(g, plain.grads[i]);
    assert.ok(eg < TOLERANCE, `${label}: gradient of input ${i} relative error ${eg}`);
    // A gradient of all zeros would make the comparison vacuous.
    assert.ok(plain.grads[i].some((v) => v !== 0), `${label}: gradient of input ${i} is zero`);
  });
}

for (const { label: backend, name, blas } of BACKENDS) {
  Deno.test(`ops (${backend}): every op in custom mode equals plain mode in value and gradient`, async () => {
    await selectBackend(name, { blas });
    const t2 = (x: tf.Tensor) => x as tf.Tensor2D;
    const t1 = (x: tf.Tensor) => x as tf.Tensor1D;
    const t3 = (x: tf.Tensor) => x as tf.Tensor3D;
    for (const [n, din, dout] of [[3, 5, 7], [17, 32, 9], [1, 4, 1]]) {
      assertCustomEqualsPlain(`linear ${n}x${din}x${dout}`, (x, w, b) => linear(t2(x), t2(w), t1(b)), [
        [n, din],
        [din, dout],
        [dout],
      ], n * 100 + din);
      assertCustomEqualsPlain(`linear (no bias) ${n}x${din}x${dout}`, (x, w) => linear(t2(x), t2(w)), [
        [n, din],
        [din, dout],
      ], n * 100 + din + 1);
    }
    for (const [n, d] of [[4, 8], [9, 33], [2, 3]]) {
      assertCustomEqualsPlain(
        `layerNorm ${n}x${d}`,
        (x, g, b) => layerNorm(t2(x), t1(g), t1(b)),
        [[n, d], [d], [d]],
        n * 10 + d,
      );
      assertCustomEqualsPlain(`sumRows ${n}x${d}`, (x) => sumRows(t2(x)), [[n, d]], n + d);
      assertCustomEqualsPlain(`repeatRow 1x${d} → ${n}`, (x) => repeatRow(t2(x), n), [[1, d]], 3 * n + d);
    }
    for (const shape of [[5, 6], [3, 4, 7], [1]]) {
      assertCustomEqualsPlain(`gelu [${shape}]`, (x) => gelu(tf.mul(x, 2)), [shape], shape.length * 7);
    }
    for (const [m, n, k, c] of [[3, 2, 4, 5], [7, 5, 3, 6], [1, 1, 2, 1]]) {
      assertCustomEqualsPlain(
        `channelBatchedMatMul M${m} N${n} K${k} C${c}`,
        (a, b) => channelBatchedMatMul(t3(a), t3(b)),
        [[m, k, c], [n, k, c]],
        m * 1000 + n * 100 + k * 10 + c,
      );
    }
    for (const [b, t, d, h] of [[2, 5, 8, 2], [3, 4, 12, 3], [1, 3, 4, 1]]) {
      const shape = [b * t, d];
      assertCustomEqualsPlain(
        `multiHeadAttention B${b} T${t} D${d} H${h}`,
        (q, k, v) => multiHeadAttention(t2(q), t2(k), t2(v), b, h).out,
        [shape, shape, shape],
        b * 1000 + t * 100 + d,
      );
      assertCustomEqualsPlain(
        `attention logits B${b} T${t} D${d} H${h}`,
        // The logits do not depend on v; q serves as v.
        (q, k) => multiHeadAttention(t2(q), t2(k), t2(q), b, h, { returnLogits: true }).logits!,
        [shape, shape],
        b * 1000 + t * 100 + d + 7,
      );
    }
  });

  Deno.test(`ops (${backend}): attention logits and output equal explicit q·kᵀ/√dh and softmax·v`, async () => {
    await selectBackend(name, { blas });
    const B = 2, T = 3, H = 2, D = 4, dh = D / H;
    const rng = new Rng(42);
    const q = randn(rng, B * T * D), k = randn(rng, B * T * D), v = randn(rng, B * T * D);
    for (const mode of ["custom", "plain"] as const) {
      setOpsMode(mode);
      const { logits, out } = tf.tidy(() => {
        const r = multiHeadAttention(
          tf.tensor2d(q, [B * T, D]),
          tf.tensor2d(k, [B * T, D]),
          tf.tensor2d(v, [B * T, D]),
          B,
          H,
          { returnLogits: true },
        );
        assert.deepEqual(r.logits!.shape, [T, B * H, T]);
        assert.deepEqual(r.out.shape, [B * T, D]);
        return { logits: r.logits!.dataSync(), out: r.out.dataSync() };
      });
      setOpsMode("auto");
      // Token (b, t), head h, channel j sits at row b·T + t, column h·dh + j.
      const at = (x: Float32Array, b: number, t: number, h: number, j: number) =>
        x[(b * T + t) * D + h * dh + j];
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          for (let tq = 0; tq < T; tq++) {
            const row: number[] = [];
            for (let tk = 0; tk < T; tk++) {
              let s = 0;
              for (let j = 0; j < dh; j++) s += at(q, b, tq, h, j) * at(k, b, tk, h, j);
              s /= Math.sqrt(dh);
              row.push(s);
              const got = logits[(tq * B * H + b * H + h) * T + tk];
              assert.ok(Math.abs(got - s) < 1e-5, `${mode}: logit b${b} h${h} q${tq} k${tk}: ${got} vs ${s}`);
            }
            const mx = Math.max(...row);
            const e = row.map((x) => Math.exp(x - mx));
            const z = e.reduce((a, c) => a + c, 0);
            for (let j = 0; j < dh; j++) {
              let o = 0;
              for (let tk = 0; tk < T; tk++) o += (e[tk] / z) * at(v, b, tk, h, j);
              const got = out[(b * T + tq) * D + h * dh + j];
              assert.ok(Math.abs(got - o) < 1e-5, `${mode}: out b${b} h${h} q${tq} j${j}: ${got} vs ${o}`);
            }
          }
        }
      }
    }
  });

  Deno.test(`ops (${backend}): GELU equals the tanh-approximation formula`, async () => {
    await selectBackend(name, { blas });
    const xs = Float32Array.from([-6, -3, -1.5, -1, -0.5, -0.1, 0, 0.1, 0.5, 1, 1.5, 3, 6]);
    const c = Math.sqrt(2 / Math.PI);
    const expected = Array.from(xs, (x) => 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x ** 3))));
    // Derivative of the same formula, written out independently.
    const expectedGrad = Array.from(xs, (x) => {
      const u = c * (x + 0.044715 * x ** 3);
      const th = Math.tanh(u);
      return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + 3 * 0.044715 * x * x);
    });
    for (const mode of ["custom", "plain"] as const) {
      setOpsMode(mode);
      const [value, grad] = tf.tidy(() => {
        const x = tf.tensor1d(xs);
        return [gelu(x).dataSync(), tf.grad((t: tf.Tensor) => tf.sum(gelu(t)))(x).dataSync()];
      });
      setOpsMode("auto");
      for (let i = 0; i < xs.length; i++) {
        assert.ok(
          Math.abs(value[i] - expected[i]) < 1e-5,
          `${mode}: gelu(${xs[i]}) = ${value[i]}, want ${expected[i]}`,
        );
        assert.ok(
          Math.abs(grad[i] - expectedGrad[i]) < 1e-5,
          `${mode}: gelu'(${xs[i]}) = ${grad[i]}, want ${expectedGrad[i]}`,
        );
      }
    }
  });

  Deno.test(`ops (${backend}): repeated tidy'd forward+backward leaks no tensors`, async () => {
    await selectBackend(name, { blas });
    const rng = new Rng(7);
    const B = 2, T = 5, D = 8, H = 2;
    const x = tf.tensor2d(randn(rng, B * T * D), [B * T, D]);
    const w = tf.variable(tf.tensor2d(randn(rng, D * D, 0.3), [D, D]));
    const bias = tf.variable(tf.tensor1d(randn(rng, D)));
    const gamma = tf.variable(tf.ones([D]) as tf.Tensor1D);
    const beta = tf.variable(tf.zeros([D]) as tf.Tensor1D);
    const cls = tf.variable(tf.tensor2d(randn(rng, D), [1, D]));
    const vars = [w, bias, gamma, beta, cls];
    const forwardBackward = () =>
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const h = layerNorm(tf.add(x, repeatRow(cls as tf.Tensor2D, B * T)), gamma, beta);
          const q = linear(h, w, bias);
          const att = multiHeadAttention(q, q, h, B, H, { returnLogits: true });
          return tf.add(
            tf.mean(gelu(att.out)),
            tf.mean(sumRows(att.logits!.reshape([-1, T]) as tf.Tensor2D)),
          );
        }, vars);
        return tf.addN([value, ...Object.values(grads).map((g) => tf.sum(g))]).dataSync()[0];
      });
    try {
      for (const mode of ["custom", "plain"] as const) {
        setOpsMode(mode);
        forwardBackward(); // warm-up: the ops layer caches its rows of ones on purpose
        const before = tf.memory().numTensors;
        let first = NaN;
        for (let i = 0; i < 5; i++) {
          const r = forwardBackward();
          if (i === 0) first = r;
          assert.equal(r, first, "repeated passes give the same result");
          assert.equal(tf.memory().numTensors, before, `${mode}: tensor count grew at pass ${i}`);
        }
      }
    } finally {
      setOpsMode("auto");
      for (const t of [x, ...vars]) t.dispose();
    }
  });
}

Deno.test("ops: the plain branches' constants (LayerNorm ε, GELU, attention scale) are made once, bit-identical to number operands", async () => {
  await selectBackend("cpu");
  const rng = new Rng(4);
  const x = tf.tensor2d(Float32Array.from({ length: 6 * 8 }, () => rng.normal()), [6, 8]);
  const gamma = tf.ones([8]) as tf.Tensor1D, beta = tf.zeros([8]) as tf.Tensor1D;
  const run = () =>
    tf.tidy(() => {
      const h = gelu(layerNorm(x, gamma, beta));
      return multiHeadAttention(h, h, h, 2, 2).out.dataSync().slice();
    });
  const first = run(); // makes the constants
  const { result: second, made } = await countTensorsMade(run);
  assert.equal(
    made,
    0,
    "no tensor made from values once the constants exist (number operands made one per use)",
  );
  assert.deepEqual(second, first);
  // The same ops with number operands, as tfjs converts them.
  const ref = tf.tidy(() => {
    const { mean, variance } = tf.moments(x, 1, true);
    const ln = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6))), gamma), beta);
    const z = tf.mul(tf.mul(ln, tf.add(tf.mul(tf.square(ln), 0.044715), 1)), 2 * Math.sqrt(2 / Math.PI));
    return tf.mul(ln, tf.sigmoid(z)).dataSync().slice();
  });
  const h = tf.tidy(() => gelu(layerNorm(x, gamma, beta)).dataSync().slice());
  assert.deepEqual(h, ref);
  tf.dispose([x, gamma, beta]);
});

Deno.test("ops: kept constants survive an engine reset (a new backend instance gets its own)", async () => {
  await selectBackend("cpu");
  const x = tf.tensor2d([[0.5, -1, 2, 0.25]]);
  const before = tf.tidy(() => gelu(x).dataSync().slice());
  x.dispose();
  tf.engine().reset();
  await selectBackend("cpu");
  const y = tf.tensor2d([[0.5, -1, 2, 0.25]]);
  const after = tf.tidy(() => gelu(y).dataSync().slice());
  y.dispose();
  assert.deepEqual(after, before);
});
