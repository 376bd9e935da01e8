/**
 * Composes runs from a profile: data loading (memoised), pre-training with a named strategy, fine-tuning and
 * linear probing on top, all through the run cache. The CLI and every table task go through here.
 * @module
 */
import { RunCache } from "../lib/cache/mod.ts";
import { UsageError } from "../lib/cli.ts";
import { datasetFingerprint, loadDataset } from "../lib/data/mod.ts";
import type { ImageSplit } from "../lib/data/types.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import type { MaskStrategy } from "../lib/masking/types.ts";
import { buildClassifier, finetune, finetuneIdentity, type FinetuneOutcome } from "../lib/train/finetune.ts";
import { linprobe, linprobeIdentity, type LinprobeOutcome } from "../lib/train/linprobe.ts";
import {
  knnOfEncoder,
  pretrain,
  type PretrainExtension,
  type PretrainOutcome,
  type PretrainSpec,
  type ProgressUnit,
  type RunEnv,
} from "../lib/train/pretrain.ts";
import type { Profile } from "../experiments/profiles.ts";
import { centerBatch } from "../lib/data/augment.ts";
import { isEncoderParam } from "../lib/encode.ts";
import { type HeadChoice, loadTimmTeacherWeights, Teacher } from "../lib/gpa.ts";
import { groundTruthPatches, headLabel, recallMatrix } from "../lib/head_selection.ts";
import { Rng } from "../lib/rng.ts";
import { sha256File } from "../lib/fsutil.ts";
import { verifyTeacherWeights } from "./teacher_weights.ts";
import type { Params } from "../lib/vit.ts";

/** Where and how runs execute. */
export interface RunContext {
  profile: Profile;
  cacheDir: string;
  dataDir?: string;
  /** The image folder given by `--data-path` (or `--data-dir` with that layout); the profile's dataset then. */
  dataPath?: string;
  backend: string;
  log: (line: string) => void;
  stopSignal: { stopped: boolean };
  progress?: boolean;
  /** Seconds between progress lines inside an epoch without a bar (default 10; 0: every step). */
  progressEvery?: number;
  /** Recipe fields the person set (`pretrain.batchSize`, …): never adapted to the data, only checked. */
  recipeSet?: Set<string>;
  /** Per stage, the lines that said how its recipe was adapted (recorded in the run's metrics). */
  recipeNotes?: Record<string, string[]>;
  /** Test-only: replaces the loss at a global step (NaN injection). */
  lossHook?: (globalStep: number, loss: number) => number;
}

const dataMemo = new Map<string, Promise<{ train: ImageSplit; val: ImageSplit }>>();

/** The profile's dataset (decoded once per process, cached on disk by the data layer). */
export function profileData(ctx: RunContext): Promise<{ train: ImageSplit; val: ImageSplit }> {
  const key = JSON.stringify([ctx.profile.dataset, ctx.cacheDir, ctx.dataDir]);
  let p = dataMemo.get(key);
  if (!p) {
    p = loadDataset(ctx.profile.dataset, {
      ...dataOptions(ctx),
      download: { enabled: Deno.env.get("GPA_OFFLINE") !== "1", mirror: Deno.env.get("GPA_DATASET_MIRROR") },
    });
    dataMemo.set(key, p);
    p.catch(() => dataMemo.delete(key));
  }
  return p;
}

function dataOptions(ctx: RunContext) {
  return { cacheDir: ctx.cacheDir, dataDir: ctx.dataDir, log: ctx.log };
}

/**
 * The fingerprint the profile's data will have, read from its source without decoding it (for `plan`);
 * undefined for generated data or when the source is not there yet.
 */
export function profileFingerprint(ctx: RunContext): Promise<string | undefined> {
  return datasetFingerprint(ctx.profile.dataset, dataOptions(ctx));
}

/** The run cache of a context. */
export function runCache(ctx: RunContext): RunCache {
  return new RunCache(ctx.cacheDir, { warn: (m) => ctx.log(`warning: ${m}`) });
}

/** What a pre-training run uses besides the profile. */
export interface PretrainChoice {
  seed: number;
  /** A built strategy, or a registry name with options. */
  strategy: MaskStrategy | { name: string; options?: Record<string, unknown> };
  extensions?: PretrainExtension[];
  dependsOn?: Record<string, unknown>;
  progressUnit?: ProgressUnit;
  /** Epochs instead of the profile's (e.g. a teacher trained longer than the runs it guides). */
  epochs?: number;
  /** The model gets UM-MAE's `vis_mask_token` (`MaeConfig.visMaskToken`) for a strategy's secondary mask. */
  visMaskToken?: boolean;
}

