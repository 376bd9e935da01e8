/**
 * Any encoder into any evaluation: the encoder of a cached pre-training run (`--from HASH`) or of a timm/MAE
 * safetensors file (`--weights FILE`, e.g. written by `export` or converted from an MAE checkpoint), with the
 * model's shape read from the run's record or the file — not from the profile. The context's model then
 * becomes that shape (and its data is resized to the model's input), so the evaluation that follows, and its
 * run identity, describe the encoder actually evaluated. A file is identified by its content (SHA-256).
 * @module
 */
import { UsageError } from "../lib/cli.ts";
import { isEncoderParam } from "../lib/encode.ts";
import { sha256File } from "../lib/fsutil.ts";
import { convertTimmVit, encoderFromNamed } from "../lib/encoder_weights.ts";
import { readSafetensorsFile } from "../lib/safetensors.ts";
import type { NamedTensors } from "../lib/safetensors.ts";
import { inferTimmVitConfig, UnknownShapeError } from "../lib/timm.ts";
import type { Params, VitConfig } from "../lib/vit.ts";
import { runCache, type RunContext } from "./runner.ts";

/** An encoder ready to evaluate: the identity its runs name (`from`), its weights and its shape. */
export interface LoadedEncoder {
  /** A run hash, or `sha256:<hex>` of a weights file. */
  hash: string;
  params: Params;
  model: VitConfig;
  /** One line saying where the encoder and its shape came from. */
  origin: string;
}

/** The encoder shape fields of a model. */
const ENCODER_FIELDS = ["imageSize", "patchSize", "dim", "depth", "heads", "mlpRatio"] as const;

/**
 * Makes `model` the context's model (the profile's decoder fields stay) and resizes the profile's data to its
 * input. Returns whether anything changed.
 */
export function adoptModel(ctx: RunContext, model: VitConfig): boolean {
  const p = ctx.profile;
  const changed = ENCODER_FIELDS.some((k) => p.model[k] !== model[k]);
  for (const k of ENCODER_FIELDS) p.model[k] = model[k];
  p.dataset.resolution = model.imageSize;
  return changed;
}

/** The encoder of finished pre-training run `hash` in the context's cache, with the run's recorded model. */
export async function loadRunEncoder(ctx: RunContext, hash: string): Promise<LoadedEncoder> {
  if (!/^[0-9a-f]{16}$/.test(hash)) {
    throw new UsageError(`--from takes pretrain, random or a run hash (16 hex digits), got '${hash}'`);
  }
  const cache = runCache(ctx);
  const run = cache.runDir(hash);
  const config = (await run.readConfig()) as { kind?: string; model?: VitConfig; from?: string } | null;
  const final = config ? await run.loadFinal() : null;
  if (!config || !final) {
    throw new UsageError(
      `--from ${hash}: no finished run with that hash in ${cache.runsDir} ('main.ts runs' lists them)`,
    );
  }
  if (config.kind !== "pretrain" || !config.model) {
    throw new UsageError(
      `--from ${hash}: a ${config.kind ?? "unknown"} run; give a pre-training run` +
        (config.from ? ` (this one started from ${config.from})` : ""),
    );
  }
  const model = pickModel(config.model);
  const named: NamedTensors = {};
  for (const [n, t] of Object.entries(final.tensors)) if (isEncoderParam(n)) named[n] = t;
  return {
    hash,
    params: encoderFromNamed(named, model),
    model,
    origin: `encoder of run ${hash} (${describeModel(model)}, from the run's record)`,
  };
}

/**
 * The encoder of a timm/MAE safetensors file, its shape from the file's metadata or tensor shapes
 * (`inferTimmVitConfig`); `fallbackImageSize` where the file records no input size.
 */
export async function loadWeightsEncoder(path: string, fallbackImageSize: number): Promise<LoadedEncoder> {
  const st = await Deno.stat(path).catch(() => null);
  if (!st?.isFile) throw new UsageError(`--weights ${path}: no such file`);
  const { tensors, metadata } = await readSafetensorsFile(path);
  let model: VitConfig;
  let from: string;
  try {
    ({ model, from } = inferTimmVitConfig(tensors, metadata, fallbackImageSize));
  } catch (e) {
    if (e instanceof UnknownShapeError) throw new UsageError(`--weights ${path}: ${e.message}`);
    throw e;
  }
  let params: Params;
  try {
    params = encoderFromNamed(convertTimmVit(tensors, model), model);
  } catch (e) {
    throw new UsageError(`--weights ${path}: ${e instanceof Error ? e.message : e}`);
  }
  return {
    hash: `sha256:${await sha256File(path)}`,
    params,
    model,
    origin: `encoder of ${path} (${describeModel(model)}, from the file's ${from})`,
  };
}

/** The model of a `--weights` file, read without building it (for teacher commands that load it themselves). */
export async function weightsModel(path: string, fallbackImageSize: number): Promise<VitConfig> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  try {
    return inferTimmVitConfig(tensors, metadata, fallbackImageSize).model;
  } catch (e) {
    if (e instanceof UnknownShapeError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

function pickModel(m: VitConfig): VitConfig {
  return Object.fromEntries(ENCODER_FIELDS.map((k) => [k, m[k]])) as unknown as VitConfig;
}

/** "ViT 32-d × 2 blocks × 2 heads, 16 px / 4-px patches". */
export function describeModel(m: VitConfig): string {
  return `ViT ${m.dim}-d × ${m.depth} blocks × ${m.heads} heads, ${m.imageSize} px / ${m.patchSize}-px patches`;
}
