/**
 * The training commands: pretrain, finetune, linprobe, segment, knn.
 * @module
 */
import {
  asUsage,
  decimal,
  floatOpen,
  int,
  oneOf,
  parseCommandArgs,
  pathOption,
  str,
  UsageError,
  type Values,
} from "../lib/cli.ts";
import { checkOutputPath, context, installSignalHandlers, print } from "./context.ts";
import {
  acceptResume,
  applyOverrides,
  PRETRAIN_OPTIONS,
  RECIPE_OPTIONS,
  STRATEGIES,
  strategyRequest,
} from "./flags.ts";
import type { RunContext } from "../app/runner.ts";
import type { LoadedEncoder } from "../app/encoders.ts";

export async function cmdPretrain(args: string[]) {
  const { values } = parseCommandArgs("pretrain", acceptResume(args), PRETRAIN_OPTIONS);
  oneOf(values, "strategy", STRATEGIES, "random"); // validate before any work
  const outputDir = await outputDirOption(values);
  const ctx = await context(values);
  applyOverrides(ctx, values);
  const req = strategyRequest(values, ctx);
  installSignalHandlers(ctx.stopSignal);
  const { ensurePretrain } = await import("../app/runner.ts");
  const { strategyChoice } = await import("../app/strategies.ts");
  const out = await ensurePretrain(ctx, await strategyChoice(ctx, req, ctx.profile.seeds[0]));
  if (outputDir) await copyRunTo(ctx, out.hash, outputDir, true);
  const summary = { hash: out.hash, cacheHit: out.cacheHit, metrics: out.metrics, history: out.history };
  print(
    values,
    summary,
    `pretrain ${out.hash}${out.cacheHit ? " (cache hit)" : ""}: loss ${out.metrics.loss}` +
      (outputDir ? `\nrun files and encoder.safetensors: ${outputDir}` : ""),
  );
}

/** `--output-dir DIR` (MAE's name), checked before any work: where the run's files are copied at the end. */
async function outputDirOption(values: Values): Promise<string | undefined> {
  const dir = pathOption(values, "output-dir");
  if (dir !== undefined) await checkOutputPath("output-dir", dir, "dir");
  return dir;
}

/**
 * Copies a finished run's files (config, metrics, logs, CSV, TensorBoard events, final weights) into `dir`;
 * a pre-training run's encoder also as `encoder.safetensors` in timm layout (what `export` writes).
 */
export async function copyRunTo(ctx: RunContext, hash: string, dir: string, encoder = false): Promise<void> {
  const { ensureDir, atomicWriteFile } = await import("../lib/fsutil.ts");
  const { runCache } = await import("../app/runner.ts");
  const run = runCache(ctx).runDir(hash);
  await ensureDir(dir);
  for await (const e of Deno.readDir(run.path)) {
    if (!e.isFile || e.name.startsWith(".") || e.name.startsWith("ckpt-") || e.name === "lock") continue;
    await atomicWriteFile(`${dir}/${e.name}`, await Deno.readFile(`${run.path}/${e.name}`));
  }
  if (encoder) {
    const { exportEncoder } = await import("../lib/export.ts");
    await exportEncoder(runCache(ctx), hash, `${dir}/encoder.safetensors`);
  }
}

/** Flags that describe how an encoder is pre-trained: meaningless once `--from HASH` or `--weights` names it. */
const PRETRAINING_FLAGS = [
  ...Object.keys(PRETRAIN_OPTIONS).filter((k) => !(k in RECIPE_OPTIONS)),
  "pretrain-epochs",
  "pretrain-seed",
  "model",
  "input-size",
  "patch-size",
];

/**
 * The encoder `--from HASH` (a finished pre-training run in the cache) or `--weights FILE` (timm/MAE
 * safetensors) names, loaded, its shape made the context's model; null for `--from pretrain|random`.
 */