/** The spec of a pre-training run in a context. */
export function pretrainSpec(ctx: RunContext, choice: PretrainChoice, data?: string): PretrainSpec {
  const p = ctx.profile;
  const strategy = "generate" in choice.strategy
    ? choice.strategy
    : createMaskStrategy(choice.strategy.name, {
      maskRatio: p.pretrain.maskRatio,
      ...choice.strategy.options,
    });
  return {
    profile: p.name,
    dataset: p.dataset,
    // Only a run that asks gets the key, so every other run's model (and identity) is the profile's as is.
    model: choice.visMaskToken ? { ...p.model, visMaskToken: true } : p.model,
    recipe: choice.epochs === undefined ? p.pretrain : { ...p.pretrain, epochs: choice.epochs },
    seed: choice.seed,
    strategy,
    extensions: choice.extensions,
    dependsOn: choice.dependsOn,
    progressUnit: choice.progressUnit,
    ...(data ? { data } : {}),
  };
}

/**
 * A batch larger than the training set leaves no step to take. Asked for (`--batch-size`): a usage error,
 * reported before any run directory is made. A profile's default: adapted to the data — the largest power of
 * two with at least 4 steps per epoch —, said in one line and recorded with the run (`recipeNotes`).
 */
function fitBatch(ctx: RunContext, stage: "pretrain" | "finetune" | "linprobe", train: ImageSplit): void {
  const r = ctx.profile[stage];
  const label = { pretrain: "pre-training", finetune: "fine-tuning", linprobe: "linear-probing" }[stage];
  if (r.batchSize <= train.count) return;
  if (ctx.recipeSet?.has(`${stage}.batchSize`)) {
    throw new UsageError(
      `${label} batch size ${r.batchSize} exceeds the ${train.count} training images of ${train.name}`,
    );
  }
  const capped = 2 ** Math.floor(Math.log2(Math.max(1, train.count / 4)));
  const line = `${label} batch size ${r.batchSize} → ${capped}: ${train.name} has ${train.count} training ` +
    `images (${Math.floor(train.count / capped)} steps per epoch; --batch-size sets it)`;
  ctx.log(line);
  ((ctx.recipeNotes ??= {})[stage] ??= []).push(line);
  r.batchSize = capped;
}

/** The recipe notes of a stage, for its run's metrics. */
function notesOf(ctx: RunContext, stage: string): { notes?: string[] } {
  const n = ctx.recipeNotes?.[stage];
  return n && n.length > 0 ? { notes: [...n] } : {};
}

/** Pre-trains (or loads) a run. */
export async function ensurePretrain(ctx: RunContext, choice: PretrainChoice): Promise<PretrainOutcome> {
  const { train, val } = await profileData(ctx);
  fitBatch(ctx, "pretrain", train);
  return pretrain(pretrainSpec(ctx, choice, train.fingerprint), train, {
    knnData: { train, val },
    onlineProbe: true,
    cache: runCache(ctx),
    log: ctx.log,
    stopSignal: ctx.stopSignal,
    lossHook: ctx.lossHook,
    progress: ctx.progress,
    progressEvery: ctx.progressEvery,
    ...notesOf(ctx, "pretrain"),
  });
}

/** The run environment (cache, logging, interruption, test hooks) of a context. */
export function runEnv(ctx: RunContext, stage?: string): RunEnv {
  return {
    cache: runCache(ctx),
    log: ctx.log,
    stopSignal: ctx.stopSignal,
    lossHook: ctx.lossHook,
    progress: ctx.progress,
    progressEvery: ctx.progressEvery,
    ...(stage ? notesOf(ctx, stage) : {}),
  };
}

/** An encoder to evaluate: a pre-training outcome, or any weights with the identity their runs name. */
export type EncoderRef = { hash: string; params: Params };

/** The spec fields every downstream run of a context shares: profile, data, model, seed, encoder, data source. */
function downstreamSpecOf(
  ctx: RunContext,
  from: string | null,
  seed: number,
  fingerprint: string | undefined,
) {
  const p = ctx.profile;
  return {
    profile: p.name,
    dataset: p.dataset,
    model: p.model,
    seed,
    from,
    ...(fingerprint ? { data: fingerprint } : {}),
  };
}

async function downstreamSpec(ctx: RunContext, from: EncoderRef | null, seed: number) {
  const data = await profileData(ctx);
  return { spec: downstreamSpecOf(ctx, from?.hash ?? null, seed, data.train.fingerprint), data };
}

/**
 * The run identity of a unit's fine-tuning or linear probe of the pre-training run `from` (null: random
 * init), from the data's fingerprint alone — what `plan` checks without loading data or weights.
 */
export function evaluationIdentity(
  ctx: RunContext,
  evaluation: "finetune" | "linprobe",
  from: string | null,
  seed: number,
  fingerprint: string | undefined,
): Record<string, unknown> {
  const spec = downstreamSpecOf(ctx, from, seed, fingerprint);
  return evaluation === "finetune"
    ? finetuneIdentity({ ...spec, recipe: ctx.profile.finetune })
    : linprobeIdentity({ ...spec, recipe: ctx.profile.linprobe });
}

