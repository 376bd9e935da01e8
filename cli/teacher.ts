/**
 * The GPA teacher's commands: teacher (train and ship it), figures, gpa-recall.
 * @module
 */
import { int, oneOf, parseCommandArgs, pathOption, str, UsageError, type Values } from "../lib/cli.ts";
import type { RunContext } from "../app/runner.ts";
import {
  checkOutputPath,
  context,
  dirOption,
  installSignalHandlers,
  print,
  PROJECT_ROOT,
} from "./context.ts";
import { applyOverrides, teacherFlags, teacherHead } from "./flags.ts";

/** The flags that name a teacher encoder for figures, gpa-recall and gpa-maps. */
const TEACHER_SOURCE_OPTIONS = {
  "teacher-weights": { type: "string" },
  weights: { type: "string" },
  from: { type: "string" },
} as const;

/**
 * The teacher a figure command draws from, when its flags name one — `--teacher-weights F` or `--weights F`
 * (a timm/MAE safetensors file) or `--from HASH` (a cached pre-training run): its model, read from the file or
 * the run's record, becomes the context's (the data is resized to its input), so any ViT can be the teacher.
 * The profile's head stays where it fits the model; otherwise the last block, all heads. Returns whether a
 * teacher was named.
 */
export async function namedTeacher(values: Values, ctx: RunContext): Promise<boolean> {
  const file = pathOption(values, "weights") ?? pathOption(values, "teacher-weights");
  const from = str(values, "from");
  const given = ["weights", "teacher-weights", "from"].filter((k) => values[k] !== undefined);
  if (given.length > 1) {
    throw new UsageError(`${given.map((k) => `--${k}`).join(" and ")} each name the teacher: give one`);
  }
  if (file === undefined && from === undefined) return false;
  const { adoptModel, describeModel, loadRunEncoder, weightsModel } = await import("../app/encoders.ts");
  const teacher = ctx.profile.gpa.teacher;
  if (file !== undefined) {
    const st = await Deno.stat(file).catch(() => null);
    if (!st?.isFile) throw new UsageError(`teacher weights not found: ${file}`);
    adoptModel(ctx, await weightsModel(file, ctx.profile.model.imageSize));
    teacher.weightsPath = file;
  } else {
    const enc = await loadRunEncoder(ctx, from!);
    for (const v of enc.params.values()) v.dispose();
    adoptModel(ctx, enc.model);
    teacher.run = from;
    delete teacher.weightsPath;
  }
  delete teacher.weightsHint;
  const m = ctx.profile.model;
  ctx.log(`teacher: ${file ?? `run ${from}`} (${describeModel(m)})`);
  if ("block" in teacher.head && (teacher.head.block >= m.depth || teacher.head.head >= m.heads)) {
    ctx.log(
      `teacher head: the profile's b${teacher.head.block}h${teacher.head.head} is not in this model; using ` +
        `the last block, all heads (b${m.depth - 1}h-1; --teacher-head sets one)`,
    );
    teacher.head = { block: m.depth - 1, head: -1 };
  }
  return true;
}

/** `teacher`: trains (or resumes) the profile's teacher, ships it under zoo/ with its card. */
export async function cmdTeacher(args: string[]) {
  const { values } = parseCommandArgs("teacher", args, {
    out: { type: "string" },
    images: { type: "string" },
    "reports-dir": { type: "string" },
  });
  const ctx = await context(values);
  installSignalHandlers(ctx.stopSignal);
  const out = pathOption(values, "out", `${PROJECT_ROOT}/zoo/${ctx.profile.name}_teacher.safetensors`)!;
  const images = int(values, "images", 2500, 1, 100000)!;
  const reports = dirOption(values, "reports-dir") ?? `${PROJECT_ROOT}/reports`;
  // Where the results go is checked before the teacher is trained (hours on the cpu profile).
  await checkOutputPath("out", out, "file");
  await checkOutputPath("reports-dir", reports, "dir");
  const { buildTeacher } = await import("../app/zoo.ts");
  const card = await buildTeacher(ctx, out, images, `${reports}/${ctx.profile.name}/figures`);
  const lines = [
    `teacher of profile ${card.profile}: run ${card.run}, ${card.epochs} epochs -> ${out} (sha256 ${card.file.sha256})`,
    `k-NN top-1 ${card.knnTop1?.toFixed(2) ?? "—"} %; selected head ${card.recall.selectedHead}`,
    ...card.recall.shares.map((r) =>
      `top-${Math.round(r.share * 100)}%: recall ${r.recall.toFixed(3)} ± ${
        r.recallStdErr.toFixed(3)
      }, centre prior ` +
      `${r.centerRecall.toFixed(3)}, random ${r.randomRecall.toFixed(3)}: ${r.verdict}`
    ),
  ];
  print(values, card, lines.join("\n"));
}

