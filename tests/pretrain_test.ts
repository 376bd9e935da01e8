import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { initMae, type MaeConfig } from "../lib/mae.ts";
import { UniformMasking } from "../lib/masking/uniform.ts";
import { Rng } from "../lib/rng.ts";
import { AdamW } from "../lib/train/optim.ts";
import { pretrainIdentity, trainingProgress } from "../lib/train/pretrain_spec.ts";
import { makePretrainStep, sliceMaskBatch } from "../lib/train/pretrain_step.ts";
import { smokePretrainSpec } from "./fixtures.ts";

Deno.test("progress: per step it runs from 0 on the first step to exactly 1 on the last (Eq. 6 ends at t = 1)", () => {
  const epochs = 4, spe = 10;
  const ts: number[] = [];
  for (let e = 0; e < epochs; e++) {
    for (let s = 0; s < spe; s++) ts.push(trainingProgress("step", e, s, spe, epochs));
  }
  assert.equal(ts[0], 0);
  assert.equal(ts.at(-1), 1);
  assert.ok(ts.every((t, i) => i === 0 || t > ts[i - 1]), "strictly increasing");
  assert.equal(ts[20], 20 / 39);
  // A hard share 0 → 0.5 therefore reaches 0.5·K on the last step (it peaked at 0.375·K per epoch before).
  assert.equal(trainingProgress("step", 0, 0, 1, 1), 0, "a single step stays at t = 0");
});

Deno.test("progress: per epoch (the authors' code) is epoch / epochs and never reaches 1", () => {
  assert.deepEqual([0, 1, 2, 3].map((e) => trainingProgress("epoch", e, 5, 10, 4)), [0, 0.25, 0.5, 0.75]);
});

Deno.test("progress: the unit is part of a run's identity (per step by default)", () => {
  const spec = smokePretrainSpec();
  assert.equal(pretrainIdentity(spec).progressUnit, "step");
  assert.equal(pretrainIdentity({ ...spec, progressUnit: "epoch" }).progressUnit, "epoch");
});

Deno.test("sliceMaskBatch: a micro-batch keeps its rows of the secondary mask (UM-MAE)", () => {
  const rng = new Rng(1);
  const mask = new UniformMasking().generate({
    batchSize: 5,
    grid: { rows: 4, cols: 4 },
    progress: 0,
    epoch: 0,
    step: 0,
    rng,
  });
  const sub = sliceMaskBatch(mask, 1, 4);
  assert.equal(sub.batchSize, 3);
  assert.deepEqual(sub.mask, mask.mask.subarray(16, 64));
  assert.deepEqual(sub.secondaryMask, mask.secondaryMask.subarray(16, 64));
  assert.equal(sub.secondaryMask!.reduce((a, v) => a + v, 0), 3 * mask.numSecondary);
  // Masks without one stay without one.
  const { secondaryMask: _, ...plain } = mask;
  assert.equal(sliceMaskBatch(plain, 1, 4).secondaryMask, undefined);
});

Deno.test("UM-MAE pre-training step: micro-batches give the whole batch's loss and update vis_mask_token alike", async () => {
  await selectBackend("wasm", { blas: "off" });
  const cfg: MaeConfig = {
    imageSize: 16,
    patchSize: 2,
    dim: 16,
    depth: 1,
    heads: 2,
    mlpRatio: 2,
    decoderDim: 16,
    decoderDepth: 1,
    decoderHeads: 2,
    normPixLoss: true,
    visMaskToken: true,
  };
  const B = 4;
  const imgRng = new Rng(2);
  const images = Float32Array.from({ length: B * 16 * 16 * 3 }, () => imgRng.normal());
  const run = async (microBatch: number) => {
    const params = initMae(cfg, new Rng(3));
    const before = params.get("vis_mask_token")!.dataSync().slice();
    const optimizer = new AdamW(params, { weightDecay: 0.05, beta2: 0.95 });
    const step = makePretrainStep({
      cfg,
      params,
      optimizer,
      strategy: new UniformMasking({ secondaryMaskRatio: 0.25 }),
      lr: () => 1e-3,
      microBatch,
      deferReads: false,
    });
    const metrics = await step({
      images,
      batch: B,
      progress: 0,
      epoch: 0,
      step: 0,
      rng: new Rng(4),
      grid: { rows: 8, cols: 8 },
    }) as Record<string, number>;
    const after = params.get("vis_mask_token")!.dataSync().slice();
    optimizer.dispose();
    for (const v of params.values()) v.dispose();
    return { metrics, before, after };
  };
  const whole = await run(B);
  const split = await run(2);
  assert.equal(whole.metrics["mask.secondaryMasked"], 4);
  assert.ok(Number.isFinite(whole.metrics.loss));
  assert.ok(
    Math.abs(split.metrics.loss - whole.metrics.loss) < 1e-5 * whole.metrics.loss,
    `loss ${split.metrics.loss} (2 micro-batches) vs ${whole.metrics.loss}`,
  );
  for (const r of [whole, split]) {
    assert.ok(r.after.some((v, i) => v !== r.before[i]), "the token is trained");
  }
  whole.after.forEach((v, i) =>
    assert.ok(Math.abs(v - split.after[i]) < 1e-6, `token ${i}: ${v} vs ${split.after[i]}`)
  );
});

Deno.test("a pre-training step differentiates the model's own forward: its loss is maeLoss of its mask", async () => {
  await selectBackend("wasm", { blas: "off" });
  const { maeLoss, prepareMaeBatch } = await import("../lib/mae.ts");
  const { RandomMasking } = await import("../lib/masking/random.ts");
  const cfg: MaeConfig = {
    imageSize: 16,
    patchSize: 4,
    dim: 16,
    depth: 1,
    heads: 2,
    mlpRatio: 2,
    decoderDim: 8,
    decoderDepth: 1,
    decoderHeads: 2,
    normPixLoss: true,
  };
  const B = 3;
  const imgRng = new Rng(5);
  const images = Float32Array.from({ length: B * 16 * 16 * 3 }, () => imgRng.normal());
  const params = initMae(cfg, new Rng(6));
  // The strategy the step uses, recording the mask it drew.
  const inner = new RandomMasking(0.75);
  let drawn: import("../lib/masking/types.ts").MaskBatch | undefined;
  const recording = Object.assign(Object.create(inner), {
    generate: async (ctx: Parameters<typeof inner.generate>[0]) => (drawn = await inner.generate(ctx)),
  });
  // Before the update: the model's loss on the step's batch and mask, computed after the step from a copy.
  const copy = new Map([...params].map(([n, v]) => [n, tf.variable(v.clone(), false, `copy_${n}`)]));
  const optimizer = new AdamW(params, { weightDecay: 0.05, beta2: 0.95 });
  const step = makePretrainStep({
    cfg,
    params,
    optimizer,
    strategy: recording,
    lr: () => 1e-3,
    deferReads: false,
  });
  const metrics = await step({
    images,
    batch: B,
    progress: 0,
    epoch: 0,
    step: 0,
    rng: new Rng(7),
    grid: { rows: 4, cols: 4 },
  }) as Record<string, number>;
  const mb = prepareMaeBatch(cfg, images, drawn!);
  const want = tf.tidy(() => maeLoss(copy, cfg, mb).dataSync()[0]);
  mb.dispose();
  assert.equal(metrics.loss, want, "the step's loss is the model's forward, bit for bit");
  optimizer.dispose();
  for (const v of [...params.values(), ...copy.values()]) v.dispose();
});
