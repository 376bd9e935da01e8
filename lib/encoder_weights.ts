/**
 * Encoder weights from files: this project's own named tensors (e.g. a cached pre-training run) and timm /
 * official MAE ViT checkpoints converted to this project's names and layout (the inverse of `lib/timm.ts`).
 * @module
 */
import type { NamedTensors } from "./safetensors.ts";
import { readSafetensorsFile } from "./safetensors.ts";
import { loadNamedInto } from "./named_tensors.ts";
import { initEncoder, type Params, type VitConfig } from "./vit.ts";
import { Rng } from "./rng.ts";

/** Encoder parameters of a model built from named tensors (our layout), e.g. a cached pre-training run. */
export function encoderFromNamed(named: NamedTensors, cfg: VitConfig): Params {
  const params: Params = new Map();
  initEncoder(params, cfg, new Rng(0));
  loadNamedInto(named, params);
  return params;
}

/**
 * Converts timm / official MAE ViT weights (`[out, in]` Linear weights, fused `qkv`, conv patch embedding
 * `[D, 3, p, p]`, `cls_token` `[1, 1, D]`) to this project's names and layout. `pos_embed` is dropped (MAE's is
 * the fixed sin-cos table this project computes itself).
 */
export function convertTimmVit(src: NamedTensors, cfg: VitConfig): NamedTensors {
  const out: NamedTensors = {};
  const D = cfg.dim;
  const need = (n: string) => {
    const t = src[n];
    if (!t) throw new Error(`weights file lacks tensor '${n}' (expected timm/MAE ViT names)`);
    return t;
  };
  const transpose2d = (
    t: { shape: number[]; data: Float32Array | Int32Array },
    rows: number,
    cols: number,
  ) => {
    // t is [rows, cols] → [cols, rows]
    const o = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) o[c * rows + r] = t.data[r * cols + c];
    return o;
  };
  const linearW = (name: string, outName: string) => {
    const t = need(name);
    const [o, i] = t.shape;
    out[outName] = { shape: [i, o], data: transpose2d(t, o, i) };
  };
  const copy = (name: string, outName = name, shape?: number[]) => {
    const t = need(name);
    out[outName] = { shape: shape ?? t.shape, data: Float32Array.from(t.data) };
  };
  // Patch embedding: [D, 3, p, p] → [p, p, 3, D] → [p·p·3, D] (patchify order: row, column, channel).
  const pe = need("patch_embed.proj.weight");
  const p = cfg.patchSize;
  if (pe.shape.join() !== [D, 3, p, p].join()) {
    throw new Error(`patch_embed.proj.weight has shape [${pe.shape}], expected [${[D, 3, p, p]}]`);
  }
  const pw = new Float32Array(p * p * 3 * D);
  for (let d = 0; d < D; d++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < p; y++) {
        for (let x = 0; x < p; x++) {
          pw[((y * p + x) * 3 + c) * D + d] = pe.data[((d * 3 + c) * p + y) * p + x];
        }
      }
    }
  }
  out["patch_embed.proj.weight"] = { shape: [p * p * 3, D], data: pw };
  copy("patch_embed.proj.bias");
  copy("cls_token", "cls_token", [1, D]);
  for (let b = 0; b < cfg.depth; b++) {
    const pre = `blocks.${b}`;
    for (const n of ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]) copy(`${pre}.${n}`);
    const qkv = need(`${pre}.attn.qkv.weight`); // [3D, D]
    const qkvB = need(`${pre}.attn.qkv.bias`); // [3D]
    ["q", "k", "v"].forEach((name, j) => {
      const rows = { shape: [D, D], data: qkv.data.subarray(j * D * D, (j + 1) * D * D) };
      out[`${pre}.attn.${name}.weight`] = { shape: [D, D], data: transpose2d(rows, D, D) };
      out[`${pre}.attn.${name}.bias`] = {
        shape: [D],
        data: Float32Array.from(qkvB.data.subarray(j * D, (j + 1) * D)),
      };
    });
    linearW(`${pre}.attn.proj.weight`, `${pre}.attn.proj.weight`);
    copy(`${pre}.attn.proj.bias`);
    linearW(`${pre}.mlp.fc1.weight`, `${pre}.mlp.fc1.weight`);
    copy(`${pre}.mlp.fc1.bias`);
    linearW(`${pre}.mlp.fc2.weight`, `${pre}.mlp.fc2.weight`);
    copy(`${pre}.mlp.fc2.bias`);
  }
  if (src["norm.weight"]) {
    copy("norm.weight");
    copy("norm.bias");
  } else {
    // Fine-tuned timm checkpoints with global pooling keep fc_norm instead; teachers never reach the final norm.
    out["norm.weight"] = { shape: [D], data: new Float32Array(D).fill(1) };
    out["norm.bias"] = { shape: [D], data: new Float32Array(D) };
  }
  return out;
}

/** Loads a teacher encoder from a safetensors file with timm/MAE parameter names. */
export async function loadTimmTeacherWeights(path: string, cfg: VitConfig): Promise<Params> {
  const { tensors } = await readSafetensorsFile(path);
  return encoderFromNamed(convertTimmVit(tensors, cfg), cfg);
}
