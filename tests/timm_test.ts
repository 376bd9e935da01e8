import assert from "node:assert/strict";
import { selectBackend } from "../lib/backend.ts";
import { convertTimmVit, loadTimmTeacherWeights } from "../lib/encoder_weights.ts";
import { Rng } from "../lib/rng.ts";
import { writeSafetensors } from "../lib/safetensors.ts";
import { toTimmVit } from "../lib/timm.ts";
import { initEncoder, type Params, type VitConfig } from "../lib/vit.ts";

const CFG: VitConfig = { imageSize: 16, patchSize: 4, dim: 8, depth: 2, heads: 2, mlpRatio: 3 };

async function named(params: Params) {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [n, v] of params) out[n] = { shape: v.shape, data: (await v.data()) as Float32Array };
  return out;
}

Deno.test("toTimmVit writes timm's names and layouts; the timm loader reads back the same encoder", async () => {
  await selectBackend("cpu");
  const params: Params = new Map();
  initEncoder(params, CFG, new Rng(5));
  const ours = await named(params);
  const timm = toTimmVit(ours, CFG);
  assert.deepEqual(timm["blocks.0.attn.qkv.weight"].shape, [24, 8]);
  assert.deepEqual(timm["blocks.1.mlp.fc1.weight"].shape, [24, 8], "[out, in]");
  assert.deepEqual(timm["patch_embed.proj.weight"].shape, [8, 3, 4, 4]);
  assert.deepEqual(timm["cls_token"].shape, [1, 1, 8]);
  assert.deepEqual(timm["pos_embed"].shape, [1, 17, 8]);
  // Hand check of one entry of each layout: k's weight row r (input), column c (output) sits at qkv[D + c][r].
  const D = 8;
  assert.equal(
    timm["blocks.0.attn.qkv.weight"].data[(D + 3) * D + 5],
    ours["blocks.0.attn.k.weight"].data[5 * D + 3],
  );
  // Patch pixel (y 1, x 2, channel 0) of output d 4: ours [(y·p + x)·3 + c][d], timm [d][c][y][x].
  assert.equal(
    timm["patch_embed.proj.weight"].data[((4 * 3 + 0) * 4 + 1) * 4 + 2],
    ours["patch_embed.proj.weight"].data[((1 * 4 + 2) * 3) * D + 4],
  );
  const back = convertTimmVit(timm, CFG);
  for (const [n, t] of Object.entries(ours)) {
    assert.deepEqual(back[n].shape, t.shape, n);
    assert.deepEqual(back[n].data, t.data, n);
  }
  const dir = await Deno.makeTempDir();
  try {
    await writeSafetensors(`${dir}/enc.safetensors`, timm);
    const loaded = await loadTimmTeacherWeights(`${dir}/enc.safetensors`, CFG);
    for (const [n, v] of params) assert.deepEqual(await loaded.get(n)!.data(), await v.data(), n);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
