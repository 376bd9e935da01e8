import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { embedImages } from "../lib/encode.ts";
import { convertTimmVit, loadTimmTeacherWeights } from "../lib/encoder_weights.ts";
import { gpaAllHeads } from "../lib/gpa.ts";
import { gpaReference, zNormalize } from "../lib/gpa_math.ts";
import { decoderInput, decoderStack, initMae, type MaeConfig, prepareMaeBatch } from "../lib/mae.ts";
import { MaskedAttentionModeling } from "../lib/mam.ts";
import { RandomMasking } from "../lib/masking/random.ts";
import { Rng } from "../lib/rng.ts";
import { writeSafetensors } from "../lib/safetensors.ts";
import { blockQK, encoderBlocks, initEncoder, type Params, type VitConfig } from "../lib/vit.ts";

const CFG: VitConfig = { imageSize: 8, patchSize: 4, dim: 8, depth: 2, heads: 2, mlpRatio: 2 };
const CFG_MAM: MaeConfig = {
  ...CFG,
  imageSize: 16,
  decoderDim: 8,
  decoderDepth: 1,
  decoderHeads: 2,
  normPixLoss: true,
};

/** A 16-px MAE with random masks on two images and random GPA scores, for the MAM tests. */
function mamFixture(seed: number) {
  const cfg = { ...CFG_MAM };
  const rng = new Rng(seed);
  const params = initMae(cfg, rng);
  const B = 2, L = 16;
  const mask = new RandomMasking(0.75).generate({
    batchSize: B,
    grid: { rows: 4, cols: 4 },
    progress: 0,
    epoch: 0,
    step: 0,
    rng,
  });
  const scores = Float32Array.from({ length: B * L }, () => rng.next());
  const mb = prepareMaeBatch(cfg, images(rng, B, 16), mask);
  return { cfg, rng, params, B, L, mask, scores, mb };
}

function images(rng: Rng, n: number, size: number): Float32Array {
  return Float32Array.from({ length: n * size * size * 3 }, () => rng.normal());
}

Deno.test("gpaAllHeads equals explicit per-head sums of q·k/√dh (both variants, all-heads column)", async () => {
  await selectBackend("cpu");
  const params: Params = new Map();
  initEncoder(params, CFG, new Rng(4));
  const B = 2, T = 5, L = 4, H = 2, dh = 4;
  const tokens = embedImages(params, CFG, images(new Rng(5), B, 8), B);
  for (const block of [0, 1]) {
    const x = block > 0 ? encoderBlocks(params, CFG, tokens, B, { blocks: block }).x : tokens;
    const { q, k } = blockQK(params, `blocks.${block}`, x);
    const qd = await q.data();
    const kd = await k.data();
    for (const variant of ["paper", "official"] as const) {
      const got = await gpaAllHeads(params, CFG, tokens, B, block, variant).data(); // [H+1, B, L]
      for (let b = 0; b < B; b++) {
        const all = new Float64Array(L);
        for (let h = 0; h < H; h++) {
          const qh = new Float32Array(T * dh);
          const kh = new Float32Array(T * dh);
          for (let t = 0; t < T; t++) {
            for (let d = 0; d < dh; d++) {
              qh[t * dh + d] = qd[(b * T + t) * CFG.dim + h * dh + d];
              kh[t * dh + d] = kd[(b * T + t) * CFG.dim + h * dh + d];
            }
          }
          const want = gpaReference(qh, kh, T, dh, variant);
          for (let m = 0; m < L; m++) {
            const g = got[(h * B + b) * L + m];
            assert.ok(
              Math.abs(g - want[m]) < 1e-4 * (1 + Math.abs(want[m])),
              `${variant} b${block}h${h} ${g} vs ${want[m]}`,
            );
            all[m] += want[m];
          }
        }
        for (let m = 0; m < L; m++) {
          assert.ok(Math.abs(got[(H * B + b) * L + m] - all[m]) < 1e-4 * (1 + Math.abs(all[m])));
        }
      }
    }
  }
});