/** Fine-tunes the encoder of a pre-training outcome (or a random init when `from` is null). */
export async function ensureFinetune(
  ctx: RunContext,
  from: EncoderRef | null,
  seed: number,
): Promise<FinetuneOutcome> {
  const { spec, data } = await downstreamSpec(ctx, from, seed);
  fitBatch(ctx, "finetune", data.train);
  return finetune(
    { ...spec, recipe: ctx.profile.finetune },
    from?.params ?? null,
    data,
    runEnv(ctx, "finetune"),
  );
}

/** Linear-probes the encoder of a pre-training outcome (or a random init). */
export async function ensureLinprobe(
  ctx: RunContext,
  from: EncoderRef | null,
  seed: number,
): Promise<LinprobeOutcome> {
  const { spec, data } = await downstreamSpec(ctx, from, seed);
  fitBatch(ctx, "linprobe", data.train);
  return linprobe(
    { ...spec, recipe: ctx.profile.linprobe },
    from?.params ?? null,
    data,
    runEnv(ctx, "linprobe"),
  );
}

const randomKnnMemo = new Map<string, Promise<number>>();

/**
 * k-NN top-1 of a randomly initialised encoder at `seed` (the floor of a k-NN column; one forward pass over
 * the data, not cached on disk, memoised per process).
 */
export function randomInitKnn(ctx: RunContext, seed: number): Promise<number> {
  const key = JSON.stringify([ctx.profile.name, ctx.profile.model, ctx.cacheDir, ctx.dataDir, seed]);
  let p = randomKnnMemo.get(key);
  if (!p) {
    p = (async () => {
      const data = await profileData(ctx);
      const params = buildClassifier(ctx.profile.model, data.train.numClasses, seed);
      try {
        return (await knnOfEncoder(params, ctx.profile.model, data)).knnTop1;
      } finally {
        for (const v of params.values()) v.dispose();
      }
    })();
    randomKnnMemo.set(key, p);
    p.catch(() => randomKnnMemo.delete(key));
  }
  return p;
}

export type { StrategyRequest, TeacherChoice } from "../experiments/strategy_request.ts";
import type { TeacherChoice } from "../experiments/strategy_request.ts";

const selectedHeads = new Map<string, HeadChoice>();

/**
 * The teacher of a GPA run: the profile's MAE baseline (pre-trained through the cache if needed) or a weights
 * file; the head is resolved by few-shot selection when asked.
 */
export async function ensureTeacher(ctx: RunContext, choice: TeacherChoice): Promise<Teacher> {
  await checkTeacherWeights(choice);
  const cfg = ctx.profile.model;
  let params: Params;
  let source: Record<string, unknown>;
  if (choice.run) {
    const { loadRunEncoder } = await import("./encoders.ts");
    params = (await loadRunEncoder(ctx, choice.run)).params;
    source = { teacherRun: choice.run };
  } else if (choice.weightsPath) {
    await verifyTeacherWeights(choice.weightsPath, cfg); // damaged, another model's, or not its card's bytes
    params = await loadTimmTeacherWeights(choice.weightsPath, cfg);
    // The file's content, not its name or size, identifies the teacher (two files named alike must not share
    // runs).
    source = { weightsSha256: await sha256File(choice.weightsPath) };
  } else {
    const base = await ensurePretrain(ctx, {
      seed: choice.teacherSeed ?? 0,
      strategy: { name: "random" },
      epochs: choice.teacherEpochs,
    });
    params = new Map([...base.params].filter(([n]) => isEncoderParam(n)));
    for (const [n, v] of base.params) if (!isEncoderParam(n)) v.dispose();
    source = { teacherRun: base.hash };
  }
  const variant = choice.variant ?? "paper";
  let head: HeadChoice;
  if ("shots" in choice.head) {
    // One selection per teacher, profile and data in a process: a table's units (and `plan`) ask again.
    const key = JSON.stringify([source, choice.head.shots, variant, ctx.profile, ctx.cacheDir]);
    const known = selectedHeads.get(key);
    const { train } = await profileData(ctx);
    if (known) {
      head = known;
    } else if (!train.boxes && !train.segmentation) {
      // Data without boxes or masks (an image folder) gives nothing to select by: the last block, all heads.
      head = { block: cfg.depth - 1, head: -1 };
      ctx.log(
        `teacher head: ${train.name} has no boxes or masks for ${choice.head.shots}-shot selection; using ` +
          `the last block, all heads (b${head.block}h-1; --teacher-head sets one)`,
      );
      selectedHeads.set(key, head);
    } else {
      const probe = new Teacher(params, cfg, { block: 0, head: 0 }, variant, source);
      head = await selectTeacherHead(ctx, probe, choice.head.shots);
      selectedHeads.set(key, head);
    }
    source = {
      ...source,
      selectedBy: !train.boxes && !train.segmentation
        ? "no annotations: last block, all heads"
        : `${choice.head.shots}-shot`,
    };
  } else {
    head = choice.head;
  }
  return new Teacher(params, cfg, head, variant, source);
}

