/**
 * Export of this project's ViT encoder in timm / official-MAE layout, the inverse of `convertTimmVit`
 * (lib/encoder_weights.ts): `[out, in]` Linear weights, fused `attn.qkv`, the patch embedding as a conv kernel
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

/** A file's encoder shape could not be told (a tensor missing, or the head count unknown). */
export class UnknownShapeError extends Error {
  override name = "UnknownShapeError";
}

/**
 * The ViT shape of timm/MAE encoder tensors: from the file's metadata where it records it (`config` with a
 * `model`, as `export` writes), else from the tensor shapes — width and patch side from
 * `patch_embed.proj.weight` `[D, 3, p, p]`, depth from the `blocks.N` present, MLP ratio from `mlp.fc1`, image
 * side from `pos_embed` `[1, 1 + L, D]`; the head count, which no shape holds, as timm's ViTs have it: 64
 * channels per head (ViT-Ti 3, ViT-S 6, ViT-B 12). `imageSize` of a file without `pos_embed` or metadata is
 * `fallbackImageSize`.
 */
export function inferTimmVitConfig(
  tensors: NamedTensors,
  metadata: Record<string, string> = {},
  fallbackImageSize?: number,
): { model: VitConfig; from: "metadata" | "shapes" } {
  const pe = tensors["patch_embed.proj.weight"];
  if (!pe || pe.shape.length !== 4 || pe.shape[1] !== 3 || pe.shape[2] !== pe.shape[3]) {
    throw new UnknownShapeError(
      "no timm/MAE ViT encoder: 'patch_embed.proj.weight' [D, 3, p, p] is missing or has another shape",
    );
  }
  const [dim, , patch] = pe.shape;
  let depth = 0;
  while (tensors[`blocks.${depth}.attn.qkv.weight`]) depth++;
  if (depth === 0) throw new UnknownShapeError("no timm/MAE ViT encoder: no 'blocks.0.attn.qkv.weight'");
  const fc1 = tensors["blocks.0.mlp.fc1.weight"];
  if (!fc1) throw new UnknownShapeError("no timm/MAE ViT encoder: no 'blocks.0.mlp.fc1.weight'");
  const mlpRatio = fc1.shape[0] / dim;
  let recorded: Partial<VitConfig> | undefined;
  try {
    recorded = metadata.config
      ? (JSON.parse(metadata.config) as { model?: Partial<VitConfig> }).model
      : undefined;
  } catch {
    recorded = undefined;
  }
  const pos = tensors["pos_embed"];
  const tokens = pos?.shape.length === 3 ? pos.shape[1] - 1 : undefined;
  const side = tokens !== undefined ? Math.round(Math.sqrt(tokens)) : undefined;
  const imageSize = recorded?.imageSize ??
    (side !== undefined && side * side === tokens ? side * patch : fallbackImageSize);
  if (imageSize === undefined) {
    throw new UnknownShapeError(
      "the image size is unknown: the file has neither 'pos_embed' nor a recorded model",
    );
  }
  const heads = recorded?.heads ?? (dim % 64 === 0 ? dim / 64 : undefined);
  if (heads === undefined || dim % heads !== 0) {
    throw new UnknownShapeError(
      `the head count of a ${dim}-wide ViT is unknown: the file records no model and ${dim} is not a ` +
        "multiple of timm's 64 channels per head",
    );
  }
  const model = { imageSize, patchSize: patch, dim, depth, heads, mlpRatio };
  const same = recorded !== undefined &&
    (["patchSize", "dim", "depth", "mlpRatio"] as const).every((k) => recorded![k] === model[k]);
  if (recorded !== undefined && !same) {
    throw new UnknownShapeError(
      `the file's recorded model ${JSON.stringify(recorded)} does not match its tensors ${
        JSON.stringify(model)
      }`,
    );
  }
  return { model, from: recorded?.heads !== undefined ? "metadata" : "shapes" };
}
