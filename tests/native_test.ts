/**
 * Fused native kernels on wasm (lib/native.ts, native/gpa_kernels.c): LayerNorm, GELU and softmax equal the
 * unfused ops in value and gradient (odd shapes, small and large magnitudes, saturated GELU) and float64
 * formulas; LayerNorm's gradient matches finite differences; AdamW equals the unfused update bit for bit; the
 * sharing Identity keeps clones valid and leaks nothing; a whole MAE loss and its gradients match the unfused
 * path on a fixed seed; without the library (or a compiler) selection falls back with the reason. Skipped,
 * except the fallback tests, where the library cannot be built (no C compiler).
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { BackendError, selectBackend } from "../lib/backend.ts";
import { initMae, type MaeConfig, maeLoss, prepareMaeBatch } from "../lib/mae.ts";
import { RandomMasking } from "../lib/masking/random.ts";
import type { MaskBatch } from "../lib/masking/types.ts";
import { installNativeKernels, nativeKernelsActive, uninstallNativeKernels } from "../lib/native.ts";
import { buildNativeLibrary, openNative } from "../lib/native_library.ts";
import { gelu, layerNorm, softmax } from "../lib/ops.ts";
import { Rng } from "../lib/rng.ts";
import { childEnv } from "./cli_run.ts";
import { AdamW } from "../lib/train/optim.ts";

const available = openNative().ok;

type Data = { shape: number[]; data: Float32Array };

function randn(rng: Rng, shape: number[], scale = 1, offset = 0): Data {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, () => offset + rng.normal() * scale) };
}

/** max|a − b| / max(max|b|, tiny): relative error in the max norm. */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "length");
  let diff = 0, ref = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    ref = Math.max(ref, Math.abs(b[i]));
  }
  return diff / Math.max(ref, 1e-30);
}

/** Runs `fn` with the fused kernels installed (true) or on tfjs's own ops (false), on wasm. */
async function withFused<T>(fused: boolean, fn: () => T): Promise<T> {
  await selectBackend("wasm", { native: fused ? "on" : "off" });
  assert.equal(nativeKernelsActive(), fused);
  try {
    return fn();
  } finally {
    await selectBackend("wasm", { native: "off" });
  }
}

