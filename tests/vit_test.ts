/**
 * ViT pieces: MAE's patchify pixel order on a hand example and its inverse, the fixed 2-D sin-cos positional
 * embedding against hand values, the encoder's output shapes, its intermediate block outputs, and token
 * replacement (UM-MAE's secondary masking) in value and gradient against hand results on both ops paths.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { type OpsMode, setOpsMode } from "../lib/ops.ts";
import { Rng } from "../lib/rng.ts";
import {
  countParams,
  embedTokens,
  encoderBlocks,
  gatherRows,
  gridOf,
  initEncoder,
  type Params,
  patchify,
  sinCosPosEmbed,
  unpatchify,
  validateVitConfig,
  type VitConfig,
} from "../lib/vit.ts";

/** A pixel value that spells its own coordinates: 1000·b + 100·y + 10·x + c. */
const code = (b: number, y: number, x: number, c: number) => 1000 * b + 100 * y + 10 * x + c;

function codedImages(batch: number, size: number): Float32Array {
  const img = new Float32Array(batch * size * size * 3);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) img[((b * size + y) * size + x) * 3 + c] = code(b, y, x, c);
      }
    }
  }
  return img;
}

Deno.test("patchify: 4×4 image, p = 2 — patches row-major over the grid, pixels (row, col, channel) inside", () => {
  const patches = patchify(codedImages(2, 4), 2, 4, 2);
  assert.equal(patches.length, 2 * 4 * 12);
  // MAE: x.reshape(N, 3, h, p, w, p) → einsum('nchpwq->nhwpqc'): patch (gh, gw), element ((i·p + j)·3 + c).
  const patch = (b: number, l: number) =>
    Array.from(patches.subarray((b * 4 + l) * 12, (b * 4 + l + 1) * 12));
  assert.deepEqual(patch(0, 0), [0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
  assert.deepEqual(patch(0, 1), [20, 21, 22, 30, 31, 32, 120, 121, 122, 130, 131, 132]);
  assert.deepEqual(patch(0, 2), [200, 201, 202, 210, 211, 212, 300, 301, 302, 310, 311, 312]);
  assert.deepEqual(patch(1, 3), [1220, 1221, 1222, 1230, 1231, 1232, 1320, 1321, 1322, 1330, 1331, 1332]);
});

Deno.test("patchify/unpatchify round trip is exact for several sizes", () => {
  const rng = new Rng(3);
  for (const [batch, size, p] of [[1, 4, 2], [3, 8, 4], [2, 6, 3], [2, 16, 16], [1, 5, 1]]) {
    const img = Float32Array.from({ length: batch * size * size * 3 }, () => rng.normal());
    const patches = patchify(img, batch, size, p);
    assert.equal(patches.length, img.length);
    assert.deepEqual(unpatchify(patches, batch, size, p), img, `batch ${batch}, size ${size}, p ${p}`);
    // Every element lands somewhere: patchify is a permutation, not a copy with gaps.
    assert.deepEqual([...patches].sort((a, b) => a - b), [...img].sort((a, b) => a - b));
  }
});

Deno.test("sinCosPosEmbed: CLS row zeros; hand values as MAE's get_2d_sincos_pos_embed (w first, then h)", () => {
  const dim = 8;
  const table = sinCosPosEmbed(dim, 2); // [1 + 4, 8]; ω = [1, 1/100]
  assert.equal(table.length, 5 * dim);
  assert.deepEqual(Array.from(table.subarray(0, dim)), new Array(dim).fill(0));
  const row = (l: number) => Array.from(table.subarray((1 + l) * dim, (2 + l) * dim));
  const close = (got: number[], want: number[], label: string) =>
    want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-6, `${label}[${i}]: ${got[i]} vs ${w}`));
  // Patch 0 (h 0, w 0): sin 0 = 0, cos 0 = 1.
  close(row(0), [0, 0, 1, 1, 0, 0, 1, 1], "patch 0");
  // Patch 1 (h 0, w 1): [sin(1), sin(.01), cos(1), cos(.01) | sin 0, sin 0, cos 0, cos 0].
  close(row(1), [0.8414709848, 0.0099998333, 0.5403023059, 0.9999500004, 0, 0, 1, 1], "patch 1");
  // Patch 2 (h 1, w 0): the column half is position 0, the row half position 1.
  close(row(2), [0, 0, 1, 1, 0.8414709848, 0.0099998333, 0.5403023059, 0.9999500004], "patch 2");
  // A larger table: dim 16, grid 4 → ω_i = 10000^(−i/4); patch (h 3, w 2), channel 1 = sin(2·0.1).
  const big = sinCosPosEmbed(16, 4);
  const l = 3 * 4 + 2;
  assert.ok(Math.abs(big[(1 + l) * 16 + 1] - Math.sin(0.2)) < 1e-6);
  assert.ok(Math.abs(big[(1 + l) * 16 + 4 + 2] - Math.cos(2 * 0.01)) < 1e-6);
  assert.ok(Math.abs(big[(1 + l) * 16 + 8 + 3] - Math.sin(3 * 0.001)) < 1e-6);
  assert.ok(Math.abs(big[(1 + l) * 16 + 12 + 1] - Math.cos(0.3)) < 1e-6);
  assert.throws(() => sinCosPosEmbed(6, 2), RangeError);
});

