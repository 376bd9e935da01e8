import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { gemmFlops, gemmOf, stepKernelProfile, timeGemms } from "../bench/gemm.ts";
import { probePeer, runPeerGemm } from "../bench/peer.ts";
import { selectBackend } from "../lib/backend.ts";

Deno.test("gemmOf: [m, k, n] and batch from input and output shapes, transposed or not; mismatches give nothing", () => {
  assert.deepEqual(gemmOf([5, 3], [3, 7], [5, 7]), { m: 5, k: 3, n: 7, batch: 1 });
  assert.deepEqual(gemmOf([1, 5, 3], [1, 3, 7], [1, 5, 7]), { m: 5, k: 3, n: 7, batch: 1 });
  assert.deepEqual(gemmOf([2, 5, 3], [2, 3, 7], [2, 5, 7]), { m: 5, k: 3, n: 7, batch: 2 });
  assert.deepEqual(gemmOf([3, 5], [7, 3], [5, 7]), { m: 5, k: 3, n: 7, batch: 1 }); // aᵀ-free, bᵀ
  assert.deepEqual(gemmOf([3, 5], [3, 7], [5, 7]), { m: 5, k: 3, n: 7, batch: 1 }); // aᵀ
  assert.deepEqual(gemmOf([2, 5, 3], [3, 7], [2, 5, 7]), { m: 5, k: 3, n: 7, batch: 2 }); // broadcast b
  assert.equal(gemmOf([5, 3], [4, 7], [5, 7]), undefined);
  assert.equal(gemmOf([2, 5, 3], [3, 3, 7], [3, 5, 7]), undefined);
  assert.equal(
    gemmFlops([{ m: 2, k: 3, n: 4, batch: 1, count: 5 }, { m: 1, k: 1, n: 1, batch: 3, count: 1 }]),
    2 * 24 * 5 + 2 * 3,
  );
});

Deno.test("stepKernelProfile finds a step's GEMM shapes with their counts and its matmul share", async () => {
  await selectBackend("wasm");
  const a = tf.randomNormal([64, 32]);
  const w1 = tf.randomNormal([32, 48]);
  const w2 = tf.randomNormal([48, 16]);
  const step = async () => {
    tf.tidy(() => {
      const h = tf.relu(tf.matMul(a, w1)); // 64×32×48
      const h2 = tf.relu(tf.matMul(h, w2)); // 64×48×16
      tf.matMul(h2, tf.transpose(w2)); // 64×16×48 (after an explicit transpose)
      tf.matMul(a, w1); // the first shape again
      tf.matMul(h2, w2, false, true); // 64×16×48 again, transposed by flag
      tf.matMul(tf.reshape(h, [4, 16, 48]), tf.reshape(h, [4, 16, 48]), false, true); // 4 × 16×48×16
    });
    await Promise.resolve();
  };
  const p = await stepKernelProfile(step);
  const shapes = p.gemms.map((g) => `${g.batch}:${g.m}x${g.k}x${g.n}:${g.count}`).sort();
  assert.deepEqual(shapes, ["1:64x16x48:2", "1:64x32x48:2", "1:64x48x16:1", "4:16x48x16:1"]);
  assert.ok(p.matmulShare > 0 && p.matmulShare <= 1, `share ${p.matmulShare}`);
  assert.ok(p.byKernel.some((k) => k.name === "Relu" && k.calls === 2));
  const t = await timeGemms(p.gemms, 3);
  assert.equal(t.rows.length, 4);
  assert.ok(t.rows.every((r) => r.ms >= 0));
  assert.ok(Math.abs(t.totalMs - t.rows.reduce((s, r) => s + r.ms * r.count, 0)) < 1e-9);
  tf.dispose([a, w1, w2]);
});

const probe = await probePeer();
Deno.test({
  name: "runPeerGemm times each shape in PyTorch and keeps their order",
  ignore: !probe.ok,
  fn: async () => {
    const r = await runPeerGemm([{ m: 64, k: 32, n: 48 }, { m: 8, k: 8, n: 8, batch: 3 }], { threads: 1 });
    assert.equal(r.rows.length, 2);
    assert.deepEqual(r.rows.map((x) => [x.m, x.k, x.n, x.batch]), [[64, 32, 48, 1], [8, 8, 8, 3]]);
    assert.ok(r.rows.every((x) => x.ms > 0 && x.gflopPerSec > 0));
  },
});
