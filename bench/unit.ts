/**
 * `deno task bench --unit`: where a table unit's time goes. One row × seed of Table 1 on a profile (data →
 * pre-training → fine-tuning → evaluation) runs through the same code a table runs (the run cache included),
 * with each stage's epochs cut to `--unit-epochs` (default 1); each phase is timed, given its GFLOP/s from the
 * analytic cost model and its share of a GEMM peak measured in the same process, and the whole unit at the
 * profile's epochs is projected from the per-epoch times. The runs go to a fresh cache of their own (the
 * dataset is read from the given cache), so nothing is a cache hit and nothing the tables use is touched.
 * @module
 */
import type { Profile } from "../experiments/profiles.ts";
import { table1 } from "../experiments/tables/table1.ts";
import { ensureFinetune, ensurePretrain, profileData, type RunContext } from "../app/runner.ts";
import { strategyChoice } from "../app/strategies.ts";
import { resolve } from "node:path";
import { encoderForwardFlops, linearFlops, maeCostConfig, trainingStepFlops } from "../lib/cost.ts";
import { gridOf } from "../lib/vit.ts";
import { timeGemms } from "./gemm.ts";

/** One timed phase of a unit. */
export interface UnitPhase {
  phase: "data" | "setup" | "pretrain" | "pretrain-probe" | "pretrain-knn" | "finetune" | "finetune-eval";
  /** Wall seconds measured in this run (at `epochs`). */
  seconds: number;
  /** Images the phase processed (training: the images its steps took; evaluation: the images it read). */
  images: number;
  imgPerSec: number | null;
  /** Achieved GFLOP/s from the cost model's FLOPs per image (null where the model has none: data, setup). */
  gflopPerSec: number | null;
  /** gflopPerSec ÷ the GEMM peak measured in this run. */
  shareOfPeak: number | null;
  /** Seconds at the profile's own epochs (per-epoch phases scale with epochs; once-per-run phases do not). */
  projectedSeconds: number;
}

/** What `bench --unit` measures. */
export interface UnitBench {
  profile: string;
  row: string;
  seed: number;
  /** Epochs each stage ran here; the profile's are in `profileEpochs`. */
  epochs: number;
  profileEpochs: { pretrain: number; finetune: number };
  trainImages: number;
  valImages: number;
  /** One thread's sgemm GFLOP/s at 1024³ (this engine's matMul), the peak the shares are of. */
  gemmPeakGflops: number;
  /** FLOPs per image the GFLOP/s columns use, by phase (from lib/cost.ts). */
  flopsPerImage: Record<string, number>;
  phases: UnitPhase[];
  /** Σ measured phases and the wall time of the whole measured unit (the rest: checkpoints, logging). */
  measuredSeconds: number;
  wallSeconds: number;
  /** The unit at the profile's epochs: Σ projected phases. */
  projectedUnitSeconds: number;
  /** Share of the projected unit per phase. */
  projectedShare: Record<string, number>;
}

