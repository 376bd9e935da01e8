/**
 * Shipped teachers (`zoo/`): a profile's GPA teacher is its MAE baseline trained far longer than a table run.
 * `buildTeacher` trains (or resumes, or reads from the cache) that run, exports its encoder in timm layout to
 * `zoo/<profile>_teacher.safetensors`, and measures it — k-NN, the selected head's recall against object
 * boxes on held-out images next to random patches and a centre prior — into a JSON card, with its figures
 * among the profile's report figures.
 * @module
 */
import { atomicWriteFile, atomicWriteJson, ensureDir } from "../lib/fsutil.ts";
import { type ExportedEncoder, exportEncoder } from "../lib/export.ts";
import { gpaRecall, type GpaRecallResult } from "./figures.ts";
import { linePlotPng } from "../lib/plot/mod.ts";
import { ensurePretrain, runCache, type RunContext } from "./runner.ts";
import { ensureTeacher } from "./teacher.ts";

/** The card written next to a shipped teacher. */
export interface TeacherCard {
  profile: string;
  /** The pre-training run the weights come from (its hash and identity). */
  run: string;
  identity: Record<string, unknown>;
  epochs: number;
  file: Omit<ExportedEncoder, "path"> & { name: string };
  /** Per-epoch pre-training loss and online-probe top-1. */
  loss: number[];
  probeTop1: number[];
  knnTop1: number | null;
  wallSeconds: number | null;
  engine: unknown;
  recall: Omit<GpaRecallResult, "png" | "matrix"> & { matrix: number[][] };
  command: string;
}

/**
 * Trains/reads the profile's teacher run (seed `teacherSeed`, `teacherEpochs`), exports it to `outFile`, and
 * writes `<stem>.json` (the card) beside it; `recallImages` held-out images measure it. The figures — the loss
 * curve (`teacher_loss.png`) and the recall heat map with its JSON (`gpa_recall.png`/`.json`, as `gpa-recall`
 * writes them) — go to `figuresDir`, the profile's report figures.
 */
export async function buildTeacher(
  ctx: RunContext,
  outFile: string,
  recallImages: number,
  figuresDir: string,
): Promise<TeacherCard> {
  const t = ctx.profile.gpa.teacher;
  const epochs = t.teacherEpochs ?? ctx.profile.pretrain.epochs;
  const choice = { seed: t.teacherSeed, strategy: { name: "random" }, epochs };
  const run = await ensurePretrain(ctx, choice);
  for (const v of run.params.values()) v.dispose();
  const dir = outFile.replace(/\/[^/]*$/, "") || ".";
  await ensureDir(dir);
  // The old card records the old file's SHA-256: it goes first (a new one is written below), or the new
  // file would fail the teacher check against it.
  await Deno.remove(`${outFile.replace(/\.safetensors$/, "")}.json`).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  const exported = await exportEncoder(runCache(ctx), run.hash, outFile);
  const teacher = await ensureTeacher(ctx, { ...t, weightsPath: outFile, weightsHint: undefined });
  const { png, ...recall } = await gpaRecall(ctx, teacher, recallImages);
  teacher.dispose();
  const stem = outFile.replace(/\.safetensors$/, "");
  const loss = run.history.map((r) => Number(r.loss));
  const probeTop1 = run.history.map((r) => Number(r.probeTop1 ?? NaN));
  await ensureDir(figuresDir);
  await atomicWriteFile(
    `${figuresDir}/teacher_loss.png`,
    await linePlotPng({
      title: `${ctx.profile.name} teacher: MAE pre-training loss (${epochs} epochs)`,
      xLabel: "epoch",
      yLabel: "loss (norm-pix MSE)",
      series: [{ name: "loss", x: loss.map((_, i) => i + 1), y: loss }],
    }),
  );
  await atomicWriteFile(`${figuresDir}/gpa_recall.png`, png);
  await atomicWriteJson(`${figuresDir}/gpa_recall.json`, recall);
  const { path: _path, ...file } = exported;
  const card: TeacherCard = {
    profile: ctx.profile.name,
    run: run.hash,
    identity: (await runCache(ctx).runDir(run.hash).readConfig()) as Record<string, unknown>,
    epochs,
    file: { ...file, name: outFile.split("/").pop()! },
    loss,
    probeTop1,
    knnTop1: typeof run.metrics.knnTop1 === "number" ? run.metrics.knnTop1 : null,
    wallSeconds: typeof run.metrics.wallSeconds === "number" ? run.metrics.wallSeconds : null,
    engine: run.metrics.engine,
    recall,
    command: `deno task teacher --profile ${ctx.profile.name}`,
  };
  await atomicWriteJson(`${stem}.json`, card);
  return card;
}
