/**
 * Deferred step metrics (`PendingMetrics`, what a webgpu step returns) in the training loop, on any backend:
 * the loop reads a step's metrics only after the next step has run, reports the same epoch records as with
 * numbers, frees the tensors, and a non-finite loss still stops it with a NumericError naming its own step
 * before any checkpoint follows that step. And a deferred pre-training step gives the loss and weights of an
 * immediate one.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { RunCache } from "../lib/cache/mod.ts";
import { initMae } from "../lib/mae.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import { Rng } from "../lib/rng.ts";
import { PendingMetrics, type StepMetrics, trainLoop } from "../lib/train/loop.ts";
import { AdamW } from "../lib/train/optim.ts";
import { makePretrainStep } from "../lib/train/pretrain_step.ts";
import { gridOf, type Params } from "../lib/vit.ts";
import { CHECK_MODEL } from "../bench/backend_check.ts";

await selectBackend("cpu");

const HASH = "0123456789abcdef";
const LOSSES = [4, 3, 2, 1, 0.5, 0.25, 0.125, 0.0625];

/** Runs 2 epochs of 4 steps whose losses are `losses`; returns the loop's result and the order of events. */
async function run(deferred: boolean, losses: number[], dir: string) {
  const events: string[] = [];
  const params: Params = new Map([["w", tf.tidy(() => tf.variable(tf.zeros([2]), true, "pm_w"))]]);
  const optimizer = { step: 0, stateTensors: () => new Map<string, tf.Tensor>(), loadState: () => {} };
  try {
    const result = await trainLoop({
      run: new RunCache(dir).runDir(HASH),
      params,
      optimizer,
      epochs: 2,
      datasetSize: 4,
      batchSize: 1,
      seed: 0,
      log: () => {},
      progress: false,
      // deno-lint-ignore require-await
      step: async (ctx): Promise<StepMetrics> => {
        events.push(`step ${ctx.globalStep}`);
        const loss = losses[ctx.globalStep];
        if (!deferred) return { lr: 0.1, loss, extra: 2 * loss };
        const pending = new PendingMetrics({ lr: 0.1, loss: tf.scalar(loss), extra: tf.scalar(2 * loss) });
        // Record when the loop reads it.
        const read = pending.read.bind(pending);
        pending.read = () => (events.push(`read ${ctx.globalStep}`), read());
        return pending;
      },
    });
    return { result, events };
  } finally {
    params.get("w")!.dispose();
  }
}

async function inTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "pending_metrics_test_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deferred metrics: same epoch records as numbers; each step's read follows it; no tensor kept", async () => {
  const before = tf.memory().numTensors;
  const now = await inTempDir((d) => run(false, LOSSES, d));
  const later = await inTempDir((d) => run(true, LOSSES, d));
  const strip = (h: Record<string, number>[]) => h.map(({ seconds: _s, imgPerSec: _i, ...r }) => r);
  assert.deepEqual(strip(later.result.history), strip(now.result.history));
  assert.deepEqual(Object.keys(later.result.history[0]), Object.keys(now.result.history[0]), "metric order");
  // The read of a step is started right after it returns, before the next step runs.
  assert.deepEqual(later.events.slice(0, 4), ["step 0", "read 0", "step 1", "read 1"]);
  assert.equal(tf.memory().numTensors, before, "PendingMetrics free their tensors");
});

Deno.test("deferred metrics: a NaN loss stops the loop naming its own step, before the next checkpoint", async () => {
  for (const bad of [3, 5]) {
    const losses = LOSSES.map((l, i) => (i === bad ? NaN : l));
    await inTempDir(async (dir) => {
      await assert.rejects(run(true, losses, dir), (e: Error) => {
        assert.equal(e.name, "NumericError");
        assert.match(e.message, new RegExp(`global step ${bad}\\b`));
        return true;
      });
      const ckpt = await new RunCache(dir).runDir(HASH).latestCheckpoint();
      // Step 3 ends epoch 1: its loss is read before the epoch's checkpoint, which is therefore not written.
      if (bad === 3) assert.equal(ckpt, null, "no checkpoint after a NaN");
      else assert.equal((ckpt?.state as { epoch: number }).epoch, 1, "the checkpoint before the NaN is kept");
    });
  }
});

Deno.test("a deferred pre-training step gives the loss and weights of an immediate one (cpu)", async () => {
  const cfg = CHECK_MODEL;
  const batch = 2;
  const images = new Float32Array(batch * cfg.imageSize * cfg.imageSize * 3).map((_, i) => Math.sin(i));
  const outcomes: { losses: number[]; weights: Float32Array[] }[] = [];
  for (const deferReads of [false, true]) {
    const params = initMae(cfg, new Rng(3).fork("init"));
    const optimizer = new AdamW(params, { weightDecay: 0.05 });
    const step = makePretrainStep({
      cfg,
      params,
      optimizer,
      strategy: createMaskStrategy("random", { maskRatio: 0.75 }),
      lr: () => 1e-3,
      deferReads,
    });
    const losses: number[] = [];
    for (let i = 0; i < 2; i++) {
      const m = await step({
        images,
        batch,
        progress: 0,
        epoch: 0,
        step: i,
        rng: new Rng(5).fork(`s${i}`),
        grid: gridOf(cfg),
      });
      assert.equal(m instanceof PendingMetrics, deferReads);
      losses.push((m instanceof PendingMetrics ? await m.read() : m).loss);
    }
    outcomes.push({
      losses,
      weights: await Promise.all([...params.values()].map(async (v) => (await v.data()) as Float32Array)),
    });
    optimizer.dispose();
    for (const v of params.values()) v.dispose();
  }
  assert.deepEqual(outcomes[1].losses, outcomes[0].losses);
  assert.deepEqual(outcomes[1].weights, outcomes[0].weights);
});
