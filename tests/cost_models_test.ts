/** The analytic parameter counts of lib/cost.ts equal the parameters of the models this suite builds. */
import assert from "node:assert/strict";
import { selectBackend } from "../lib/backend.ts";
import { maeCostConfig, methodParams } from "../lib/cost.ts";
import { HardPatchesMining } from "../lib/hpm.ts";
import { initMae, type MaeConfig } from "../lib/mae.ts";
import { MaskedAttentionModeling } from "../lib/mam.ts";
import { Rng } from "../lib/rng.ts";
import { countParams, type Params } from "../lib/vit.ts";

const CFG: MaeConfig = {
  imageSize: 32,
  patchSize: 4,
  dim: 64,
  depth: 3,
  heads: 2,
  mlpRatio: 4,
  decoderDim: 32,
  decoderDepth: 2,
  decoderHeads: 2,
  normPixLoss: true,
};

function dispose(p: Params): void {
  for (const v of p.values()) v.dispose();
}

Deno.test("cost model: learnable parameters of MAE, GPA + MAM and HPM equal the built models'", async () => {
  await selectBackend("cpu");
  const cost = maeCostConfig(CFG, 0.75);
  const mae = initMae(CFG, new Rng(0));
  assert.equal(countParams(mae), methodParams("mae", cost).learnable);
  assert.equal(countParams(mae), methodParams("gpa", cost).learnable, "GPA adds no learnable parameter");
  // The authors' MAM and HPM's loss predictor: a decoder stack with one output per patch here (the cost model's
  // default assumes their p²·3 head, so the head size is passed explicitly).
  const mam = new MaskedAttentionModeling();
  mam.initParams(mae, CFG, new Rng(1));
  assert.equal(countParams(mae), methodParams("gpa-mam", cost, { auxHeadOutputs: 1 }).learnable);
  dispose(mae);
  const hpmModel = initMae(CFG, new Rng(0));
  const hpm = new HardPatchesMining();
  hpm.initParams(hpmModel, CFG, new Rng(2));
  assert.equal(countParams(hpmModel), methodParams("hpm", cost, { auxHeadOutputs: 1 }).learnable);
  dispose(hpmModel);
  for (const v of hpm.teacher.values()) v.dispose();
});