Deno.test("timm/MAE safetensors (fused qkv, [out, in] weights, conv patch embedding) load to the same encoder", async () => {
  await selectBackend("cpu");
  const ours: Params = new Map();
  initEncoder(ours, CFG, new Rng(6));
  const D = CFG.dim, p = CFG.patchSize;
  const get = async (n: string) => (await ours.get(n)!.data()) as Float32Array;
  const transpose = (a: Float32Array, rows: number, cols: number) => {
    const o = new Float32Array(a.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) o[c * rows + r] = a[r * cols + c];
    return o;
  };
  // Build the timm layout independently of the converter.
  const timm: Record<string, { shape: number[]; data: Float32Array }> = {};
  const pe = await get("patch_embed.proj.weight"); // [p·p·3, D], rows in (y, x, c) order
  const conv = new Float32Array(D * 3 * p * p);
  for (let y = 0; y < p; y++) {
    for (let x = 0; x < p; x++) {
      for (let c = 0; c < 3; c++) {
        for (let d = 0; d < D; d++) conv[((d * 3 + c) * p + y) * p + x] = pe[((y * p + x) * 3 + c) * D + d];
      }
    }
  }
  timm["patch_embed.proj.weight"] = { shape: [D, 3, p, p], data: conv };
  timm["patch_embed.proj.bias"] = { shape: [D], data: await get("patch_embed.proj.bias") };
  timm["cls_token"] = { shape: [1, 1, D], data: await get("cls_token") };
  timm["pos_embed"] = { shape: [1, 5, D], data: new Float32Array(5 * D) };
  for (let b = 0; b < CFG.depth; b++) {
    const pre = `blocks.${b}`;
    for (
      const n of [
        "norm1.weight",
        "norm1.bias",
        "norm2.weight",
        "norm2.bias",
        "attn.proj.bias",
        "mlp.fc1.bias",
        "mlp.fc2.bias",
      ]
    ) {
      timm[`${pre}.${n}`] = { shape: ours.get(`${pre}.${n}`)!.shape, data: await get(`${pre}.${n}`) };
    }
    const qkv = new Float32Array(3 * D * D);
    const qkvB = new Float32Array(3 * D);
    for (const [j, n] of ["q", "k", "v"].entries()) {
      qkv.set(transpose(await get(`${pre}.attn.${n}.weight`), D, D), j * D * D);
      qkvB.set(await get(`${pre}.attn.${n}.bias`), j * D);
    }
    timm[`${pre}.attn.qkv.weight`] = { shape: [3 * D, D], data: qkv };
    timm[`${pre}.attn.qkv.bias`] = { shape: [3 * D], data: qkvB };
    for (const n of ["attn.proj", "mlp.fc1", "mlp.fc2"]) {
      const [i, o] = ours.get(`${pre}.${n}.weight`)!.shape;
      timm[`${pre}.${n}.weight`] = { shape: [o, i], data: transpose(await get(`${pre}.${n}.weight`), i, o) };
    }
  }
  timm["norm.weight"] = { shape: [D], data: await get("norm.weight") };
  timm["norm.bias"] = { shape: [D], data: await get("norm.bias") };
  const dir = await Deno.makeTempDir();
  try {
    await writeSafetensors(`${dir}/vit.safetensors`, timm, {});
    const loaded = await loadTimmTeacherWeights(`${dir}/vit.safetensors`, CFG);
    for (const [n, v] of ours) assert.deepEqual(await loaded.get(n)!.data(), await v.data(), n);
    delete timm["blocks.1.attn.qkv.weight"];
    assert.throws(() => convertTimmVit(timm, CFG), /lacks tensor 'blocks.1.attn.qkv.weight'/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MAM: targets are the z-normalised GPA in token order; loss = MSE of the attention decoder", async () => {
  await selectBackend("cpu");
  const { cfg, params, B, L, mask, scores, mb } = mamFixture(8);
  const z = zNormalize(scores, B, L);
  for (const lossOn of ["masked", "all"] as const) {
    const mam = new MaskedAttentionModeling({ lossOn });
    if (!params.has("mam_decoder_norm.weight")) mam.initParams(params, cfg, new Rng(9));
    const latent = tf.randomNormal([B * (1 + mb.numKept), cfg.dim]) as tf.Tensor2D;
    const decoderIn = decoderInput(params, cfg, latent, mb);
    const args = {
      params,
      cfg,
      mb,
      mask: { ...mask, scores },
      latent,
      decoderIn,
      pixelLoss: tf.scalar(0),
      progress: 1,
    };
    const targets = await mam.targets(args).data();
    const ids = lossOn === "masked" ? [mb.maskedIds] : [mb.keptIds, mb.maskedIds];
    const want: number[] = [];
    for (let b = 0; b < B; b++) {
      for (const a of ids) {
        const n = a.length / B;
        for (let j = 0; j < n; j++) want.push(z[b * L + a[b * n + j]]);
      }
    }
    assert.deepEqual(Array.from(targets), Array.from(Float32Array.from(want)));
    const pred = await decoderStack(params, cfg, "mam_decoder", decoderIn, mb, lossOn).data();
    let mse = 0;
    for (let i = 0; i < want.length; i++) mse += (pred[i] - want[i]) ** 2;
    mse /= want.length;
    const got = (await mam.loss(args).loss.data())[0];
    assert.ok(Math.abs(got - mse) < 1e-5 * (1 + mse), `${got} vs ${mse}`);
  }
});

Deno.test("MAM before activation (authors' code): the channel mean of the decoder input, switched when t > 0.75", async () => {
  await selectBackend("cpu");
  const { cfg, params, B, L, mask, scores, mb } = mamFixture(11);
  const mam = new MaskedAttentionModeling({ lossOn: "all", activeFrom: 0.75 });
  mam.initParams(params, cfg, new Rng(12));
  assert.equal(mam.isActive(0.75), false, "the switch is strict, as the authors' `> 0.75`");
  assert.equal(mam.isActive(0.7501), true);
  assert.equal(new MaskedAttentionModeling().isActive(0), true, "the paper: active from the first step");
  const latent = tf.randomNormal([B * (1 + mb.numKept), cfg.dim]) as tf.Tensor2D;
  const decoderIn = decoderInput(params, cfg, latent, mb);
  const args = {
    params,
    cfg,
    mb,
    mask: { ...mask, scores },
    latent,
    decoderIn,
    pixelLoss: tf.scalar(0),
    progress: 0.5,
  };
  const targets = await mam.targets(args).data();
  // Hand computation: per sample, tokens 1..L of the decoder input, mean over channels.
  const din = await decoderIn.data();
  const Dd = cfg.decoderDim;
  let mse = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const row = (b * (1 + L) + 1 + t) * Dd;
      let m = 0;
      for (let c = 0; c < Dd; c++) m += din[row + c];
      mse += (m / Dd - targets[b * L + t]) ** 2;
    }
  }
  mse /= B * L;
  const got = (await mam.loss(args).loss.data())[0];
  assert.ok(Math.abs(got - mse) < 1e-5 * (1 + mse), `${got} vs ${mse}`);
});