/** Value of `op` and the gradients of Σ op(xs)·R for a fixed random cotangent R. */
function valueAndGrads(op: (...xs: tf.Tensor[]) => tf.Tensor, inputs: Data[], seed: number) {
  return tf.tidy(() => {
    const xs = inputs.map((i) => tf.tensor(i.data, i.shape));
    const out = op(...xs);
    const r = tf.tensor(randn(new Rng(seed), out.shape).data, out.shape);
    const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(op(...args), r)))(xs);
    return { value: out.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

/**
 * Fused vs unfused, value and every gradient. Tolerances (max-norm relative): both sides compute in float32
 * (ε = 6e-8) the same formulas, differing only in summation order (rows of up to a few hundred entries; column
 * sums in double here), and in exp (a ≈ 2-ulp polynomial vs XNNPACK's): measured ≤ 3e-7 on values and ≤ 2e-6
 * on gradients; the bounds leave ≥ 50× margin. A wrong constant, index or formula errs by 1e-3 or more.
 */
async function assertFusedEqualsUnfused(
  label: string,
  op: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: Data[],
  tol = { value: 2e-5, grad: 1e-4 },
): Promise<void> {
  const fused = await withFused(true, () => valueAndGrads(op, inputs, 99));
  const unfused = await withFused(false, () => valueAndGrads(op, inputs, 99));
  const ev = relError(fused.value, unfused.value);
  assert.ok(ev <= tol.value, `${label}: value rel. error ${ev}`);
  fused.grads.forEach((g, i) => {
    const eg = relError(g, unfused.grads[i]);
    assert.ok(eg <= tol.grad, `${label}: gradient ${i} rel. error ${eg}`);
    assert.ok(g.every(Number.isFinite), `${label}: gradient ${i} finite`);
  });
}

const ln = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
  layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D);

Deno.test({
  name: "native: LayerNorm equals the unfused op in value and gradient (odd shapes, magnitudes, offsets)",
  ignore: !available,
  fn: async () => {
    const rng = new Rng(1);
    // [rows, d]: one entry, one row, one column, odd widths, the model's widths; scale and offset of x.
    const cases: [number[], number, number][] = [
      [[1, 1], 1, 0],
      [[1, 7], 1, 0],
      [[9, 1], 1, 0],
      [[5, 3], 1, 0],
      [[37, 193], 1, 0],
      [[17, 192], 1e-3, 0],
      [[17, 192], 1e3, 0],
      [[13, 128], 1, 100], // a large mean: the two-pass variance must not cancel
      [[64, 128], 1, 0],
    ];
    for (const [shape, scale, offset] of cases) {
      const d = shape[1];
      await assertFusedEqualsUnfused(
        `layerNorm ${shape} ×${scale} +${offset}`,
        ln,
        [randn(rng, shape, scale, offset), randn(rng, [d], 1, 1), randn(rng, [d])],
        // A row of one entry normalises to 0 on both sides; its gradient is rstd·0 = 0 up to rounding. With a
        // mean of 100, x − μ keeps 7 bits fewer, and the two sides' μ differ by their summation order (ulp(100)
        // = 8e-6 against a spread of 1): measured 1.3e-5 on values.
        d === 1 ? { value: 2e-5, grad: Infinity } : offset ? { value: 1e-4, grad: 1e-4 } : undefined,
      );
    }
  },
});

Deno.test({
  name: "native: LayerNorm forward equals a float64 formula; its gradients equal central finite differences",
  ignore: !available,
  fn: async () => {
    const rng = new Rng(2);
    const [rows, d] = [6, 11];
    const x = randn(rng, [rows, d], 2, 0.5), g = randn(rng, [d], 1, 1), b = randn(rng, [d]);
    const r = randn(rng, [rows, d]);
    const eps = 1e-6;
    const f64 = (xs: ArrayLike<number>, gs: ArrayLike<number>, bs: ArrayLike<number>) => {
      const out = new Float64Array(rows * d);
      for (let i = 0; i < rows; i++) {
        let m = 0, v = 0;
        for (let j = 0; j < d; j++) m += xs[i * d + j] / d;
        for (let j = 0; j < d; j++) v += (xs[i * d + j] - m) ** 2 / d;
        for (let j = 0; j < d; j++) {
          out[i * d + j] = ((xs[i * d + j] - m) / Math.sqrt(v + eps)) * gs[j] + bs[j];
        }
      }
      return out;
    };
    const loss = (xs: ArrayLike<number>, gs: ArrayLike<number>, bs: ArrayLike<number>) =>
      f64(xs, gs, bs).reduce((s, y, i) => s + y * r.data[i], 0);
    const got = await withFused(true, () =>
      tf.tidy(() => {
        const ts = [x, g, b].map((t) => tf.tensor(t.data, t.shape));
        const value = ln(ts[0], ts[1], ts[2]).dataSync();
        const rt = tf.tensor(r.data, r.shape);
        const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, e: tf.Tensor) => tf.sum(tf.mul(ln(a, c, e), rt)))(
          ts,
        );
        return { value, grads: grads.map((t) => t.dataSync()) };
      }));
    // float32 against float64: a few ulps of |y| ≤ ~10.
    assert.ok(relError(got.value, f64(x.data, g.data, b.data)) < 1e-6);
    // Central differences of the float64 loss (h = 1e-4: truncation error ~h² ≈ 1e-8): the float32 gradient
    // agrees to its own rounding, ~1e-6 relative.
    const inputs = [Float64Array.from(x.data), Float64Array.from(g.data), Float64Array.from(b.data)];
    inputs.forEach((arr, k) => {
      const fd = new Float64Array(arr.length);
      for (let i = 0; i < arr.length; i++) {
        const keep = arr[i], h = 1e-4;
        arr[i] = keep + h;
        const up = loss(inputs[0], inputs[1], inputs[2]);
        arr[i] = keep - h;
        const down = loss(inputs[0], inputs[1], inputs[2]);
        arr[i] = keep;
        fd[i] = (up - down) / (2 * h);
      }
      const e = relError(got.grads[k], fd);
      assert.ok(e < 1e-5, `input ${k}: gradient vs finite differences, rel. error ${e}`);
    });
  },
});

