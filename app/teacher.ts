/**
 * The GPA teacher of a run: the profile's MAE baseline (pre-trained through the cache when needed) or a
 * weights file, checked before any training, with its head chosen by few-shot selection on annotated images
 * when the choice asks for it (memoised per process).
 * @module
 */
import { centerBatch } from "../lib/data/augment.ts";
import type { ImageSplit } from "../lib/data/types.ts";
import { isEncoderParam } from "../lib/encode.ts";
import { sha256File } from "../lib/fsutil.ts";
import { loadTimmTeacherWeights } from "../lib/encoder_weights.ts";
import { type HeadChoice, Teacher } from "../lib/gpa.ts";
import { groundTruthPatches, headLabel, recallMatrix } from "../lib/head_selection.ts";
import { Rng } from "../lib/rng.ts";
import type { Params } from "../lib/vit.ts";
import type { TeacherChoice } from "../experiments/strategy_request.ts";
import { ensurePretrain, profileData, type RunContext } from "./runner.ts";
import { verifyTeacherWeights } from "./teacher_weights.ts";

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
