/**
 * Native-BLAS matMul on wasm (lib/blas.ts): equal to the pure-JS cpu backend's matMul for every transpose,
 * broadcast and rank, empty shapes included; gradients of a model-sized product equal XNNPACK's; no tensor or
 * heap growth; selection falls back (or fails, when required) with the reason. Skipped where no OpenBLAS is
 * installed (CI installs Debian's libopenblas0-pthread).
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { BackendError, selectBackend } from "../lib/backend.ts";
import { blasCoreRequest, blasMatMulActive, DEFAULT_BLAS_CORE, openBlas } from "../lib/blas.ts";
import { Rng } from "../lib/rng.ts";
import { childEnv } from "./cli_run.ts";

const available = openBlas(1).ok;

function randn(rng: Rng, shape: number[]): { shape: number[]; data: Float32Array } {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, () => rng.normal()) };
}

/** matMul on the active backend, as plain numbers. */
function product(
  a: { shape: number[]; data: Float32Array },
  b: { shape: number[]; data: Float32Array },
  ta: boolean,
  tb: boolean,
): { shape: number[]; data: Float32Array } {
  return tf.tidy(() => {
    const r = tf.matMul(tf.tensor(a.data, a.shape), tf.tensor(b.data, b.shape), ta, tb);
    return { shape: r.shape, data: r.dataSync() as Float32Array };
  });
}

// [aShape, bShape, transposeA, transposeB]
const CASES: [number[], number[], boolean, boolean][] = [
  [[5, 7], [7, 4], false, false],
  [[7, 5], [7, 4], true, false],
  [[5, 7], [4, 7], false, true],
  [[7, 5], [4, 7], true, true],
  [[3, 5, 7], [3, 7, 4], false, false],
  [[3, 7, 5], [3, 4, 7], true, true],
  [[3, 5, 7], [7, 4], false, false], // batch-1 operand broadcast
  [[1, 5, 7], [3, 7, 4], false, false],
  [[2, 3, 5, 7], [2, 3, 4, 7], false, true], // rank 4
  [[1, 1], [1, 1], false, false],
  [[64, 192], [192, 96], false, false],
  [[0, 7], [7, 4], false, false], // empty output
  [[5, 0], [0, 4], false, false], // empty sum: zeros
];

Deno.test({
  name:
    "blas: wasm matMul on OpenBLAS equals the cpu backend for transposes, broadcasts, ranks, empty shapes",
  ignore: !available,
  fn: async () => {
    const rng = new Rng(11);
    const inputs = CASES.map(([sa, sb]) => [randn(rng, sa), randn(rng, sb)] as const);
    await selectBackend("cpu");
    const expected = CASES.map(([, , ta, tb], i) => product(inputs[i][0], inputs[i][1], ta, tb));
    const choice = await selectBackend("wasm", { blas: "on" });
    assert.ok(blasMatMulActive() && choice.matmul?.startsWith("OpenBLAS"), `matmul: ${choice.matmul}`);
    // Dirty the heap so that an output left unwritten would show.
    tf.tidy(() => tf.fill([4096], 7).dataSync());
    CASES.forEach(([sa, sb, ta, tb], i) => {
      const got = product(inputs[i][0], inputs[i][1], ta, tb);
      const want = expected[i];
      const label = `[${sa}]${ta ? "ᵀ" : ""} × [${sb}]${tb ? "ᵀ" : ""}`;
      assert.deepEqual(got.shape, want.shape, label);
      let err = 0, ref = 0;
      for (let j = 0; j < want.data.length; j++) {
        err = Math.max(err, Math.abs(got.data[j] - want.data[j]));
        ref = Math.max(ref, Math.abs(want.data[j]));
      }
      assert.ok(err <= 1e-5 * Math.max(ref, 1), `${label}: max error ${err}`);
      if (label.startsWith("[5,0]")) assert.ok(got.data.length > 0 && got.data.every((v) => v === 0), label);
    });
    assert.throws(() => tf.matMul(tf.ones([2, 3]), tf.ones([4, 2])), /inner shapes/);
  },
});

Deno.test({
  name: "blas: a product whose output grows the wasm heap is written into the new heap",
  ignore: !available,
  fn: async () => {
    await selectBackend("wasm", { blas: "on" });
    // deno-lint-ignore no-explicit-any
    const heapBytes = () => ((tf.backend() as any).wasm.HEAPU8 as Uint8Array).buffer.byteLength;
    const n = 8192;
    const before = heapBytes();
    const a = tf.tensor2d(Float32Array.from({ length: n }, (_, i) => i % 7), [n, 1]);
    const b = tf.tensor2d(Float32Array.from({ length: n }, (_, j) => (j % 5) - 2), [1, n]);
    const c = tf.matMul(a, b); // [n, n]: 256 MiB of output
    const grew = heapBytes() > before;
    const data = c.dataSync();
    // Spot checks across the whole output, and an exact total: Σ_i (i mod 7) · Σ_j ((j mod 5) − 2).
    for (const [i, j] of [[0, 0], [6, 4], [n - 1, n - 1], [4097, 123], [n - 3, 2]]) {
      assert.equal(data[i * n + j], (i % 7) * ((j % 5) - 2) + 0, `c[${i}, ${j}]`); // + 0: no −0
    }
    let sumA = 0, sumB = 0, total = 0;
    for (let i = 0; i < n; i++) (sumA += i % 7), (sumB += (i % 5) - 2);
    for (let i = 0; i < data.length; i++) total += data[i];
    assert.equal(total, sumA * sumB);
    tf.dispose([a, b, c]);
    assert.ok(grew, `the heap did not grow (${before} bytes before): the test would not cover growth`);
  },
});