/** Options of {@link runUnitBench}. */
export interface UnitBenchOptions {
  /** The context of the profile (its cache holds or builds the dataset). */
  ctx: RunContext;
  /** Table 1's row (default "mae"). */
  row?: string;
  seed?: number;
  /** Epochs of each stage here (default 1). */
  epochs?: number;
  /** Where the unit's runs go (default: a fresh temporary folder, removed afterwards). */
  runsDir?: string;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The profile with each stage's epochs (and warm-up) cut to `epochs`. */
export function shortenedProfile(profile: Profile, epochs: number): Profile {
  const p = structuredClone(profile);
  p.pretrain.epochs = Math.min(p.pretrain.epochs, epochs);
  p.pretrain.warmupEpochs = Math.min(p.pretrain.warmupEpochs, p.pretrain.epochs);
  p.finetune.epochs = Math.min(p.finetune.epochs, epochs);
  p.finetune.warmupEpochs = Math.min(p.finetune.warmupEpochs, p.finetune.epochs);
  return p;
}

/** What one shortened unit measured, before it is turned into phases. */
export interface UnitMeasurements {
  dataSeconds: number;
  /** Strategy resolution: teacher loading, head selection (and training a teacher where one is missing). */
  setupSeconds: number;
  /** Per pre-training epoch: its training seconds and img/s (the loop's records). */
  pretrainEpochs: { seconds: number; imgPerSec: number }[];
  /** The pre-training loop's wall time (epochs + the online probe's evaluation after each). */
  pretrainLoopSeconds: number;
  /** ensurePretrain's wall time: the loop, then the k-NN read of the encoder and the checkpoint. */
  pretrainSeconds: number;
  finetuneEpochs: { seconds: number; imgPerSec: number; evaluated: boolean }[];
  /** The fine-tuning loop's wall time (epochs + the evaluations). */
  finetuneLoopSeconds: number;
  trainImages: number;
  valImages: number;
}

/** FLOPs per image of each computing phase (lib/cost.ts). */
export interface UnitFlops {
  /** One pre-training step per image (student, decoder, teacher and extensions; forward + backward). */
  pretrain: number;
  /** The encoder's forward on every patch: what evaluation reads (k-NN, probe, fine-tune evaluation). */
  encoderForward: number;
  /** Fine-tuning per image: 3 × the encoder forward (backward ≈ 2 × forward) + the classifier head. */
  finetune: number;
}

/**
 * The phases of a unit from what a shortened run measured: per-epoch phases (training, the online probe's
 * evaluation, fine-tuning's evaluations) scale to the profile's epochs; once-per-run phases (data, setup, the
 * k-NN read) do not.
 */
export function unitPhases(
  m: UnitMeasurements,
  flops: UnitFlops,
  full: { pretrainEpochs: number; finetuneEpochs: number },
  gemmPeakGflops: number,
): UnitPhase[] {
  const preE = m.pretrainEpochs.length || 1, ftE = m.finetuneEpochs.length || 1;
  const preTrain = sum(m.pretrainEpochs.map((e) => e.seconds));
  const preImages = Math.round(sum(m.pretrainEpochs.map((e) => e.seconds * e.imgPerSec)));
  const preProbe = Math.max(0, m.pretrainLoopSeconds - preTrain);
  const preKnn = Math.max(0, m.pretrainSeconds - m.pretrainLoopSeconds);
  const ftTrain = sum(m.finetuneEpochs.map((e) => e.seconds));
  const ftImages = Math.round(sum(m.finetuneEpochs.map((e) => e.seconds * e.imgPerSec)));
  const ftEval = Math.max(0, m.finetuneLoopSeconds - ftTrain);
  const evals = m.finetuneEpochs.filter((e) => e.evaluated).length;
  const phase = (
    name: UnitPhase["phase"],
    seconds: number,
    images: number,
    flopsPerImage: number | null,
    projectedSeconds: number,
  ): UnitPhase => {
    const ips = images > 0 && seconds > 0 ? images / seconds : null;
    const gf = ips !== null && flopsPerImage !== null ? (ips * flopsPerImage) / 1e9 : null;
    return {
      phase: name,
      seconds: round(seconds),
      images,
      imgPerSec: ips === null ? null : round(ips, 1),
      gflopPerSec: gf === null ? null : round(gf),
      shareOfPeak: gf === null || !(gemmPeakGflops > 0) ? null : round(gf / gemmPeakGflops, 3),
      projectedSeconds: round(projectedSeconds),
    };
  };
  return [
    phase("data", m.dataSeconds, m.trainImages + m.valImages, null, m.dataSeconds),
    phase("setup", m.setupSeconds, 0, null, m.setupSeconds),
    phase("pretrain", preTrain, preImages, flops.pretrain, (preTrain / preE) * full.pretrainEpochs),
    // The online probe's evaluation of val after every pre-training epoch.
    phase(
      "pretrain-probe",
      preProbe,
      preE * m.valImages,
      flops.encoderForward,
      (preProbe / preE) * full.pretrainEpochs,
    ),
    // Once per run: train and val encoded for the k-NN read (and the final checkpoint written).
    phase("pretrain-knn", preKnn, m.trainImages + m.valImages, flops.encoderForward, preKnn),
    phase("finetune", ftTrain, ftImages, flops.finetune, (ftTrain / ftE) * full.finetuneEpochs),
    // Fine-tuning evaluates val after every epoch (lib/train/finetune.ts passes no evalEvery).
    phase(
      "finetune-eval",
      ftEval,
      evals * m.valImages,
      flops.encoderForward,
      (ftEval / ftE) * full.finetuneEpochs,
    ),
  ];
}

/** Runs one shortened Table 1 unit and times its phases. */
export async function runUnitBench(o: UnitBenchOptions): Promise<UnitBench> {
  const { ctx } = o;
  const rowKey = o.row ?? "mae";
  const seed = o.seed ?? 0;
  const epochs = o.epochs ?? 1;
  const full = ctx.profile;
  const plan = table1.plan(full);
  const row = plan.rows.find((r) => r.key === rowKey);
  if (!row?.request) {
    throw new RangeError(
      `bench --unit: Table 1 has no pre-trained row '${rowKey}'; rows: ${
        plan.rows.filter((r) => r.request).map((r) => r.key).join(", ")
      }`,
    );
  }
  // The GEMM peak of this engine, one large product: what "share of peak" is a share of.
  const n = 1024;
  const g = await timeGemms([{ m: n, n, k: n, batch: 1, count: 1 }]);
  const gemmPeakGflops = (2 * n * n * n) / (g.totalMs / 1000) / 1e9;

  const runsDir = o.runsDir ?? await Deno.makeTempDir({ prefix: "gpa-unit-bench-" });
  // An interrupt removes the temporary runs too (the finally below does not run on a signal).
  const cleanup = () => {
    if (!o.runsDir) {
      try {
        Deno.removeSync(runsDir, { recursive: true });
      } catch { /* already gone */ }
    }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", cleanup);
  try {
    // A fresh cache for the runs whose datasets folder is the given cache's: no hits, no second dataset.
    await Deno.mkdir(runsDir, { recursive: true });
    await Deno.mkdir(`${resolve(ctx.cacheDir)}/datasets`, { recursive: true });
    await Deno.symlink(`${resolve(ctx.cacheDir)}/datasets`, `${runsDir}/datasets`).catch((e) => {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    });
    const short: RunContext = { ...ctx, cacheDir: runsDir, profile: shortenedProfile(full, epochs) };
    const t0 = performance.now();
    // Data: the dataset as a unit's process gets it (decoded from the cache, or built once when missing).
    let t = performance.now();
    const { train, val } = await profileData(short);
    const dataSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const choice = await strategyChoice(short, row.request, seed);
    const setupSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const pre = await ensurePretrain(short, choice);
    const pretrainSeconds = (performance.now() - t) / 1000;
    const ft = await ensureFinetune(short, pre, seed);
    const wallSeconds = (performance.now() - t0) / 1000;
    for (const v of pre.params.values()) v.dispose();

    const cost = maeCostConfig(full.model, full.pretrain.maskRatio);
    const teacherBlock = (choice.dependsOn?.teacher as { block?: number } | undefined)?.block;
    const pretrainFlops = trainingStepFlops(
      row.request.mam ? "gpa-mam" : choice.dependsOn?.teacher ? "gpa" : "mae",
      cost,
      teacherBlock === undefined ? {} : { teacherBlock },
    ).total;
    const L = gridOf(full.model).count;
    const encoderForward = encoderForwardFlops(cost, L);
    const flops: UnitFlops = {
      pretrain: pretrainFlops,
      encoderForward,
      finetune: 3 * (encoderForward + linearFlops(1, full.model.dim, train.numClasses)),
    };
    const records = (h: Record<string, number>[]) =>
      h.filter((r) => Number.isFinite(r.seconds)).map((r) => ({
        seconds: r.seconds,
        imgPerSec: r.imgPerSec,
        evaluated: Number.isFinite(r.top1),
      }));
    const phases = unitPhases(
      {
        dataSeconds,
        setupSeconds,
        pretrainEpochs: records(pre.history),
        pretrainLoopSeconds: Number(pre.metrics.wallSeconds),
        pretrainSeconds,
        finetuneEpochs: records(ft.history),
        finetuneLoopSeconds: Number(ft.metrics.wallSeconds),
        trainImages: train.count,
        valImages: val.count,
      },
      flops,
      { pretrainEpochs: full.pretrain.epochs, finetuneEpochs: full.finetune.epochs },
      gemmPeakGflops,
    );
    const projectedUnitSeconds = sum(phases.map((p) => p.projectedSeconds));
    return {
      profile: full.name,
      row: rowKey,
      seed,
      epochs,
      profileEpochs: { pretrain: full.pretrain.epochs, finetune: full.finetune.epochs },
      trainImages: train.count,
      valImages: val.count,
      gemmPeakGflops: round(gemmPeakGflops),
      flopsPerImage: Object.fromEntries(Object.entries(flops).map(([k, v]) => [k, Math.round(v)])),
      phases,
      measuredSeconds: round(sum(phases.map((p) => p.seconds))),
      wallSeconds: round(wallSeconds),
      projectedUnitSeconds: round(projectedUnitSeconds),
      projectedShare: Object.fromEntries(
        phases.map((p) => [p.phase, round(p.projectedSeconds / projectedUnitSeconds, 3)]),
      ),
    };
  } finally {
    Deno.removeSignalListener("SIGINT", cleanup);
    if (!o.runsDir) await Deno.remove(runsDir, { recursive: true }).catch(() => {});
  }
}

/** The table `bench --unit` prints. */
export function formatUnitBench(b: UnitBench): string {
  const lines = [
    `unit: Table 1 row ${b.row}, seed ${b.seed}, profile ${b.profile}, ${b.epochs} epoch(s) per stage here ` +
    `(profile: ${b.profileEpochs.pretrain} + ${b.profileEpochs.finetune}); ${b.trainImages} train / ` +
    `${b.valImages} val images; GEMM peak ${b.gemmPeakGflops} GFLOP/s`,
    "phase          seconds   img/s  GFLOP/s  of peak  projected s  share",
  ];
  for (const p of b.phases) {
    lines.push(
      `${p.phase.padEnd(14)} ${p.seconds.toFixed(1).padStart(7)} ${
        (p.imgPerSec?.toFixed(0) ?? "-").padStart(7)
      } ${(p.gflopPerSec?.toFixed(1) ?? "-").padStart(8)} ${
        (p.shareOfPeak === null ? "-" : `${(100 * p.shareOfPeak).toFixed(0)} %`).padStart(8)
      } ${p.projectedSeconds.toFixed(0).padStart(12)} ${
        (100 * b.projectedShare[p.phase]).toFixed(0).padStart(5)
      } %`,
    );
  }
  lines.push(
    `measured ${b.measuredSeconds.toFixed(1)} s of ${b.wallSeconds.toFixed(1)} s wall; the unit at the ` +
      `profile's epochs ≈ ${(b.projectedUnitSeconds / 60).toFixed(1)} min`,
  );
  return lines.join("\n");
}
