/**
 * The training commands: pretrain, finetune, linprobe, segment, knn.
 * @module
 */
import { asUsage, decimal, floatOpen, int, oneOf, parseCommandArgs, str, UsageError } from "../lib/cli.ts";
import { context, installSignalHandlers, print } from "./context.ts";
import { applyOverrides, PRETRAIN_OPTIONS, STRATEGIES, strategyRequest } from "./flags.ts";

export async function cmdPretrain(args: string[]) {
  const { values } = parseCommandArgs("pretrain", args, PRETRAIN_OPTIONS);
  oneOf(values, "strategy", STRATEGIES, "random"); // validate before any work
  const ctx = await context(values);
  applyOverrides(ctx, values);
  const req = strategyRequest(values, ctx);
  installSignalHandlers(ctx.stopSignal);
  const { ensurePretrain, strategyChoice } = await import("../app/runner.ts");
  const out = await ensurePretrain(ctx, await strategyChoice(ctx, req, ctx.profile.seeds[0]));
  const summary = { hash: out.hash, cacheHit: out.cacheHit, metrics: out.metrics, history: out.history };
  print(
    values,
    summary,
    `pretrain ${out.hash}${out.cacheHit ? " (cache hit)" : ""}: loss ${out.metrics.loss}`,
  );
}

export async function cmdDownstream(kind: "finetune" | "linprobe" | "segment", args: string[]) {
  const { values } = parseCommandArgs(kind, args, {
    ...PRETRAIN_OPTIONS,
    from: { type: "string" },
    "pretrain-seed": { type: "string" },
    ...(kind === "segment" ? { recipe: { type: "string" } } : {}),
  });
  oneOf(values, "strategy", STRATEGIES, "random");
  const recipe = kind === "segment" ? segmentRecipeOverrides(str(values, "recipe")) : undefined;
  const from = oneOf(values, "from", ["pretrain", "random"] as const, "pretrain");
  const ctx = await context(values);
  if (kind === "segment" && values.epochs !== undefined) {
    throw new UsageError(
      "segment: its epochs go in --recipe epochs=N; --pretrain-epochs names the encoder's",
    );
  }
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
  const pre = from === "random"
    ? null
    : await runner.ensurePretrain(ctx, await runner.strategyChoice(ctx, req, pretrainSeed));
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
    `${kind} ${out.hash}${out.cacheHit ? " (cache hit)" : ""}: top-1 ${out.top1.toFixed(2)}%`,
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
  const { values } = parseCommandArgs("knn", args, {
    ...PRETRAIN_OPTIONS,
    from: { type: "string" },
    k: { type: "string" },
    temperature: { type: "string" },
    pooling: { type: "string" },
  });
  oneOf(values, "strategy", STRATEGIES, "random");
  const from = oneOf(values, "from", ["pretrain", "random"] as const, "pretrain");
  const pooling = oneOf(values, "pooling", ["cls", "mean"] as const, "cls");
  const k = int(values, "k", 20, 1, 10000)!;
  const temperature = floatOpen(values, "temperature", 0.07, 0, 100)!;
  const ctx = await context(values);
  applyOverrides(ctx, values, "none");
  const req = strategyRequest(values, ctx);
  installSignalHandlers(ctx.stopSignal);
  const runner = await import("../app/runner.ts");
  const seed = ctx.profile.seeds[0];
  const pre = from === "random"
    ? null
    : await runner.ensurePretrain(ctx, await runner.strategyChoice(ctx, req, seed));
  const { initMae } = await import("../lib/mae.ts");
  const { Rng } = await import("../lib/rng.ts");
  const params = pre?.params ?? initMae(ctx.profile.model, new Rng(seed).fork("init"));
  const { train, val } = await runner.profileData(ctx);
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
