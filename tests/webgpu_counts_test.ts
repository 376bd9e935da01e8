/**
 * What a training step asks of the GPU, counted (bench/webgpu_counts.ts). On webgpu (Mesa's lavapipe will
 * do; `GPA_TEST_WEBGPU=1`, otherwise shown as ignored): an MAE pre-training step and a step with cached GPA
 * maps map no buffer and read no tensor, compile no shader once warm, and their metrics cost exactly one
 * readback, issued after the step's work; a step with a per-step teacher reads the teacher's maps once (its
 * masks are drawn on the CPU from them); no depthwise convolution (wasm's attention) runs. Without a GPU: the counter itself (tensor reads and where they came
 * from; uninstalling restores the backend).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { probeWebGpu, selectBackend } from "../lib/backend.ts";
import { randomResizedCropFlip } from "../lib/data/augment.ts";
import { generateSyntheticSplit } from "../lib/data/synthetic.ts";
import { GpaMapCache, gpaStrategy, Teacher } from "../lib/gpa.ts";
import { initMae } from "../lib/mae.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import type { MaskStrategy } from "../lib/masking/types.ts";
import { Rng } from "../lib/rng.ts";
import { PendingMetrics, type StepMetrics } from "../lib/train/loop.ts";
import { AdamW } from "../lib/train/optim.ts";
import { makePretrainStep } from "../lib/train/pretrain_step.ts";
import { gridOf } from "../lib/vit.ts";
import { CHECK_MODEL } from "../bench/backend_check.ts";
import { countWebGpu, installWebGpuCounters, type WebGpuCounts } from "../bench/webgpu_counts.ts";

const asked = Deno.env.get("GPA_TEST_WEBGPU") === "1";

Deno.test("webgpu counters: tensor reads and their call sites; uninstall restores the backend", async () => {
  await selectBackend("cpu");
  const backend = tf.backend() as unknown as Record<string, unknown>;
  const read = backend.read;
  const counter = installWebGpuCounters();
  try {
    assert.throws(() => installWebGpuCounters(), /already installed/);
    const t = tf.add(tf.ones([3]), 1);
    await t.data(); // the line counted below
    t.dispose();
    const c = counter.snapshot();
    assert.equal(c.tensorReads, 1);
    assert.deepEqual(Object.keys(c.readSites), [`tests/webgpu_counts_test.ts:${lineOf("await t.data();")}`]);
    counter.reset();
    assert.equal(counter.snapshot().tensorReads, 0);
  } finally {
    counter.uninstall();
  }
  assert.equal(backend.read, read, "the backend's read is its own again");
  assert.equal(Object.hasOwn(backend, "read"), false);
  installWebGpuCounters().uninstall(); // installable again
});

/** 1-based line of the first line of this file that contains `text`. */
function lineOf(text: string): number {
  const src = Deno.readTextFileSync(new URL(import.meta.url));
  return src.split("\n").findIndex((l) => l.includes(text)) + 1;
}