/** A teacher weights file that is required but not given, or given but not there. Exit code 2. */
export class TeacherWeightsError extends Error {
  override name = "TeacherWeightsError";
}

/**
 * Fails at once (before any training) when a teacher choice names a weights file that does not exist, or
 * needs one (`weightsHint`) and names none.
 */
export async function checkTeacherWeights(choice: TeacherChoice): Promise<void> {
  if (choice.weightsPath) {
    try {
      if ((await Deno.stat(choice.weightsPath)).isFile) return;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    throw new TeacherWeightsError(
      `teacher weights not found: ${choice.weightsPath}${
        choice.weightsHint ? `; ${choice.weightsHint}` : ""
      }`,
    );
  }
  if (choice.weightsHint) {
    throw new TeacherWeightsError(`this profile needs teacher weights: ${choice.weightsHint}`);
  }
}

/**
 * k-shot head selection on the profile's annotated train images: recall of each head's top-|mask| GPA
 * patches against the object boxes; argmax over blocks × heads (+ all-heads).
 */
export async function selectTeacherHead(
  ctx: RunContext,
  teacher: Teacher,
  shots: number,
): Promise<HeadChoice> {
  const { train } = await profileData(ctx);
  const cfg = ctx.profile.model;
  const { indices, gt } = annotatedSample(train, cfg, shots, 0);
  const images = centerBatch(train, indices, cfg.imageSize);
  const maps = new Map<number, Float32Array>();
  const { recall, best } = await recallMatrix({
    mapsForBlock: async (block: number) => {
      let m = maps.get(block);
      if (!m) maps.set(block, m = await teacher.allHeads(images, indices.length, block));
      return m;
    },
    blocks: cfg.depth,
    heads: cfg.heads,
    gt,
    numPatches: (cfg.imageSize / cfg.patchSize) ** 2,
    maskRatio: ctx.profile.pretrain.maskRatio,
  });
  ctx.log(`head selection (${shots}-shot): ${headLabel(best)} (recall ${maxOf(recall).toFixed(3)})`);
  return best;
}

function maxOf(a: Float32Array): number {
  let m = -Infinity;
  for (const v of a) m = Math.max(m, v);
  return m;
}

/** `k` annotated images (seeded choice) and their ground-truth patch sets `[k, L]` from boxes or masks. */
export function annotatedSample(
  split: ImageSplit,
  cfg: { imageSize: number; patchSize: number },
  k: number,
  seed: number,
): { indices: Int32Array; gt: Uint8Array } {
  if (!split.boxes && !split.segmentation) {
    throw new Error(`${split.name} has no boxes or masks for head selection`);
  }
  if (k > split.count) {
    throw new RangeError(`${k}-shot selection needs ${k} images; ${split.name} has ${split.count}`);
  }
  const indices = new Rng(seed).fork("shots").permutation(split.count).slice(0, k);
  const L = (cfg.imageSize / cfg.patchSize) ** 2;
  const gt = new Uint8Array(k * L);
  const sx = cfg.imageSize / split.width;
  const sy = cfg.imageSize / split.height;
  indices.forEach((idx, j) => {
    let patches: Uint8Array;
    if (split.boxes) {
      const b = split.boxes.subarray(idx * 4, idx * 4 + 4);
      patches = groundTruthPatches({
        box: [b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy],
        imageSize: cfg.imageSize,
        patchSize: cfg.patchSize,
      });
    } else {
      const seg = split.segmentation!.subarray(
        idx * split.width * split.height,
        (idx + 1) * split.width * split.height,
      );
      const m = new Uint8Array(cfg.imageSize * cfg.imageSize);
      for (let y = 0; y < cfg.imageSize; y++) {
        for (let x = 0; x < cfg.imageSize; x++) {
          const v = seg[Math.floor(y / sy) * split.width + Math.floor(x / sx)];
          m[y * cfg.imageSize + x] = v > 0 && v !== (split.ignoreLabel ?? 255) ? 1 : 0;
        }
      }
      patches = groundTruthPatches({ mask: m, imageSize: cfg.imageSize, patchSize: cfg.patchSize });
    }
    gt.set(patches, j * L);
  });
  return { indices, gt };
}

/** A feature the suite does not have (yet); reports say so instead of inventing numbers. */
export class NotImplementedError extends Error {
  override name = "NotImplementedError";
}