Deno.test({
  name: "native: GELU equals the unfused op and the float64 formula, saturated and tiny inputs included",
  ignore: !available,
  fn: async () => {
    const rng = new Rng(3);
    for (
      const [shape, scale] of [[[1], 1], [[3, 5], 1], [[2, 3, 17], 3], [[64, 96], 1e-3], [
        [40, 33],
        30,
      ]] as const
    ) {
      await assertFusedEqualsUnfused(`gelu ${shape} ×${scale}`, (x) => gelu(x), [
        randn(rng, [...shape], scale),
      ]);
    }
    // Exact points: the tails (σ saturates, e^z clamps), zero, and values around the bend.
    const xs = Float32Array.from([-100, -30, -10, -3, -1, -1e-4, 0, 1e-4, 0.5, 1, 3, 10, 30, 100]);
    const got = await withFused(true, () => tf.tidy(() => gelu(tf.tensor1d(xs)).dataSync()));
    const c = Math.sqrt(2 / Math.PI);
    xs.forEach((x, i) => {
      const want = 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x ** 3)));
      assert.ok(
        Math.abs(got[i] - want) <= 1e-6 * Math.max(Math.abs(want), 1e-3),
        `gelu(${x}) = ${got[i]} ≠ ${want}`,
      );
    });
  },
});

Deno.test({
  name: "native: softmax's fused backward equals the unfused gradient (last axis, odd widths, large logits)",
  ignore: !available,
  fn: async () => {
    const rng = new Rng(4);
    for (
      const [shape, scale] of [[[1, 1], 1], [[3, 7], 1], [[4, 5, 17], 5], [[6, 65], 30], [
        [2, 3, 64],
        1e-3,
      ]] as const
    ) {
      await assertFusedEqualsUnfused(`softmax ${shape} ×${scale}`, (x) => softmax(x), [
        randn(rng, [...shape], scale),
      ]);
    }
  },
});

Deno.test({
  name: "native: AdamW's fused update equals the unfused one bit for bit (decay, no decay, clipping)",
  ignore: !available,
  fn: async () => {
    const run = async (fused: boolean) => {
      await selectBackend("wasm", { native: fused ? "on" : "off" });
      const rng = new Rng(5);
      const params = new Map<string, tf.Variable>([
        ["w", tf.variable(tf.tensor(randn(rng, [7, 13]).data, [7, 13]))], // decayed
        ["w.bias", tf.variable(tf.tensor(randn(rng, [13]).data, [13]))], // not decayed
        ["big", tf.variable(tf.tensor(randn(rng, [3, 5], 1e3).data, [3, 5]))],
      ]);
      const out: Float32Array[] = [];
      for (const clipNorm of [undefined, 0.5]) {
        const opt = new AdamW(params, { weightDecay: 0.05, beta2: 0.95, clipNorm });
        for (let step = 0; step < 4; step++) {
          const grads = new Map(
            [...params].map(([n, p]) => [n, tf.tensor(randn(rng, p.shape, 0.3).data, p.shape)]),
          );
          await opt.apply(grads, 1e-2 * (step + 1));
          tf.dispose([...grads.values()]);
        }
        for (const p of params.values()) out.push(p.dataSync() as Float32Array);
        for (const s of opt.stateTensors().values()) out.push(s.dataSync() as Float32Array);
        opt.dispose();
      }
      tf.dispose([...params.values()]);
      return out;
    };
    const fused = await run(true);
    const unfused = await run(false);
    await selectBackend("wasm", { native: "off" });
    // The kernel does tfjs's float32 operations in tfjs's order with the same float32 constants, and wasm's
    // add, multiply, divide and sqrt round correctly, as C's do without contraction: equal bits.
    fused.forEach((a, i) => assert.deepEqual(a, unfused[i], `tensor ${i}`));
  },
});