/** Builds a pre-training step on the active backend; `counted` runs one step under the counters. */
async function stepper(kind: "mae" | "gpa" | "gpa-cached") {
  const cfg = CHECK_MODEL;
  const batch = 4;
  const rng = new Rng(11);
  const params = initMae(cfg, rng.fork("init"));
  const split = generateSyntheticSplit({
    perClass: 1,
    size: cfg.imageSize,
    numClasses: batch,
    seed: 2,
    split: "train",
  });
  let strategy: MaskStrategy = createMaskStrategy("random", { maskRatio: 0.75 });
  let teacher: Teacher | undefined;
  if (kind !== "mae") {
    const tp = initMae(cfg, rng.fork("teacher"));
    for (const [n, v] of tp) if (n.startsWith("decoder") || n === "mask_token") (v.dispose(), tp.delete(n));
    teacher = new Teacher(tp, cfg, { block: 1, head: -1 }, "paper");
    strategy = kind === "gpa"
      ? gpaStrategy(teacher, {})
      : gpaStrategy(teacher, { maps: "cached", cache: await GpaMapCache.build(teacher, split) });
  }
  const optimizer = new AdamW(params, { weightDecay: 0.05 });
  const step = makePretrainStep({ cfg, params, optimizer, strategy, lr: () => 1e-3 });
  const ids = Int32Array.from({ length: batch }, (_, i) => i);
  const run = (i: number): Promise<StepMetrics> => {
    const views = randomResizedCropFlip(split, ids, cfg.imageSize, rng.fork(`a${i}`), { scale: [0.2, 1] });
    return step({
      images: views.images,
      batch,
      progress: 0.5,
      epoch: 0,
      step: i,
      rng: rng.fork(`s${i}`),
      grid: gridOf(cfg),
      sampleIds: ids,
      crops: views.crops,
    });
  };
  return {
    /**
     * Two warm-up steps (pipelines compiled, buffer pool filled), then one step counted, then the read of its
     * metrics counted (none when the step returned numbers).
     */
    async counted(): Promise<{ step: WebGpuCounts; read?: WebGpuCounts; loss: number }> {
      const lossOf = async (m: StepMetrics) => (m instanceof PendingMetrics ? await m.read() : m).loss;
      for (let i = 0; i < 2; i++) await lossOf(await run(i));
      let m: StepMetrics | undefined;
      const step = await countWebGpu(async () => void (m = await run(2)));
      const metrics = m as StepMetrics;
      if (!(metrics instanceof PendingMetrics)) return { step, loss: metrics.loss };
      let loss = NaN;
      const read = await countWebGpu(async () => void (loss = await lossOf(metrics)));
      return { step, read, loss };
    },
    dispose() {
      optimizer.dispose();
      for (const v of params.values()) v.dispose();
      teacher?.dispose();
    },
  };
}

Deno.test({
  name: "webgpu: a training step maps no buffer; its metrics are one readback after its work",
  ignore: !asked,
  fn: async () => {
    assert.ok(await probeWebGpu(), "GPA_TEST_WEBGPU=1 but Deno exposes no WebGPU adapter");
    await selectBackend("webgpu");
    try {
      for (const kind of ["mae", "gpa-cached", "gpa"] as const) {
        const s = await stepper(kind);
        try {
          const { step, read, loss } = await s.counted();
          const where = `${kind}: ${JSON.stringify(step.readSites)}`;
          // The per-step teacher's maps are read to draw the masks on the CPU: one map, before the student's
          // forward is queued. Nothing else in a step may wait for the GPU.
          const teacherReads = kind === "gpa" ? 1 : 0;
          assert.equal(step.mapAsync, teacherReads, `buffer maps inside the step (${where})`);
          assert.equal(step.tensorReads, teacherReads, `tensor reads inside the step (${where})`);
          assert.equal(step.tensorSyncReads, 0, `synchronous reads inside the step (${where})`);
          assert.equal(step.computePipelines, 0, `${kind}: shader compilations in a warm step`);
          assert.ok(step.dispatches > 100, `${kind}: ${step.dispatches} dispatches`);
          // wasm's tricks stay on wasm: attention as batched matMuls, no depthwise convolutions.
          const programs = Object.keys(step.programs);
          assert.ok(programs.some((n) => /MatMul/.test(n)), `${kind}: programs ${programs}`);
          assert.ok(!programs.some((n) => /Depthwise/.test(n)), `${kind}: programs ${programs}`);
          assert.ok(read, `${kind}: on webgpu a step leaves its metrics on the device`);
          assert.equal(read.mapAsync, 1, `${kind}: the metrics' readback`);
          // One metric (the loss) needs no packing kernel; several take one.
          assert.ok(read.dispatches <= 1, `${kind}: ${read.dispatches} kernels to pack the metrics`);
          assert.ok(Number.isFinite(loss), `${kind}: loss ${loss}`);
        } finally {
          s.dispose();
        }
      }
    } finally {
      await selectBackend("cpu");
    }
  },
});