Deno.test("gridOf, validateVitConfig and gatherRows", () => {
  assert.deepEqual(gridOf({ imageSize: 224, patchSize: 16 }), { rows: 14, cols: 14, count: 196 });
  const ok: VitConfig = { imageSize: 16, patchSize: 4, dim: 32, depth: 2, heads: 2, mlpRatio: 4 };
  validateVitConfig(ok);
  assert.throws(() => validateVitConfig({ ...ok, patchSize: 5 }), /patch size 5/);
  assert.throws(() => validateVitConfig({ ...ok, heads: 3 }), /divisible by heads/);
  assert.throws(() => validateVitConfig({ ...ok, depth: 0 }), /model\.depth/);
  const table = Float32Array.from({ length: 4 * 2 }, (_, i) => i); // rows [0,1], [2,3], [4,5], [6,7]
  assert.deepEqual(Array.from(gatherRows(table, 2, Int32Array.from([2, 0]))), [6, 7, 2, 3]);
});

Deno.test("encoder: parameter count and output shapes (tokens, logits, partial depth)", async () => {
  await selectBackend("cpu");
  const cfg: VitConfig = { imageSize: 8, patchSize: 4, dim: 16, depth: 3, heads: 4, mlpRatio: 2 };
  const params: Params = new Map();
  initEncoder(params, cfg, new Rng(1));
  try {
    const P = 4 * 4 * 3;
    const D = cfg.dim;
    const H = D * cfg.mlpRatio;
    const perBlock = 2 * D + 4 * (D * D + D) + 2 * D + (D * H + H) + (H * D + D);
    assert.equal(countParams(params), P * D + D + D + cfg.depth * perBlock + 2 * D);
    const B = 2, L = gridOf(cfg).count;
    const rng = new Rng(2);
    const out = tf.tidy(() => {
      const patches = tf.tensor2d(Float32Array.from({ length: B * L * P }, () => rng.normal()), [B * L, P]);
      const pos = tf.zeros([B * L, D]) as tf.Tensor2D;
      const tokens = embedTokens(params, patches, pos, B);
      const full = encoderBlocks(params, cfg, tokens, B, { logitsOf: [0, 2] });
      const partial = encoderBlocks(params, cfg, tokens, B, { blocks: 1 });
      // The CLS token is the first token of each sample and enters unchanged (its position row is zero).
      const cls = tf.reshape(tokens, [B, 1 + L, D]).slice([0, 0, 0], [B, 1, D]).dataSync();
      return {
        tokens: tokens.shape,
        x: full.x.shape,
        logitKeys: [...full.logits.keys()],
        logit0: full.logits.get(0)!.shape,
        partial: partial.x.shape,
        partialLogits: partial.logits.size,
        cls: Array.from(cls),
        finite: full.x.dataSync().every(Number.isFinite),
      };
    });
    assert.deepEqual(out.tokens, [B * (1 + L), D]);
    assert.deepEqual(out.x, [B * (1 + L), D]);
    assert.deepEqual(out.logitKeys, [0, 2]);
    assert.deepEqual(out.logit0, [1 + L, B * cfg.heads, 1 + L]);
    assert.deepEqual(out.partial, [B * (1 + L), D]);
    assert.equal(out.partialLogits, 0);
    const clsToken = Array.from(params.get("cls_token")!.dataSync());
    assert.deepEqual(out.cls, [...clsToken, ...clsToken]);
    assert.ok(out.finite);
  } finally {
    for (const v of params.values()) v.dispose();
  }
});