Deno.test({
  name: "blas: gradients through a linear map and attention-shaped products equal XNNPACK's",
  ignore: !available,
  fn: async () => {
    const rng = new Rng(12);
    const x = randn(rng, [96, 64]), w = randn(rng, [64, 48]), q = randn(rng, [6, 17, 8]);
    const r = randn(rng, [6, 17, 17]);
    const run = () =>
      tf.tidy(() => {
        const xt = tf.tensor(x.data, x.shape),
          wt = tf.tensor(w.data, w.shape),
          qt = tf.tensor(q.data, q.shape);
        const rt = tf.tensor(r.data, r.shape);
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
          tf.add(
            tf.sum(tf.square(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D))),
            // Weighted by a fixed random tensor: Σ softmax alone is constant and has no gradient.
            tf.sum(tf.mul(tf.softmax(tf.matMul(c as tf.Tensor3D, c as tf.Tensor3D, false, true)), rt)),
          ) as tf.Scalar;
        return tf.grads(f)([xt, wt, qt]).map((g) => g.dataSync() as Float32Array);
      });
    await selectBackend("wasm", { blas: "off" });
    assert.equal(blasMatMulActive(), false);
    const reference = run();
    await selectBackend("wasm", { blas: "on" });
    const got = run();
    reference.forEach((r, i) => {
      const scale = Math.max(...r.map(Math.abs));
      const err = Math.max(...r.map((v, j) => Math.abs(v - got[i][j])));
      assert.ok(scale > 0 && err <= 1e-4 * scale, `input ${i}: error ${err} of ${scale}`);
    });
  },
});

Deno.test({
  name: "blas: repeated products leak no tensors and no wasm heap",
  ignore: !available,
  fn: async () => {
    await selectBackend("wasm", { blas: "on" });
    const a = tf.randomNormal([3, 40, 30]), b = tf.randomNormal([30, 20]);
    const step = () => tf.tidy(() => tf.sum(tf.matMul(a, b)).dataSync());
    for (let i = 0; i < 5; i++) step();
    const before = tf.memory();
    for (let i = 0; i < 200; i++) step();
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors);
    assert.equal(after.numBytes, before.numBytes);
    tf.dispose([a, b]);
  },
});

Deno.test("blas: selection falls back to XNNPACK with the reason, or fails when OpenBLAS is required", async () => {
  // The library is passed as an option, not through the process environment: test files share the process
  // under --parallel, and a changed GPA_BLAS_LIB would reach other tests' runs and subprocesses.
  const blasLib = "/nonexistent/libopenblas.so.0";
  {
    // A library already opened in this process stays usable; only a fresh process sees the override.
    if (!available) {
      const choice = await selectBackend("wasm", { blas: "auto", blasLib });
      assert.equal(choice.matmul, "XNNPACK");
      assert.ok(
        choice.reasons.some((r) => /OpenBLAS unavailable: .*nonexistent/.test(r)),
        choice.reasons.join(),
      );
      await assert.rejects(() => selectBackend("wasm", { blas: "on", blasLib }), BackendError);
    }
    const off = await selectBackend("wasm", { blas: "off" });
    assert.equal(off.matmul, "XNNPACK");
    assert.equal(blasMatMulActive(), false);
    await assert.rejects(() => selectBackend("wasm", { blas: "maybe" as "on" }), /GPA_BLAS must be/);
    await assert.rejects(() => selectBackend("wasm", { blasThreads: 0 }), /GPA_BLAS_THREADS/);
  }
});

Deno.test("blas: a fresh process with a missing library explains the fallback (doctor)", async () => {
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const run = (env: Record<string, string>) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "doctor", "--json"],
      env: childEnv(env),
      clearEnv: true,
    }).output();
  // GPA_BLAS=auto explicitly: the suite may itself run under GPA_BLAS=off (a machine without OpenBLAS).
  const missing = await run({
    GPA_BLAS_LIB: "/nonexistent/libopenblas.so.0",
    GPA_BLAS: "auto",
    GPA_NATIVE: "off",
  });
  assert.ok(missing.success, new TextDecoder().decode(missing.stderr));
  const report = JSON.parse(new TextDecoder().decode(missing.stdout));
  assert.equal(report.backend.active, "wasm (matMul: XNNPACK)");
  assert.ok(report.backend.reasons.some((r: string) => r.includes("/nonexistent/libopenblas.so.0")));
  const required = await run({ GPA_BLAS_LIB: "/nonexistent/libopenblas.so.0", GPA_BLAS: "on" });
  assert.equal(required.success, false);
  assert.match(new TextDecoder().decode(required.stderr), /GPA_BLAS=on but OpenBLAS is unavailable/);
});

