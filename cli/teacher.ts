/**
 * The GPA teacher's commands: teacher (train and ship it), figures, gpa-recall.
 * @module
 */
import { int, parseCommandArgs, pathOption } from "../lib/cli.ts";
import {
  checkOutputPath,
  context,
  dirOption,
  installSignalHandlers,
  print,
  PROJECT_ROOT,
} from "./context.ts";
import { applyOverrides, teacherFlags } from "./flags.ts";

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
    "teacher-weights": { type: "string" },
  });
  const ctx = await context(values);
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
    "teacher-weights": { type: "string" },
    "gpa-variant": { type: "string" },
    images: { type: "string" },
    out: { type: "string" },
    "teacher-epochs": { type: "string" },
    "mask-ratio": { type: "string" },
  });
  const ctx = await context(values);
  applyOverrides(ctx, values, "none"); // --mask-ratio: the top-k share
  installSignalHandlers(ctx.stopSignal);
  const choice = teacherFlags(values, ctx);
  const images = int(values, "images", 200, 1, 100000)!;
  const outDir = pathOption(values, "out", `${PROJECT_ROOT}/reports/${ctx.profile.name}/figures`)!;
  await checkOutputPath("out", outDir, "dir"); // before the teacher and the recall are computed
  const { ensureTeacher } = await import("../app/runner.ts");
  const { gpaRecall } = await import("../app/figures.ts");
  const teacher = await ensureTeacher(ctx, choice);
  const { png, ...result } = await gpaRecall(ctx, teacher, images);
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
