/**
 * Export of this project's ViT encoder in timm / official-MAE layout, the inverse of `convertTimmVit`
 * (lib/gpa.ts): `[out, in]` Linear weights, fused `attn.qkv`, the patch embedding as a conv kernel
 * `[D, 3, p, p]`, `cls_token` `[1, 1, D]` and MAE's fixed sin-cos `pos_embed` `[1, 1 + L, D]`. A file written
 * from it loads with `loadTimmTeacherWeights` here and with `timm.create_model(..., pretrained_cfg_overlay=
 * dict(file=...))` in PyTorch.
 * @module
 */
import type { NamedTensors } from "./safetensors.ts";
import { gridOf, sinCosPosEmbed, type VitConfig } from "./vit.ts";

/** The encoder tensors of `named` (this project's names and layout) in timm's names and layout. */
export function toTimmVit(named: NamedTensors, cfg: VitConfig): NamedTensors {
  const D = cfg.dim;
  const p = cfg.patchSize;
  const out: NamedTensors = {};
  const need = (n: string) => {
    const t = named[n];
    if (!t) throw new Error(`encoder lacks tensor '${n}'`);
    return t.data as Float32Array;
  };
  // [in, out] → [out, in]
  const linearW = (name: string, rows: number, cols: number) => {
    const src = need(name);
    const o = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) o[c * rows + r] = src[r * cols + c];
    out[name] = { shape: [cols, rows], data: o };
  };
  const copy = (name: string, shape: number[]) => {
    out[name] = { shape, data: Float32Array.from(need(name)) };
  };
  // Patch embedding: [p·p·3, D] (row, column, channel) → [D, 3, p, p].
  const pe = need("patch_embed.proj.weight");
  const conv = new Float32Array(D * 3 * p * p);
  for (let d = 0; d < D; d++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < p; y++) {
        for (let x = 0; x < p; x++) conv[((d * 3 + c) * p + y) * p + x] = pe[((y * p + x) * 3 + c) * D + d];
      }
    }
  }
  out["patch_embed.proj.weight"] = { shape: [D, 3, p, p], data: conv };
  copy("patch_embed.proj.bias", [D]);
  copy("cls_token", [1, 1, D]);
  const g = gridOf(cfg).rows;
  out["pos_embed"] = { shape: [1, 1 + g * g, D], data: sinCosPosEmbed(D, g) };
  const hidden = Math.round(D * cfg.mlpRatio);
  for (let b = 0; b < cfg.depth; b++) {
    const pre = `blocks.${b}`;
    for (const n of ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]) copy(`${pre}.${n}`, [D]);
    // q, k, v [in, out] each → fused [3D, D] rows q, then k, then v.
    const qkv = new Float32Array(3 * D * D);
    const qkvB = new Float32Array(3 * D);
    ["q", "k", "v"].forEach((name, j) => {
      const w = need(`${pre}.attn.${name}.weight`);
      for (let r = 0; r < D; r++) for (let c = 0; c < D; c++) qkv[(j * D + c) * D + r] = w[r * D + c];
      qkvB.set(need(`${pre}.attn.${name}.bias`), j * D);
    });
    out[`${pre}.attn.qkv.weight`] = { shape: [3 * D, D], data: qkv };
    out[`${pre}.attn.qkv.bias`] = { shape: [3 * D], data: qkvB };
    linearW(`${pre}.attn.proj.weight`, D, D);
    copy(`${pre}.attn.proj.bias`, [D]);
    linearW(`${pre}.mlp.fc1.weight`, D, hidden);
    copy(`${pre}.mlp.fc1.bias`, [hidden]);
    linearW(`${pre}.mlp.fc2.weight`, hidden, D);
    copy(`${pre}.mlp.fc2.bias`, [D]);
  }
  copy("norm.weight", [D]);
  copy("norm.bias", [D]);
  return out;
}
