import assert from "node:assert/strict";
import { selectBackend } from "../lib/backend.ts";
import { generateSyntheticSplit } from "../lib/data/synthetic.ts";
import { GpaMapCache, Teacher } from "../lib/gpa.ts";
import { spearman } from "../lib/gpa_math.ts";
import { initEncoder, type Params, type VitConfig } from "../lib/vit.ts";
import { Rng } from "../lib/rng.ts";
import { minMaxScale } from "../lib/gpa_math.ts";
import { centerBatch } from "../lib/data/augment.ts";

Deno.test("spearman: hand cases (perfect, reversed, ties)", () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  // ranks a = [0, 1.5, 1.5, 3], b = [0, 1, 2, 3]: r = 4.5 / sqrt(4.5 · 5)
  assert.ok(Math.abs(spearman([1, 2, 2, 4], [1, 2, 3, 4]) - 4.5 / Math.sqrt(4.5 * 5)) < 1e-12);
});

Deno.test("GpaMapCache: an identity crop reproduces the per-step map exactly", async () => {
  await selectBackend("cpu");
  const cfg: VitConfig = { imageSize: 16, patchSize: 4, dim: 16, depth: 2, heads: 2, mlpRatio: 2 };
  const params: Params = new Map();
  initEncoder(params, cfg, new Rng(1));
  const teacher = new Teacher(params, cfg, { block: 1, head: -1 });
  const split = generateSyntheticSplit({ seed: 2, split: "val", perClass: 1, size: 16, numClasses: 4 });
  const cache = await GpaMapCache.build(teacher, split);
  const ids = Int32Array.from([0, 3, 1]);
  const whole = { x: 0, y: 0, w: 16, h: 16, flipped: false, sourceWidth: 16, sourceHeight: 16 };
  const cached = cache.mapsFor(ids, [whole, whole, whole]);
  const fresh = await teacher.maps(centerBatch(split, ids, 16), 3);
  for (let i = 0; i < cached.length; i++) assert.ok(Math.abs(cached[i] - fresh[i]) < 1e-5, `${i}`);
  // A flipped crop of the cached map is the mirrored map.
  const flipped = cache.mapsFor(Int32Array.from([0]), [{ ...whole, flipped: true }]);
  const base = minMaxScale(cache.raw.subarray(0, 16), 1, 16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) assert.ok(Math.abs(flipped[r * 4 + c] - base[r * 4 + (3 - c)]) < 1e-5);
  }
  const agree = await cache.agreement(split, 4, 0.75, new Rng(3));
  assert.ok(agree.spearman <= 1 && agree.spearman >= -1 && agree.topKOverlap >= 0 && agree.topKOverlap <= 1);
});