Deno.test("teacher weights enter the identity by their content: two files with one name and size differ", async () => {
  await selectBackend("cpu");
  const { ensureTeacher } = await import("../app/teacher.ts");
  const { toTimmVit } = await import("../lib/timm.ts");
  const { getProfile } = await import("../experiments/profiles.ts");
  const profile = getProfile("smoke");
  const dir = await Deno.makeTempDir();
  try {
    const describe = [];
    for (const seed of [1, 2]) {
      const params: Params = new Map();
      initEncoder(params, profile.model, new Rng(seed));
      const named: Record<string, { shape: number[]; data: Float32Array }> = {};
      for (const [n, v] of params) named[n] = { shape: v.shape, data: (await v.data()) as Float32Array };
      await Deno.mkdir(`${dir}/${seed}`);
      await writeSafetensors(`${dir}/${seed}/vit.safetensors`, toTimmVit(named, profile.model));
      const ctx = {
        profile,
        cacheDir: `${dir}/cache`,
        backend: "cpu",
        log: () => {},
        stopSignal: { stopped: false },
      };
      const t = await ensureTeacher(ctx, {
        head: { block: 1, head: 0 },
        weightsPath: `${dir}/${seed}/vit.safetensors`,
      });
      describe.push(t.describe());
      t.dispose();
    }
    const [a, b] = await Promise.all([1, 2].map((s) => Deno.stat(`${dir}/${s}/vit.safetensors`)));
    assert.equal(a.size, b.size, "same name, same size");
    assert.notDeepEqual(describe[0], describe[1]);
    assert.match(String(describe[0].weightsSha256), /^[0-9a-f]{64}$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
