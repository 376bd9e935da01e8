/**
 * A teacher weights file checked before anything is trained with it: readable, a whole safetensors file,
 * every tensor a timm/MAE ViT teacher of the profile's model needs present in its shape and finite, and — for
 * a shipped teacher, whose card (`<stem>.json`, written by `deno task teacher`) records the file's SHA-256 —
 * the very bytes the card describes (a bit flip in `zoo/cpu_teacher.safetensors` is caught here, not trained
 * with).
 * @module
 */
import { createHash } from "node:crypto";
import { CorruptFileError } from "../lib/fsutil.ts";
import { readSafetensors } from "../lib/safetensors.ts";
import type { VitConfig } from "../lib/vit.ts";

/** The file is readable and whole but is not a teacher of the profile's model. Exit code 2. */
export class TeacherWeightsShapeError extends Error {
  // Reported like the runner's TeacherWeightsError (a wrong input: exit 2).
  override name = "TeacherWeightsError";
}

/** The timm/MAE tensors an encoder of `cfg` reads from a teacher file, with their shapes. */
export function expectedTeacherTensors(cfg: VitConfig): Map<string, number[]> {
  const D = cfg.dim, p = cfg.patchSize, H = Math.round(cfg.dim * cfg.mlpRatio);
  const out = new Map<string, number[]>([
    ["patch_embed.proj.weight", [D, 3, p, p]],
    ["patch_embed.proj.bias", [D]],
    ["cls_token", [1, 1, D]],
  ]);
  for (let b = 0; b < cfg.depth; b++) {
    const pre = `blocks.${b}`;
    for (const n of ["norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"]) out.set(`${pre}.${n}`, [D]);
    out.set(`${pre}.attn.qkv.weight`, [3 * D, D]);
    out.set(`${pre}.attn.qkv.bias`, [3 * D]);
    out.set(`${pre}.attn.proj.weight`, [D, D]);
    out.set(`${pre}.attn.proj.bias`, [D]);
    out.set(`${pre}.mlp.fc1.weight`, [H, D]);
    out.set(`${pre}.mlp.fc1.bias`, [H]);
    out.set(`${pre}.mlp.fc2.weight`, [D, H]);
    out.set(`${pre}.mlp.fc2.bias`, [D]);
  }
  return out;
}

/**
 * Checks the teacher file `path` for the model `cfg`, reading it whole (each time it is loaded: a file may be
 * replaced between two units of a table, and reading it costs little next to training with it). Throws
 * `CorruptFileError` (exit 1) for a damaged file — truncated, garbled, bytes other than its card's, a tensor
 * holding NaN or ±∞ — and {@linkcode TeacherWeightsShapeError} (exit 2) for a whole file of another model.
 * An unreadable file is a `PermissionDenied` naming it.
 */
export async function verifyTeacherWeights(path: string, cfg: VitConfig): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied) {
      throw new Deno.errors.PermissionDenied(
        `cannot read the teacher weights ${path} (check its permissions)`,
      );
    }
    throw e;
  }
  const sha = createHash("sha256").update(bytes).digest("hex");
  const card = await readCard(path);
  if (card && card.sha256 !== sha) {
    throw new CorruptFileError(
      path,
      `its SHA-256 is ${sha}, but its card ${card.path} records ${card.sha256}: the file is damaged or was ` +
        "replaced. Restore it (git checkout -- <file>, for a shipped teacher) or rebuild it with " +
        "`deno task teacher` (which rewrites the card too)",
    );
  }
  const { tensors } = readSafetensors(bytes, { path });
  const model = `${cfg.dim}-d × ${cfg.depth} blocks, mlp ×${cfg.mlpRatio}, ${cfg.patchSize}-px patches`;
  for (const [name, shape] of expectedTeacherTensors(cfg)) {
    const t = tensors[name];
    if (!t) {
      throw new TeacherWeightsShapeError(
        `teacher weights ${path} lack tensor '${name}': the profile's model (${model}) needs a timm/MAE ViT ` +
          "of that shape",
      );
    }
    if (t.shape.join() !== shape.join()) {
      throw new TeacherWeightsShapeError(
        `teacher weights ${path}: tensor '${name}' has shape [${t.shape.join(", ")}], but the profile's ` +
          `model (${model}) needs [${shape.join(", ")}]; pass a teacher of the profile's shape`,
      );
    }
    let bad = 0;
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i])) bad++;
    if (bad > 0) {
      throw new CorruptFileError(
        path,
        `tensor '${name}' holds ${bad} of ${t.data.length} values that are NaN or infinite: not a usable teacher`,
      );
    }
  }
}

/** The SHA-256 recorded by the card beside `path` (`<stem>.json` whose `file.name` is this file), if any. */
async function readCard(path: string): Promise<{ path: string; sha256: string } | null> {
  if (!path.endsWith(".safetensors")) return null;
  const cardPath = `${path.slice(0, -".safetensors".length)}.json`;
  let text: string;
  try {
    text = await Deno.readTextFile(cardPath);
  } catch {
    return null;
  }
  try {
    const file = (JSON.parse(text) as { file?: { name?: unknown; sha256?: unknown } }).file;
    const name = path.split("/").pop();
    if (file && file.name === name && typeof file.sha256 === "string") {
      return { path: cardPath, sha256: file.sha256 };
    }
  } catch {
    // Not a card (or a damaged one): the file is checked by its structure alone.
  }
  return null;
}