Deno.test({
  name: "native: AdamW's fused kernel refuses a gradient or moment whose shape differs from the parameter's",
  ignore: !available,
  fn: async () => {
    await selectBackend("wasm", { native: "on" });
    const params = new Map<string, tf.Variable>([["w", tf.variable(tf.zeros([2, 2]))]]);
    const opt = new AdamW(params, { weightDecay: 0 });
    try {
      for (const shape of [[3, 3], [1, 2], [4]]) {
        const g = tf.ones(shape);
        // The unfused ops throw on these through broadcasting (or silently broadcast [1, 2]); the kernel
        // would read past the gradient's end or ignore its shape.
        await assert.rejects(() => opt.apply(new Map([["w", g]]), 0.1), /shape \[.*\] differs/, `[${shape}]`);
        g.dispose();
      }
      assert.deepEqual(Array.from(params.get("w")!.dataSync()), [0, 0, 0, 0], "nothing updated");
    } finally {
      opt.dispose();
      tf.dispose([...params.values()]);
      await selectBackend("wasm", { native: "off" });
    }
  },
});

Deno.test("native: the sharing Identity keeps clones valid after their source is disposed, and leaks nothing", async () => {
  await selectBackend("wasm", { native: "auto" });
  const backendIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  const step = () =>
    tf.tidy(() => {
      const a = tf.randomNormal([5, 8]) as tf.Tensor2D;
      const g = tf.ones([8]) as tf.Tensor1D, b = tf.zeros([8]) as tf.Tensor1D;
      tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(softmax(gelu(ln(p, q, b)))))([a, g]);
    });
  step(); // the unfused path (no library) caches a row of ones on first use, kept on purpose
  const before = tf.memory().numTensors;
  const idsBefore = backendIds();
  const x = tf.tensor1d([1, 2, 3]);
  const y = tf.clone(x);
  x.dispose();
  assert.deepEqual([...y.dataSync()], [1, 2, 3]);
  // Gradients save clones of what they need: a forward+backward through the fused ops, many times.
  for (let i = 0; i < 20; i++) step();
  y.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.equal(backendIds(), idsBefore);
  await selectBackend("wasm", { native: "off" });
});

const CFG: MaeConfig = {
  imageSize: 12,
  patchSize: 2,
  dim: 24,
  depth: 2,
  heads: 3,
  mlpRatio: 3,
  decoderDim: 20,
  decoderDepth: 1,
  decoderHeads: 2,
  normPixLoss: true,
};

