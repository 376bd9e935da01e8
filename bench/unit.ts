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
import { maeCostConfig, trainingStepFlops } from "../lib/cost.ts";
import { gridOf } from "../lib/vit.ts";
import { timeGemms } from "./gemm.ts";

/** One timed phase of a unit. */
export interface UnitPhase {
  phase: "data" | "pretrain" | "pretrain-eval" | "finetune" | "finetune-eval";
  /** Wall seconds measured in this run (at `epochs`). */
  seconds: number;
  /** Images the phase processed (training: epochs × train images; evaluation: the images it read). */
  images: number;
  imgPerSec: number | null;
  /** Achieved GFLOP/s from the cost model's FLOPs per image (null where the model has none: data). */
  gflopPerSec: number | null;
  /** gflopPerSec ÷ the GEMM peak measured in this run. */
  shareOfPeak: number | null;
  /** Seconds at the profile's own epochs (training phases scale with epochs, evaluations with their count). */
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
  phases: UnitPhase[];
  /** Σ measured phases and the wall time of the whole measured unit (the rest: setup, checkpoints). */
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
  const cost = maeCostConfig(full.model, full.pretrain.maskRatio);
  // The GEMM peak of this engine, one large product: what "share of peak" is a share of.
  const n = 1024;
  const g = await timeGemms([{ m: n, n, k: n, batch: 1, count: 1 }]);
  const gemmPeakGflops = (2 * n * n * n) / (g.totalMs / 1000) / 1e9;

  const t0 = performance.now();
  // Data: the dataset as a unit's process gets it (decoded from the cache, or built once when missing).
  const td = performance.now();
  const { train, val } = await profileData(ctx);
  const dataSeconds = (performance.now() - td) / 1000;

  const runsDir = o.runsDir ?? await Deno.makeTempDir({ prefix: "gpa-unit-bench-" });
  try {
    // A fresh cache for the runs whose datasets folder is the given cache's: no hits, no rebuild.
    await Deno.mkdir(runsDir, { recursive: true });
    await Deno.symlink(`${ctx.cacheDir}/datasets`, `${runsDir}/datasets`).catch(() => {});
    const short: RunContext = { ...ctx, cacheDir: runsDir, profile: shortenedProfile(full, epochs) };
    const choice = await strategyChoice(short, row.request, seed);
    const pre = await ensurePretrain(short, choice);
    const ft = await ensureFinetune(short, pre, seed);
    const wallSeconds = (performance.now() - t0) / 1000;

    const preTrain = sum(pre.history.map((h) => h.seconds ?? 0));
    const preWall = Number(pre.metrics.wallSeconds ?? preTrain);
    const ftTrain = sum(ft.history.map((h) => h.seconds ?? 0));
    const ftWall = Number(ft.metrics.wallSeconds ?? ftTrain);
    const ftEvals = ft.history.filter((h) => Number.isFinite(h.top1)).length || 1;
    const preEpochs = short.profile.pretrain.epochs, ftEpochs = short.profile.finetune.epochs;
    const evalEvery = full.evalEvery;
    const fullFtEvals = Math.ceil(full.finetune.epochs / evalEvery);

    const pretrainFlops =
      trainingStepFlops(row.request.mam ? "gpa-mam" : row.request.name === "gpa" ? "gpa" : "mae", cost, {
        teacherBlock: Math.max(0, Math.round(0.75 * full.model.depth) - 1),
      }).total;
    // Full sequence: forward ≈ the MAE student's with (almost) every patch kept; training ≈ 3 × forward.
    const L = gridOf(full.model).count;
    const forward = trainingStepFlops("mae", { ...cost, maskRatio: 1 / (2 * L) }).studentForward;
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
        shareOfPeak: gf === null ? null : round(gf / gemmPeakGflops, 3),
        projectedSeconds: round(projectedSeconds),
      };
    };
    const phases = [
      phase("data", dataSeconds, train.count + val.count, null, dataSeconds),
      phase(
        "pretrain",
        preTrain,
        preEpochs * train.count,
        pretrainFlops,
        (preTrain / preEpochs) * full.pretrain.epochs,
      ),
      // After pre-training: the k-NN read of the encoder (train and val encoded once), its setup and saving.
      phase(
        "pretrain-eval",
        Math.max(0, preWall - preTrain),
        train.count + val.count,
        forward,
        preWall - preTrain,
      ),
      phase(
        "finetune",
        ftTrain,
        ftEpochs * train.count,
        3 * forward,
        (ftTrain / ftEpochs) * full.finetune.epochs,
      ),
      phase(
        "finetune-eval",
        Math.max(0, ftWall - ftTrain),
        ftEvals * val.count,
        forward,
        (Math.max(0, ftWall - ftTrain) / ftEvals) * fullFtEvals,
      ),
    ];
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
      phases,
      measuredSeconds: round(sum(phases.map((p) => p.seconds))),
      wallSeconds: round(wallSeconds),
      projectedUnitSeconds: round(projectedUnitSeconds),
      projectedShare: Object.fromEntries(
        phases.map((p) => [p.phase, round(p.projectedSeconds / projectedUnitSeconds, 3)]),
      ),
    };
  } finally {
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