Deno.test("encoder: intermediate block outputs (timm's forward_intermediates) are the blocks' patch tokens", async () => {
  await selectBackend("cpu");
  const cfg: VitConfig = { imageSize: 8, patchSize: 4, dim: 16, depth: 3, heads: 4, mlpRatio: 2 };
  const params: Params = new Map();
  initEncoder(params, cfg, new Rng(1));
  try {
    const B = 2, L = gridOf(cfg).count, D = cfg.dim, P = 4 * 4 * 3;
    const rng = new Rng(3);
    const patchValues = Float32Array.from({ length: B * L * P }, () => rng.normal());
    tf.tidy(() => {
      const tokens = embedTokens(params, tf.tensor2d(patchValues, [B * L, P]), tf.zeros([B * L, D]), B);
      /** Patch tokens (CLS dropped) of `[B·(1+L), D]` tokens, as plain numbers. */
      const patchesOf = (x: tf.Tensor2D) =>
        Array.from(tf.reshape(x, [B, 1 + L, D]).slice([0, 1, 0], [B, L, D]).dataSync());
      const out = encoderBlocks(params, cfg, tokens, B, { intermediatesOf: [2, 0], skipNorm: true });
      assert.deepEqual([...out.intermediates.keys()].sort(), [0, 2]);
      assert.deepEqual(out.intermediates.get(0)!.shape, [B * L, D]);
      // Block 0's output is what a one-block pass ends with; the last block's is the un-normed final output.
      const one = encoderBlocks(params, cfg, tokens, B, { blocks: 1 }).x;
      assert.deepEqual(Array.from(out.intermediates.get(0)!.dataSync()), patchesOf(one));
      assert.deepEqual(Array.from(out.intermediates.get(2)!.dataSync()), patchesOf(out.x));
      // Asking for intermediates changes nothing else: same final tokens, none when not asked for.
      const plain = encoderBlocks(params, cfg, tokens, B);
      const normed = encoderBlocks(params, cfg, tokens, B, { intermediatesOf: [1] });
      assert.deepEqual(Array.from(normed.x.dataSync()), Array.from(plain.x.dataSync()));
      assert.equal(plain.intermediates.size, 0);
      // Drop path draws the same masks with or without intermediates (same stream, same order).
      const drop = (intermediatesOf?: number[]) =>
        encoderBlocks(params, cfg, tokens, B, { dropPath: { rate: 0.5, rng: new Rng(7) }, intermediatesOf });
      assert.deepEqual(Array.from(drop([0, 1]).x.dataSync()), Array.from(drop().x.dataSync()));
      // An index outside the blocks run is refused, not silently missing.
      assert.throws(() => encoderBlocks(params, cfg, tokens, B, { intermediatesOf: [3] }), RangeError);
      assert.throws(
        () => encoderBlocks(params, cfg, tokens, B, { blocks: 1, intermediatesOf: [1] }),
        RangeError,
      );
    });
  } finally {
    for (const v of params.values()) v.dispose();
  }
});

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`embedTokens (${backend}): a replaced token is exactly token + position, its gradient the marked rows' cotangents`, async () => {
    await selectBackend(backend, { blas: "off" });
    const cfg: VitConfig = { imageSize: 8, patchSize: 4, dim: 8, depth: 1, heads: 2, mlpRatio: 2 };
    const params: Params = new Map();
    initEncoder(params, cfg, new Rng(5));
    const B = 2, N = 3, D = cfg.dim, P = 4 * 4 * 3;
    const rng = new Rng(6);
    const randn = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
    const patches = randn(B * N * P),
      pos = randn(B * N * D),
      tokenValues = randn(D),
      r = randn(B * (1 + N) * D);
    const marks = Float32Array.from([0, 1, 0, 1, 1, 0]); // [B·N]: sample 0 hides patch 1, sample 1 patches 0, 1
    try {
      const results = (["custom", "plain"] as OpsMode[]).map((mode) => {
        setOpsMode(mode);
        try {
          return tf.tidy(() => {
            const x = tf.tensor2d(patches, [B * N, P]);
            const p = tf.tensor2d(pos, [B * N, D]);
            const m = tf.tensor2d(marks, [B * N, 1]);
            const rt = tf.tensor2d(r, [B * (1 + N), D]);
            const token = tf.tensor2d(tokenValues, [1, D]);
            const plain = embedTokens(params, x, p, B).dataSync();
            const f = (t: tf.Tensor) => embedTokens(params, x, p, B, { marks: m, token: t as tf.Tensor2D });
            const replaced = f(token).dataSync();
            // d/dtoken of Σ tokens ⊙ R.
            const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), rt)))(token).dataSync();
            return { plain, replaced, grad };
          });
        } finally {
          setOpsMode("auto");
        }
      });
      for (const [i, { plain, replaced, grad }] of results.entries()) {
        const label = i === 0 ? "custom" : "plain";
        const want = new Float64Array(D);
        for (let b = 0; b < B; b++) {
          for (let n = 0; n < N; n++) {
            const row = (b * (1 + N) + 1 + n) * D; // the token row, after the sample's CLS
            for (let d = 0; d < D; d++) {
              if (marks[b * N + n]) {
                assert.equal(
                  replaced[row + d],
                  Math.fround(tokenValues[d] + pos[(b * N + n) * D + d]),
                  label,
                );
                want[d] += r[row + d];
              } else {
                assert.equal(replaced[row + d], plain[row + d], `${label}: an unmarked token is untouched`);
              }
            }
          }
          for (let d = 0; d < D; d++) assert.equal(replaced[b * (1 + N) * D + d], plain[b * (1 + N) * D + d]);
        }
        // Hand gradient: the token's cotangent is the sum of the marked rows' cotangents (3 rows here).
        want.forEach((w, d) => assert.ok(Math.abs(grad[d] - w) < 1e-5 * (1 + Math.abs(w)), `${label} d${d}`));
      }
    } finally {
      for (const v of params.values()) v.dispose();
    }
  });
}

Deno.test("blockParams: the typed view of a block is its named tensors; a missing one is named", async () => {
  const { blockParams, initBlock } = await import("../lib/vit.ts");
  const params = new Map();
  initBlock(params, "blocks.0", 8, 2, new Rng(1));
  const b = blockParams(params, "blocks.0");
  assert.equal(b.q.weight, params.get("blocks.0.attn.q.weight"));
  assert.equal(b.fc2.bias, params.get("blocks.0.mlp.fc2.bias"));
  assert.deepEqual(b.fc1.weight.shape, [8, 16]);
  assert.deepEqual(b.norm2.weight.shape, [8]);
  params.delete("blocks.0.attn.v.bias");
  assert.throws(() => blockParams(params, "blocks.0"), /missing parameter blocks\.0\.attn\.v\.bias/);
  for (const v of params.values()) v.dispose();
});