/** `figures`: Figures 2, 4 and 5 of the paper from the profile's teacher. */
export async function cmdFigures(args: string[]) {
  const { values } = parseCommandArgs("figures", args, {
    "reports-dir": { type: "string" },
    ...TEACHER_SOURCE_OPTIONS,
  });
  const ctx = await context(values);
  if (ctx.dataPath !== undefined) {
    throw new UsageError(
      "figures draws Figures 2, 4 and 5 from the profile's annotated data (Figure 4 needs object boxes); " +
        "for your own images use: main.ts gpa-maps --images DIR --out DIR --weights F",
    );
  }
  await namedTeacher(values, ctx);
  installSignalHandlers(ctx.stopSignal);
  const reports = dirOption(values, "reports-dir") ?? `${PROJECT_ROOT}/reports`;
  await checkOutputPath("reports-dir", reports, "dir");
  const { renderFigures } = await import("../app/figures.ts");
  const out = await renderFigures(ctx, reports);
  if (ctx.stopSignal.stopped) {
    const e = new Error("stopped while rendering the figures; the files written are whole, rerun to finish");
    e.name = "InterruptedError";
    throw e;
  }
  print(values, out, Object.entries(out).map(([k, v]) => `${k}: ${v}`).join("\n"));
}

/** `gpa-recall`: how well the teacher's GPA finds objects on held-out annotated images (Figure 4's data). */
export async function cmdGpaRecall(args: string[]) {
  const { values } = parseCommandArgs("gpa-recall", args, {
    "teacher-head": { type: "string" },
    ...TEACHER_SOURCE_OPTIONS,
    "gpa-variant": { type: "string" },
    images: { type: "string" },
    out: { type: "string" },
    "teacher-epochs": { type: "string" },
    "mask-ratio": { type: "string" },
    "hpm-from": { type: "string" },
  });
  const ctx = await context(values);
  if (ctx.dataPath !== undefined) {
    throw new UsageError(
      "gpa-recall measures GPA against object boxes, which an image folder does not have; " +
        "for your own images use: main.ts gpa-maps --images DIR --out DIR --weights F",
    );
  }
  if (await namedTeacher(values, ctx)) {
    if (values["teacher-epochs"] !== undefined) {
      throw new UsageError(
        "--teacher-epochs chooses the profile's MAE teacher; the teacher named here is trained",
      );
    }
  }
  applyOverrides(ctx, values, "none"); // --mask-ratio: the top-k share
  installSignalHandlers(ctx.stopSignal);
  const choice = teacherFlags(values, ctx);
  const images = int(values, "images", 200, 1, 100000)!;
  const outDir = pathOption(values, "out", `${PROJECT_ROOT}/reports/${ctx.profile.name}/figures`)!;
  await checkOutputPath("out", outDir, "dir"); // before the teacher and the recall are computed
  const { ensureTeacher } = await import("../app/teacher.ts");
  const { gpaRecall } = await import("../app/figures.ts");
  const hpmFrom = values["hpm-from"] as string | undefined;
  const hpm = hpmFrom ? await (await import("../app/hpm_maps.ts")).loadHpmPredictor(ctx, hpmFrom) : undefined;
  const teacher = await ensureTeacher(ctx, choice);
  const { png, ...result } = await gpaRecall(ctx, teacher, images, { hpm });
  hpm?.dispose();
  const { atomicWriteFile, atomicWriteJson, ensureDir } = await import("../lib/fsutil.ts");
  await ensureDir(outDir);
  await atomicWriteFile(`${outDir}/gpa_recall.png`, png);
  await atomicWriteJson(`${outDir}/gpa_recall.json`, result);
  print(
    values,
    result,
    `teacher ${JSON.stringify(result.teacher)}\nselected head ${result.selectedHead}: recall ${
      result.recall.toFixed(3)
    } ` +
      `vs random ${result.randomRecall.toFixed(3)} (×${result.recallRatio.toFixed(2)}, ${
        result.zScore.toFixed(1)
      } standard errors above random) on ${result.images} held-out images\n` +
      `best held-out head ${result.bestHead}: recall ${result.bestRecall.toFixed(3)}\n` +
      (result.hpmLoss
        ? `HPM's predicted losses (run ${result.hpmLoss.run}): recall ${result.hpmLoss.recall.toFixed(3)}\n`
        : "") +
      result.shares.map((r) =>
        `top-${Math.round(r.share * 100)}% (k = ${r.k}): head ${r.recall.toFixed(3)} ± ${
          r.recallStdErr.toFixed(3)
        } vs centre prior ${r.centerRecall.toFixed(3)} ± ${r.centerStdErr.toFixed(3)} (random ${
          r.randomRecall.toFixed(3)
        }); head − centre ${r.minusCenter >= 0 ? "+" : ""}${r.minusCenter.toFixed(3)}, 95 % CI [${
          r.minusCenterCi[0].toFixed(3)
        }, ${r.minusCenterCi[1].toFixed(3)}]: ${r.verdict}\n`
      ).join("") +
      "mask sources (recall; position vs content: correlation with its mean map, top-k overlap with it):\n" +
      result.positionVsContent.map((m) =>
        `  k = ${m.k} ${m.source.padEnd(10)} recall ${m.recall.toFixed(3)}; correlation ${
          m.correlationWithMean.toFixed(3)
        }, top-k overlap ${m.topKOverlapWithMean.toFixed(3)} (chance ${m.chance.toFixed(3)})\n`
      ).join("") +
      `cached maps vs per-step maps (${result.cachedMapAgreement.views} views): Spearman ` +
      `${result.cachedMapAgreement.spearman.toFixed(3)}, top-k overlap ${
        result.cachedMapAgreement.topKOverlap.toFixed(3)
      }\n` +
      `heatmap: ${outDir}/gpa_recall.png`,
  );
}

