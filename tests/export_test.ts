import assert from "node:assert/strict";
import { TINY_MAE } from "./fixtures.ts";
import { selectBackend } from "../lib/backend.ts";
import { RunCache } from "../lib/cache/mod.ts";
import { exportEncoder } from "../lib/export.ts";
import { loadTimmTeacherWeights } from "../lib/encoder_weights.ts";
import { initMae, type MaeConfig } from "../lib/mae.ts";
import { Rng } from "../lib/rng.ts";
import { readSafetensorsFile } from "../lib/safetensors.ts";
import { isEncoderParam } from "../lib/encode.ts";

const CFG: MaeConfig = TINY_MAE;

Deno.test("export: a finished run's encoder goes out in timm layout and loads back as the same teacher", async () => {
  await selectBackend("cpu");
  const dir = await Deno.makeTempDir();
  try {
    const cache = new RunCache(dir);
    const identity = { kind: "pretrain", model: CFG, seed: 1 };
    const run = await cache.openRun(identity);
    const params = initMae(CFG, new Rng(4));
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [n, v] of params) tensors[n] = { shape: v.shape, data: (await v.data()) as Float32Array };
    await run.writeConfig(identity);
    await run.saveFinal(tensors, { loss: 1 });
    const out = `${dir}/enc.safetensors`;
    const r = await exportEncoder(cache, run.hash, out);
    assert.equal(r.run, run.hash);
    const file = await readSafetensorsFile(out);
    assert.equal(file.metadata.run, run.hash);
    assert.ok(
      !Object.keys(file.tensors).some((n) => n.startsWith("decoder")),
      "only the encoder is exported",
    );
    const loaded = await loadTimmTeacherWeights(out, CFG);
    for (const [n, v] of params) {
      if (isEncoderParam(n)) assert.deepEqual(await loaded.get(n)!.data(), await v.data(), n);
    }
    await assert.rejects(exportEncoder(cache, "0123456789abcdef", out), /not a finished run/);
    // A fine-tuned classifier is not exported as an encoder (its norm is unused; it pools with fc_norm).
    const ftIdentity = { kind: "finetune", model: CFG, seed: 1, from: run.hash };
    const ft = await cache.openRun(ftIdentity);
    await ft.writeConfig(ftIdentity);
    await ft.saveFinal(tensors, { top1: 1 });
    await assert.rejects(
      exportEncoder(cache, ft.hash, out),
      /finetune run; export a pre-training run \(this one started from/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