export async function namedEncoder(
  values: Values,
  ctx: RunContext,
  opts: { knnEpochs?: boolean } = {},
): Promise<LoadedEncoder | null> {
  const from = str(values, "from");
  const weights = pathOption(values, "weights");
  if (weights !== undefined && from !== undefined) {
    throw new UsageError("--from and --weights both name the encoder: give one");
  }
  if (weights === undefined && (from === undefined || from === "pretrain" || from === "random")) return null;
  const given = weights !== undefined ? "--weights" : "--from HASH";
  for (const k of [...PRETRAINING_FLAGS, ...(opts.knnEpochs ? ["epochs"] : [])]) {
    if (values[k] !== undefined && values[k] !== false) {
      throw new UsageError(
        `--${k} describes how an encoder is pre-trained (or its shape); ${given} names the encoder itself`,
      );
    }
  }
  const { adoptModel, loadRunEncoder, loadWeightsEncoder } = await import("../app/encoders.ts");
  const enc = weights !== undefined
    ? await loadWeightsEncoder(weights, ctx.profile.model.imageSize)
    : await loadRunEncoder(ctx, from!);
  adoptModel(ctx, enc.model);
  ctx.log(`encoder: ${enc.origin}`);
  return enc;
}

export async function cmdDownstream(kind: "finetune" | "linprobe" | "segment", args: string[]) {
  const { values } = parseCommandArgs(kind, acceptResume(args), {
    ...PRETRAIN_OPTIONS,
    from: { type: "string" },
    weights: { type: "string" },
    "pretrain-seed": { type: "string" },
    ...(kind === "segment" ? { recipe: { type: "string" } } : {}),
  });
  oneOf(values, "strategy", STRATEGIES, "random");
  const recipe = kind === "segment" ? segmentRecipeOverrides(str(values, "recipe")) : undefined;
  const fromWord = str(values, "from", "pretrain")!;
  const from = fromWord === "random" ? "random" : "pretrain";
  const outputDir = await outputDirOption(values);
  const ctx = await context(values);
  if (kind === "segment" && values.epochs !== undefined) {
    throw new UsageError(
      "segment: its epochs go in --recipe epochs=N; --pretrain-epochs names the encoder's",
    );
  }
  if (kind === "segment" && ctx.dataPath !== undefined) {
    throw new UsageError(
      "segment trains on segmentation masks (the profile's: synthetic shapes, CamVid); an image folder has " +
        "none, so --data-path does not apply (finetune, linprobe and knn evaluate on it)",
    );
  }
  const named = await namedEncoder(values, ctx);
  applyOverrides(ctx, values, kind === "segment" ? "none" : kind);
  if (kind === "segment") {
    // The recipe is checked against sane ranges before the encoder is pre-trained.
    const { segmentationSpecFor } = await import("../experiments/segmentation.ts");
    asUsage(() => segmentationSpecFor(ctx.profile, { seed: 0, from: null, recipe }));
  }
  const req = strategyRequest(values, ctx);
  installSignalHandlers(ctx.stopSignal);
  const runner = await import("../app/runner.ts");
  const seed = ctx.profile.seeds[0];
  // The encoder's seed may differ from the downstream run's (several downstream seeds on one encoder).
  const pretrainSeed = int(values, "pretrain-seed", seed, 0, 2 ** 31 - 1)!;
  const pre = named ??
    (from === "random" ? null : await runner.ensurePretrain(
      ctx,
      await (await import("../app/strategies.ts")).strategyChoice(ctx, req, pretrainSeed),
    ));
  if (kind === "segment") {
    const { ensureSegment } = await import("../app/segment.ts");
    const seg = await ensureSegment(ctx, pre, seed, recipe);
    const miou = seg.miou; // percent
    const summary = {
      hash: seg.hash,
      from: pre?.hash ?? null,
      cacheHit: seg.cacheHit,
      miou,
      metrics: seg.metrics,
    };
    print(
      values,
      summary,
      `segment ${seg.hash}${seg.cacheHit ? " (cache hit)" : ""}: mIoU ${miou.toFixed(2)}%`,
    );
    return;
  }
  const out = kind === "finetune"
    ? await runner.ensureFinetune(ctx, pre, seed)
    : await runner.ensureLinprobe(ctx, pre, seed);
  if (outputDir) await copyRunTo(ctx, out.hash, outputDir);
  const summary = {
    hash: out.hash,
    from: pre?.hash ?? null,
    cacheHit: out.cacheHit,
    top1: out.top1,
    metrics: out.metrics,
  };
  print(
    values,
    summary,
    `${kind} ${out.hash}${out.cacheHit ? " (cache hit)" : ""}: top-1 ${out.top1.toFixed(2)}%` +
      (outputDir ? `\nrun files: ${outputDir}` : ""),
  );
}