/**
 * `gpa-maps`: per image of a folder, the image, the teacher's GPA map and its top-k mask (one PNG each), a
 * contact sheet and a JSON of the maps. The teacher: `--teacher-weights F` / `--weights F` / `--from HASH`,
 * any ViT (its shape from the file); the head: `--block B --head H` or `--teacher-head bBhH`, by default the
 * last block with all heads averaged.
 */
export async function cmdGpaMaps(args: string[]) {
  const { values } = parseCommandArgs("gpa-maps", args, {
    ...TEACHER_SOURCE_OPTIONS,
    images: { type: "string" },
    out: { type: "string" },
    block: { type: "string" },
    head: { type: "string" },
    "teacher-head": { type: "string" },
    "mask-ratio": { type: "string" },
    "gpa-variant": { type: "string" },
    limit: { type: "string" },
  });
  const imagesDir = pathOption(values, "images");
  if (imagesDir === undefined) throw new UsageError("gpa-maps: give --images DIR (a folder of images)");
  const outDir = pathOption(values, "out");
  if (outDir === undefined) throw new UsageError("gpa-maps: give --out DIR (where the PNGs go)");
  if (values["teacher-head"] !== undefined && (values.block !== undefined || values.head !== undefined)) {
    throw new UsageError("--teacher-head and --block/--head choose the same head: give one form");
  }
  const variant = oneOf(values, "gpa-variant", ["paper", "official"] as const, "paper");
  const limit = int(values, "limit", 64, 1, 10000)!;
  await checkOutputPath("out", outDir, "dir");
  const ctx = await context(values);
  if (!(await namedTeacher(values, ctx))) {
    throw new UsageError(
      "gpa-maps: name the teacher with --teacher-weights F (or --weights F: a timm/MAE ViT safetensors file, " +
        "e.g. from 'export') or --from HASH (a cached pre-training run)",
    );
  }
  applyOverrides(ctx, values, "none"); // --mask-ratio
  const m = ctx.profile.model;
  const block = int(values, "block", m.depth - 1, 0, m.depth - 1)!;
  const headIndex = int(values, "head", -1, -1, m.heads - 1)!;
  const head = teacherHead(values, m.depth, m.heads) ?? { block, head: headIndex };
  if ("shots" in head) {
    throw new UsageError(
      "gpa-maps draws one head: give b<block>h<head> (h-1: all heads), not k-shot selection",
    );
  }
  installSignalHandlers(ctx.stopSignal);
  const { listImages, renderGpaMaps } = await import("../app/gpa_maps.ts");
  const files = await listImages(imagesDir);
  if (files.length > limit) {
    ctx.log(`gpa-maps: the first ${limit} of ${files.length} images (--limit sets it)`);
  }
  const { ensureTeacher } = await import("../app/teacher.ts");
  const teacher = await ensureTeacher(ctx, { ...ctx.profile.gpa.teacher, head, variant });
  const r = await renderGpaMaps(
    teacher,
    imagesDir,
    files.slice(0, limit),
    outDir,
    ctx.profile.pretrain.maskRatio,
    ctx.log,
  );
  teacher.dispose();
  const { images: _, ...brief } = r;
  print(
    values,
    { ...brief, images: r.images.map((i) => ({ file: i.file, png: i.png, topK: i.topK })) },
    `GPA of ${r.head} (${JSON.stringify(r.teacher)}) on ${r.images.length} image(s), top-${
      Math.round(r.maskRatio * 100)
    }% = ${r.k} of ${r.patches} patches:\n` +
      r.images.map((i) => `  ${i.png}`).join("\n") +
      `\ncontact sheet: ${r.contactSheet}\nmaps: ${r.json}`,
  );
}
