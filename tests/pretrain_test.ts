import assert from "node:assert/strict";
import { pretrainIdentity, trainingProgress } from "../lib/train/pretrain.ts";
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