Deno.test({
  name:
    "blas: two OpenBLAS threads give the same products within float rounding; the engine label names them",
  ignore: !available,
  fn: async () => {
    // In a child process: test files share one process under --parallel, and OpenBLAS's thread count is global.
    const lib = (f: string) => new URL(`../lib/${f}`, import.meta.url).href;
    const script = `
      import * as tf from "@tensorflow/tfjs";
      import { engineLabel, selectBackend } from "${lib("backend.ts")}";
      import { openBlas } from "${lib("blas.ts")}";
      const one = await selectBackend("wasm", { blas: "on", blasThreads: 1 });
      // Large enough that OpenBLAS splits the work between threads (small products stay on one).
      const a = tf.randomNormal([2176, 192], 0, 1, "float32", 1);
      const b = tf.randomNormal([192, 576], 0, 1, "float32", 2);
      const label1 = engineLabel();
      const want = tf.matMul(a, b).dataSync().slice();
      const two = await selectBackend("wasm", { blas: "on", blasThreads: 2 });
      const label2 = engineLabel();
      const got = tf.matMul(a, b).dataSync();
      let err = 0;
      for (let j = 0; j < want.length; j++) err = Math.max(err, Math.abs(got[j] - want[j]));
      const opened = openBlas(2);
      console.log(JSON.stringify({ threads: [one.blasThreads, two.blasThreads], label1, label2, err,
        actual: opened.ok ? opened.info.threads : null }));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--quiet", script],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert.deepEqual(r.threads, [1, 2]);
    assert.doesNotMatch(r.label1, /threads/);
    assert.match(r.label2, /^wasm \(matMul: OpenBLAS [^,]+, 2 threads(; fused kernels)?\)$/);
    assert.ok(r.err <= 1e-4, `max difference ${r.err}`);
    assert.equal(r.actual, 2);
  },
});

Deno.test("blasCoreRequest: OPENBLAS_CORETYPE wins, then GPA_BLAS_CORE (auto: the library's choice), then Prescott", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(DEFAULT_BLAS_CORE, "Prescott");
  assert.equal(blasCoreRequest(env({}), "x86_64"), "Prescott");
  assert.equal(blasCoreRequest(env({}), "aarch64"), null, "x86's kernel names mean nothing elsewhere");
  assert.equal(blasCoreRequest(env({ GPA_BLAS_CORE: "Haswell" }), "x86_64"), "Haswell");
  assert.equal(blasCoreRequest(env({ GPA_BLAS_CORE: "auto" }), "x86_64"), null);
  assert.equal(blasCoreRequest(env({ OPENBLAS_CORETYPE: "Zen", GPA_BLAS_CORE: "Haswell" }), "x86_64"), null);
  assert.throws(() => blasCoreRequest(env({ GPA_BLAS_CORE: "Has well;rm" }), "x86_64"), /GPA_BLAS_CORE/);
});

const avx2 = await Deno.readTextFile("/proc/cpuinfo").then(
  (t) => /\bavx2\b/.test(t) && /\bfma\b/.test(t),
  () => false,
);

Deno.test({
  name: "blas: the kernel set is pinned before OpenBLAS loads and named in the engine label",
  ignore: !available || Deno.build.arch !== "x86_64",
  fn: async () => {
    const lib = (f: string) => new URL(`../lib/${f}`, import.meta.url).href;
    const script = `
      import { engineLabel, selectBackend } from "${lib("backend.ts")}";
      import { blasCoreCommandPrefix } from "${lib("blas.ts")}";
      await selectBackend("wasm", { blas: "on" });
      console.log(JSON.stringify({ label: engineLabel(), env: Deno.env.get("OPENBLAS_CORETYPE") ?? null,
        prefix: blasCoreCommandPrefix() }));`;
    const run = async (vars: Record<string, string>) => {
      const env = { ...childEnv(), ...vars };
      delete (env as Record<string, string>).OPENBLAS_CORETYPE;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--quiet", script],
        cwd: new URL("..", import.meta.url).pathname,
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    };
    const plain = await run({});
    assert.equal(plain.env, "Prescott");
    assert.match(plain.label, /^wasm \(matMul: OpenBLAS \S+ Prescott(; fused kernels)?\)$/);
    assert.equal(plain.prefix, "", "the default set needs nothing in a report's command");
    if (avx2) {
      const fast = await run({ GPA_BLAS_CORE: "Haswell" });
      assert.match(fast.label, /OpenBLAS \S+ Haswell/);
      assert.equal(fast.prefix, "GPA_BLAS_CORE=Haswell ", "a report's command names another set");
    }
  },
});