Deno.test({
  name: "native: a whole MAE loss and its gradients equal the unfused path on a fixed seed",
  ignore: !available,
  fn: async () => {
    const B = 3;
    const run = async (fused: boolean) => {
      await selectBackend("wasm", { native: fused ? "on" : "off" });
      const params = initMae(CFG, new Rng(7));
      const rng = new Rng(8);
      const images = Float32Array.from({ length: B * CFG.imageSize ** 2 * 3 }, () => rng.normal());
      const mask = new RandomMasking(0.75).generate({
        batchSize: B,
        grid: { rows: 6, cols: 6 },
        progress: 0,
        epoch: 0,
        step: 0,
        rng: new Rng(9),
      }) as MaskBatch;
      const mb = prepareMaeBatch(CFG, images, mask);
      const { value, grads } = tf.variableGrads(() => maeLoss(params, CFG, mb));
      const out = {
        loss: value.dataSync()[0],
        grads: new Map(
          Object.entries(grads).map(([k, g]) => [k.replace(/_\d+$/, ""), g.dataSync() as Float32Array]),
        ),
      };
      tf.dispose([value, ...Object.values(grads), ...params.values()]);
      mb.dispose();
      return out;
    };
    const fused = await run(true);
    const unfused = await run(false);
    await selectBackend("wasm", { native: "off" });
    // One loss through 3 blocks: per-op differences of ≤ 1e-6 relative (see assertFusedEqualsUnfused)
    // accumulate to ~1e-6 in the loss and ~1e-5 in the gradients (measured 4e-7 and ≤ 3e-6).
    assert.ok(
      Math.abs(fused.loss - unfused.loss) <= 1e-5 * Math.abs(unfused.loss),
      `${fused.loss} vs ${unfused.loss}`,
    );
    assert.equal(fused.grads.size, unfused.grads.size);
    // Per tensor, ‖fused − unfused‖ relative to max(‖unfused‖, 1e-3 × the whole gradient's norm): the keys' bias
    // has a gradient that is zero up to rounding (adding q·b_k to every logit of a row leaves softmax unchanged),
    // so its own norm is no scale for its error.
    let total = 0;
    for (const g of unfused.grads.values()) for (const v of g) total += v * v;
    const floor = 1e-3 * Math.sqrt(total);
    let worst = 0;
    for (const [name, g] of unfused.grads) {
      const f = fused.grads.get(name);
      assert.ok(f, `gradient of ${name}`);
      let num = 0, den = 0;
      for (let i = 0; i < g.length; i++) (num += (f[i] - g[i]) ** 2), (den += g[i] ** 2);
      worst = Math.max(worst, Math.sqrt(num) / Math.max(Math.sqrt(den), floor));
    }
    assert.ok(worst <= 1e-4, `worst gradient rel. L2 error ${worst}`);
  },
});

Deno.test("native: without a compiler or the library, the ops fall back to tfjs's own with the reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.throws(() => buildNativeLibrary({ cc: "/nonexistent/cc", dir, force: true }), /no C compiler/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const off = await selectBackend("wasm", { native: "off" });
  assert.equal(off.native, false);
  assert.equal(nativeKernelsActive(), false);
  await assert.rejects(() => selectBackend("wasm", { native: "maybe" as "on" }), /GPA_NATIVE must be/);
  // A fresh process: a library opened here stays usable, so only a new one sees a missing library.
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const doctor = (env: Record<string, string>) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "doctor", "--json"],
      env: childEnv(env),
      clearEnv: true,
    }).output();
  const missing = await doctor({ GPA_NATIVE_LIB: "/nonexistent/gpa_kernels.so", GPA_NATIVE: "auto" });
  assert.ok(missing.success, new TextDecoder().decode(missing.stderr));
  const report = JSON.parse(new TextDecoder().decode(missing.stdout));
  assert.ok(
    report.backend.reasons.some((r: string) => /fused kernels: tfjs's own ops .*nonexistent/.test(r)),
    report.backend.reasons.join("; "),
  );
  const required = await doctor({ GPA_NATIVE_LIB: "/nonexistent/gpa_kernels.so", GPA_NATIVE: "on" });
  assert.equal(required.success, false);
  assert.match(
    new TextDecoder().decode(required.stderr),
    /GPA_NATIVE=on but the fused kernels are unavailable/,
  );
  // Installed again where it can be (other tests of this process run on either).
  if (available) assert.equal(installNativeKernels().ok, true);
  uninstallNativeKernels();
});

// BackendError is what `GPA_NATIVE=on` raises in-process (the doctor test above sees its message).
Deno.test({
  name: "native: GPA_NATIVE=on with a library that cannot be opened raises BackendError",
  ignore: available, // once opened, a process keeps its library: only testable where none builds
  fn: async () => {
    await assert.rejects(() => selectBackend("wasm", { native: "on" }), BackendError);
  },
});

Deno.test({
  name: "native: runs name the fused kernels in their engine label (reports tell engines apart)",
  ignore: !available,
  fn: async () => {
    const { engineLabel } = await import("../lib/backend.ts");
    await withFused(true, () => assert.match(engineLabel(), /^wasm \(matMul: .+; fused kernels\)$/));
    await selectBackend("wasm", { native: "off" });
    assert.doesNotMatch(engineLabel(), /fused/);
  },
});
