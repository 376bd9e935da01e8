import assert from "node:assert/strict";
import { getProfile } from "../experiments/profiles.ts";
import { selectBackend } from "../lib/backend.ts";
import { RunCache } from "../lib/cache/mod.ts";
import { loadDataset } from "../lib/data/mod.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import { pretrain } from "../lib/train/pretrain.ts";
import type { PretrainSpec } from "../lib/train/pretrain_spec.ts";

Deno.test("online probe: learns above chance and leaves the encoder bit-identical", async () => {
  await selectBackend("wasm");
  const p = getProfile("smoke");
  const data = await loadDataset(p.dataset, { cacheDir: await Deno.makeTempDir(), log: () => {} });
  const spec = (): PretrainSpec => ({
    profile: p.name,
    dataset: p.dataset,
    model: p.model,
    recipe: p.pretrain,
    seed: 3,
    strategy: createMaskStrategy("random", { maskRatio: 0.75 }),
  });
  const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    const run = (dir: string, onlineProbe: boolean) =>
      pretrain(spec(), data.train, { cache: new RunCache(dir), log: () => {}, knnData: data, onlineProbe });
    const withProbe = await run(dirs[0], true);
    const without = await run(dirs[1], false);
    assert.equal(withProbe.hash, without.hash, "the probe must not change the run's identity");
    for (const [name, v] of without.params) {
      const a = await withProbe.params.get(name)!.data();
      const b = await v.data();
      assert.deepEqual(a, b, `encoder/decoder weight ${name} differs with the probe`);
    }
    const top1 = withProbe.history.map((r) => r.probeTop1);
    assert.ok(top1.every(Number.isFinite), `probe top-1 logged every epoch: ${top1}`);
    assert.ok(top1[top1.length - 1] > 100 / data.train.numClasses, `probe at chance: ${top1}`);
    assert.ok(without.history.every((r) => r.probeTop1 === undefined));
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});