/** Numeric fields of the segmentation recipe a user may override with `--recipe key=value,...`. */
export const SEGMENT_RECIPE_KEYS = [
  "epochs",
  "lr",
  "minLr",
  "warmupEpochs",
  "batchSize",
  "weightDecay",
  "layerDecay",
  "dropPath",
  "channels",
  "polyPower",
] as const;

/** `--recipe lr=5e-4,epochs=16` → a partial segmentation recipe (part of the run's identity). */
export function segmentRecipeOverrides(spec: string | undefined): Record<string, number> | undefined {
  if (spec === undefined) return undefined;
  if (spec.trim() === "") {
    throw new UsageError(
      `--recipe must not be empty: give key=value pairs (keys ${SEGMENT_RECIPE_KEYS.join(", ")})`,
    );
  }
  const out: Record<string, number> = {};
  for (const part of spec.split(",").filter((p) => p.trim() !== "")) {
    const m = /^\s*([A-Za-z]+)\s*=\s*([^=]+?)\s*$/.exec(part);
    const key = m?.[1] as (typeof SEGMENT_RECIPE_KEYS)[number] | undefined;
    const value = m ? decimal(m[2]) : NaN;
    if (!key || !SEGMENT_RECIPE_KEYS.includes(key) || !Number.isFinite(value) || value < 0) {
      throw new UsageError(
        `--recipe takes key=value pairs with non-negative numbers, keys ${SEGMENT_RECIPE_KEYS.join(", ")}; ` +
          `got '${part}'`,
      );
    }
    if (["epochs", "batchSize", "channels"].includes(key) && !(Number.isInteger(value) && value >= 1)) {
      throw new UsageError(`--recipe ${key} must be a positive integer; got '${m![2]}'`);
    }
    out[key] = value;
  }
  return out;
}

/** `knn`: k-NN accuracy of a pre-trained (or random) encoder's frozen features (DINO's weighted vote). */
export async function cmdKnn(args: string[]) {
  const { values } = parseCommandArgs("knn", acceptResume(args), {
    ...PRETRAIN_OPTIONS,
    from: { type: "string" },
    weights: { type: "string" },
    "pretrain-seed": { type: "string" },
    k: { type: "string" },
    temperature: { type: "string" },
    pooling: { type: "string" },
  });
  oneOf(values, "strategy", STRATEGIES, "random");
  const from = str(values, "from", "pretrain") === "random" ? "random" : "pretrain";
  const pooling = oneOf(values, "pooling", ["cls", "mean"] as const, "cls");
  const k = int(values, "k", 20, 1, 10000)!;
  const temperature = floatOpen(values, "temperature", 0.07, 0, 100)!;
  if (values["output-dir"] !== undefined) {
    throw new UsageError(
      "knn makes no run (its result is recomputed on every call): --output-dir does not apply",
    );
  }
  const ctx = await context(values);
  const named = await namedEncoder(values, ctx, { knnEpochs: true });
  applyOverrides(ctx, values, "none");
  const req = strategyRequest(values, ctx);
  installSignalHandlers(ctx.stopSignal);
  const runner = await import("../app/runner.ts");
  const seed = ctx.profile.seeds[0];
  const pretrainSeed = int(values, "pretrain-seed", seed, 0, 2 ** 31 - 1)!;
  const pre = named ??
    (from === "random" ? null : await runner.ensurePretrain(
      ctx,
      await (await import("../app/strategies.ts")).strategyChoice(ctx, req, pretrainSeed),
    ));
  const { train, val } = await runner.profileData(ctx);
  // A random init is the encoder every random-init evaluation starts from (fine-tuning, the tables' floor).
  const { buildClassifier } = await import("../lib/train/finetune.ts");
  const params = pre?.params ?? buildClassifier(ctx.profile.model, train.numClasses, seed);
  const { knnEvaluate } = await import("../lib/eval/knn.ts");
  const r = await knnEvaluate(params, ctx.profile.model, train, val, { pooling, k, temperature });
  const summary = { from: pre?.hash ?? "random init", pooling, k, temperature, top1: r.top1, top5: r.top5 };
  print(
    values,
    summary,
    `k-NN (${pooling}, k ${k}, T ${temperature}) of ${summary.from}: top-1 ${r.top1.toFixed(2)}%, top-5 ${
      r.top5.toFixed(2)
    }%`,
  );
}
