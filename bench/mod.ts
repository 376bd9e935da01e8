/**
 * `deno task bench`: throughput of the engine on every available backend, as measured in one run.
 *
 * Steps: MAE pre-training (the reference config: ViT 192-d × 6 × 3 heads, patch 4, 32 px, decoder 128-d × 2,
 * mask 0.75, batch 128), GPA pre-training (per-step teacher; + MAM), a fine-tuning step, and the data pipeline
 * alone. Median of timed steps after warm-up; img/s; achieved GFLOP/s from the analytic cost model; peak RSS.
 * `--peer` adds the same MAE step in PyTorch (CPU) and the ratio ours / PyTorch.
 * @module
 */
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { type BackendName, type BlasMode, type NativeMode, selectBackend } from "../lib/backend.ts";
import { blasMatMulActive } from "../lib/blas.ts";
import { int, parseCommandArgs, str, UsageError, type Values } from "../lib/cli.ts";
import { maeCostConfig, trainingStepFlops } from "../lib/cost.ts";
import { type CropParams, randomResizedCropFlip } from "../lib/data/augment.ts";
import type { ImageSplit } from "../lib/data/types.ts";
import { generateSyntheticSplit } from "../lib/data/synthetic.ts";
import { GpaMapCache, gpaStrategy, Teacher } from "../lib/gpa.ts";
import { initMae, type MaeConfig } from "../lib/mae.ts";
import { MaskedAttentionModeling } from "../lib/mam.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import type { MaskStrategy } from "../lib/masking/types.ts";
import { Rng } from "../lib/rng.ts";
import { buildClassifier, classify, softCrossEntropy } from "../lib/train/finetune.ts";
import { AdamW } from "../lib/train/optim.ts";
import { PendingMetrics } from "../lib/train/loop.ts";
import { accumulateGradients, deferredReads } from "../lib/train/micro_batch.ts";
import { microBatchSize } from "../lib/ops.ts";
import { makePretrainStep } from "../lib/train/pretrain_step.ts";
import { gridOf, type Params } from "../lib/vit.ts";
import { gemmFlops, type GemmShape, type StepKernelProfile, stepKernelProfile, timeGemms } from "./gemm.ts";
import { countWebGpu, type WebGpuCounts } from "./webgpu_counts.ts";

/** The reference configuration of the benchmarks (and of the paper-free engine comparisons). */
export const BENCH_MODEL: MaeConfig = {
  imageSize: 32,
  patchSize: 4,
  dim: 192,
  depth: 6,
  heads: 3,
  mlpRatio: 4,
  decoderDim: 128,
  decoderDepth: 2,
  decoderHeads: 4,
  normPixLoss: true,
};

/** What runs the wasm backend's matrix products: native OpenBLAS through FFI, or tfjs-wasm's XNNPACK. */
export type MatmulEngine = "openblas" | "xnnpack";

/** One benchmark row. */
export interface BenchResult {
  step: string;
  backend: string;
  /** wasm rows: what ran the matrix products ("openblas" or "xnnpack"). */
  matmul?: MatmulEngine;
  /** wasm rows: whether LayerNorm, GELU, softmax's backward and AdamW ran as fused native kernels. */
  fused?: boolean;
  batch: number;
  /** Threads the step's compute used (OpenBLAS threads for "openblas" rows; 1 otherwise). */
  threads: number;
  msPerStep: number;
  imgPerSec: number;
  gflopPerSec?: number;
  steps: number;
  peakRssMiB: number;
  /** Step time relative to the MAE step at the same batch (GPA variants). */
  stepTimeRatioToMae?: number;
  note?: string;
  /** `mae-gemms` rows: the MAE step's matrix products, timed alone (see bench/gemm.ts). */
  gemms?: (GemmShape & { ms: number })[];
  /** `mae-gemms` rows: share of the profiled MAE step's kernel time spent in matrix products. */
  matmulShare?: number;
  /** `mae-gemms` rows: the profiled MAE step's kernel time by kernel, largest first (top 12). */
  kernels?: { name: string; calls: number; ms: number }[];
  /** `--counts`: WebGPU calls and tensor reads of one more step after the timed ones (bench/webgpu_counts.ts). */
  counts?: WebGpuCounts;
}

let peakRss = 0;
function sampleRss(): void {
  peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
}

async function timeSteps(warmup: number, steps: number, fn: (i: number) => Promise<void>): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await fn(warmup + i);
    times.push(performance.now() - t0);
    sampleRss();
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

function randomImages(rng: Rng, n: number, size: number): Float32Array {
  const a = new Float32Array(n * size * size * 3);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return a;
}

function disposeParams(p: Params): void {
  for (const v of p.values()) v.dispose();
}

/** Benchmarks one pre-training variant ("mae", "gpa", "gpa-mam") on the active backend. */
async function benchPretrain(
  variant: "mae" | "gpa" | "gpa-cached" | "gpa-mam",
  cfg: MaeConfig,
  batch: number,
  warmup: number,
  steps: number,
  o: { profile?: boolean; counts?: boolean } = {},
): Promise<{ ms: number; note?: string; profile?: StepKernelProfile; counts?: WebGpuCounts }> {
  const rng = new Rng(1);
  const params = initMae(cfg, rng.fork("init"));
  let strategy: MaskStrategy = createMaskStrategy("random", { maskRatio: 0.75 });
  let teacher: Teacher | undefined;
  const extensions = [];
  let note: string | undefined;
  let split: ImageSplit | undefined;
  if (variant !== "mae") {
    const tp = initMae(cfg, rng.fork("teacher"));
    for (const [n, v] of tp) if (n.startsWith("decoder") || n === "mask_token") (v.dispose(), tp.delete(n));
    const block = Math.max(0, Math.round(0.75 * cfg.depth) - 1);
    teacher = new Teacher(tp, cfg, { block, head: -1 }, "paper");
    if (variant === "gpa-cached") {
      // One teacher pass per image before training (not timed), then crops of the cached maps per step.
      split = generateSyntheticSplit({
        perClass: Math.ceil(batch / 10),
        size: cfg.imageSize,
        numClasses: 10,
        seed: 5,
        split: "train",
      });
      const cache = await GpaMapCache.build(teacher, split);
      strategy = gpaStrategy(teacher, { maps: "cached", cache });
      note = `cached maps (block ${block})`;
    } else {
      strategy = gpaStrategy(teacher, {});
      note = `per-step teacher to block ${block}`;
    }
    if (variant === "gpa-mam") {
      const mam = new MaskedAttentionModeling();
      mam.initParams(params, cfg, rng.fork("mam"));
      extensions.push(mam);
    }
  }
  const optimizer = new AdamW(params, { weightDecay: 0.05, beta2: 0.95 });
  const step = makePretrainStep({ cfg, params, optimizer, strategy, extensions, lr: () => 1e-4 });
  const images = randomImages(rng, batch, cfg.imageSize);
  const grid = gridOf(cfg);
  const runStep = async (i: number) => {
    let views = { images, crops: undefined as CropParams[] | undefined };
    const ids = Int32Array.from({ length: batch }, (_, j) => j);
    if (split) {
      views = randomResizedCropFlip(split, ids, cfg.imageSize, rng.fork(`a${i}`), { scale: [0.2, 1] });
    }
    const metrics = await step({
      images: views.images,
      batch,
      progress: 0.5,
      epoch: 0,
      step: i,
      rng: rng.fork(`s${i}`),
      grid,
      sampleIds: ids,
      crops: views.crops,
    });
    // Deferred metrics (webgpu) are read at once: the time is the whole step's, GPU included. The training
    // loop reads them after queuing the next step instead.
    if (metrics instanceof PendingMetrics) await metrics.read();
  };
  const ms = await timeSteps(warmup, steps, runStep);
  // One more step, in the steady state the timed ones reached (pipelines compiled, buffer pool filled).
  const counts = o.counts ? await countWebGpu(() => runStep(warmup + steps)) : undefined;
  const kernels = o.profile ? await stepKernelProfile(() => runStep(warmup + steps + 1)) : undefined;
  optimizer.dispose();
  disposeParams(params);
  teacher?.dispose();
  return { ms, note, profile: kernels, counts };
}

async function benchFinetune(
  cfg: MaeConfig,
  batch: number,
  warmup: number,
  steps: number,
  withCounts = false,
): Promise<{ ms: number; counts?: WebGpuCounts }> {
  const rng = new Rng(2);
  const params = buildClassifier(cfg, 200, 0);
  const optimizer = new AdamW(params, { weightDecay: 0.05, beta2: 0.999 });
  const images = randomImages(rng, batch, cfg.imageSize);
  const targets = tf.oneHot(tf.tensor1d(Int32Array.from({ length: batch }, (_, i) => i % 200), "int32"), 200);
  const vars = [...params.values()];
  const byVar = new Map([...params].map(([n, v]) => [v.name, n]));
  const runStep = async (i: number) => {
    const px = cfg.imageSize * cfg.imageSize * 3;
    const sums = new Map<string, number>();
    // As lib/train/finetune.ts: on webgpu the loss is read once, after the update is queued.
    const deviceSums = deferredReads() ? new Map<string, tf.Scalar>() : undefined;
    const grads = await accumulateGradients(
      batch,
      microBatchSize(batch),
      vars,
      byVar,
      (s, e) => {
        const t = tf.slice(targets, [s, 0], [e - s, -1]) as tf.Tensor2D;
        return {
          f: () =>
            softCrossEntropy(
              classify(params, cfg, images.subarray(s * px, e * px), e - s, {
                rate: 0.1,
                rng: rng.fork(`d${i}`),
              }),
              t,
            ),
          dispose: () => t.dispose(),
        };
      },
      sums,
      deviceSums,
    );
    await optimizer.apply(grads, 1e-4);
    for (const g of grads.values()) g.dispose();
    if (deviceSums) await new PendingMetrics(Object.fromEntries(deviceSums)).read();
  };
  const ms = await timeSteps(warmup, steps, runStep);
  const counts = withCounts ? await countWebGpu(() => runStep(warmup + steps)) : undefined;
  targets.dispose();
  optimizer.dispose();
  disposeParams(params);
  return { ms, counts };
}

function benchData(batch: number, steps: number): number {
  const split = generateSyntheticSplit({ perClass: 200, size: 64, numClasses: 10, seed: 3, split: "train" });
  const rng = new Rng(4);
  const idx = Int32Array.from({ length: batch }, (_, i) => i);
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) randomResizedCropFlip(split, idx, 32, rng, { scale: [0.2, 1] });
  return (performance.now() - t0) / steps;
}

/** Runs the benchmark suite; returns rows (and prints nothing). */
export async function runBench(o: {
  backends: BackendName[];
  batch: number;
  steps: number;
  warmup: number;
  only?: string[];
  log: (l: string) => void;
  /** Model to bench (default: the reference config). */
  model?: MaeConfig;
  /** Largest batch of the GPA variants (default 64: tfjs-wasm's 4 GiB heap). */
  ratioBatch?: number;
  /** wasm's matMul engines to bench, each a pass of its own (default: the one `selectBackend` picks). */
  matmul?: MatmulEngine[];
  /** OpenBLAS threads for "openblas" passes (default 1). */
  blasThreads?: number;
  /** wasm's fused native kernels, "on" and/or "off", a pass each (default: what `selectBackend` picks). */
  native?: ("on" | "off")[];
  /** Count one more step's WebGPU calls and tensor reads (rows get `counts`). */
  counts?: boolean;
}): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const wants = (s: string) => !o.only || o.only.includes(s);
  const MODEL = o.model ?? BENCH_MODEL;
  const cost = maeCostConfig(MODEL, 0.75);
  type Pass = { backend: BackendName; blas?: BlasMode; native?: NativeMode };
  const passes = o.backends.flatMap((backend): Pass[] => {
    if (backend !== "wasm") return [{ backend }];
    const blasModes: (BlasMode | undefined)[] = o.matmul?.map((m) => m === "openblas" ? "on" : "off") ??
      [undefined];
    const nativeModes: (NativeMode | undefined)[] = o.native ?? [undefined];
    return blasModes.flatMap((blas) => nativeModes.map((native) => ({ backend, blas, native })));
  });
  for (const { backend, blas, native } of passes) {
    const choice = await selectBackend(backend, { blas, blasThreads: o.blasThreads, native });
    const matmul: MatmulEngine | undefined = choice.name !== "wasm"
      ? undefined
      : blasMatMulActive()
      ? "openblas"
      : "xnnpack";
    const threads = matmul === "openblas" ? o.blasThreads ?? 1 : 1;
    // The pure-JS backend is ~50× slower: a smaller batch and a single timed step keep it to seconds.
    const slow = choice.name === "cpu";
    const batch = slow ? Math.min(o.batch, 16) : o.batch;
    const steps = slow ? 1 : o.steps;
    const warmup = slow ? 1 : o.warmup;
    const row = (
      step: string,
      ms: number,
      flopsPerImage?: number,
      note?: string,
      b = batch,
    ): BenchResult => ({
      step,
      backend: choice.name,
      matmul,
      fused: choice.native,
      batch: b,
      threads,
      msPerStep: Math.round(ms * 10) / 10,
      imgPerSec: Math.round((b / (ms / 1000)) * 10) / 10,
      gflopPerSec: flopsPerImage ? Math.round((flopsPerImage * b) / (ms / 1000) / 1e7) / 100 : undefined,
      steps,
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      note,
    });
    // GPA variants hold a teacher pass and (with MAM) a second decoder: at batch 128 they exceed tfjs-wasm's 4 GiB
    // heap, so their ratios to MAE are measured at a batch of at most 64, MAE included.
    const ratioBatch = Math.min(batch, o.ratioBatch ?? 64);
    const teacherBlock = Math.max(0, Math.round(0.75 * MODEL.depth) - 1);
    const plan: Array<["mae" | "gpa" | "gpa-cached" | "gpa-mam", number]> = [["mae", batch]];
    if (ratioBatch !== batch) plan.push(["mae", ratioBatch]);
    plan.push(["gpa", ratioBatch], ["gpa-cached", ratioBatch], ["gpa-mam", ratioBatch]);
    let maeAtRatio = NaN;
    for (const [v, b] of plan) {
      if (!wants(`${v}-pretrain`) && !(v === "mae" && b === batch && wants("mae-gemms"))) continue;
      const engine = matmul ? ` (${matmul}${choice.native ? ", fused kernels" : ""})` : "";
      o.log(`bench: ${v} pre-training step on ${choice.name}${engine}, batch ${b}`);
      const wantGemms = v === "mae" && b === batch && wants("mae-gemms") && !slow;
      const { ms, note, profile, counts } = await benchPretrain(v, MODEL, b, warmup, steps, {
        profile: wantGemms,
        counts: o.counts,
      });
      // Cached maps: no teacher pass per step, so the step costs what MAE's does.
      const flops = trainingStepFlops(v === "gpa-cached" ? "mae" : v, cost, { teacherBlock }).total;
      const r = row(`${v}-pretrain`, ms, flops, note, b);
      if (v === "mae" && b === ratioBatch) maeAtRatio = ms;
      if (v !== "mae" && Number.isFinite(maeAtRatio)) {
        r.stepTimeRatioToMae = Math.round((ms / maeAtRatio) * 1000) / 1000;
      }
      if (counts) r.counts = counts;
      results.push(r);
      if (profile) {
        // The step's GEMMs alone: a floor for the step time on this backend's GEMM library.
        o.log(`bench: the MAE step's ${profile.gemms.length} GEMM shapes alone on ${choice.name}`);
        const g = await timeGemms(profile.gemms);
        results.push({
          ...row("mae-gemms", g.totalMs, undefined, "the MAE step's matrix products alone", b),
          gflopPerSec: Math.round(gemmFlops(profile.gemms) / (g.totalMs / 1000) / 1e7) / 100,
          gemms: g.rows,
          matmulShare: Math.round(profile.matmulShare * 1000) / 1000,
          kernels: profile.byKernel.slice(0, 12).map((k) => ({ ...k, ms: Math.round(k.ms * 10) / 10 })),
        });
      }
    }
    if (wants("finetune")) {
      o.log(`bench: fine-tuning step on ${choice.name}, batch ${batch}`);
      // Full-sequence forward + backward of the encoder: 3 × forward FLOPs.
      const L = gridOf(MODEL).count;
      const fwd = trainingStepFlops("mae", { ...cost, maskRatio: 1 / (2 * L) }).studentForward; // ≈ all patches kept
      const ft = await benchFinetune(MODEL, batch, warmup, steps, o.counts);
      const r = row("finetune", ft.ms, undefined, `≈${(fwd / 1e6).toFixed(0)} MFLOP fwd/img`);
      if (ft.counts) r.counts = ft.counts;
      results.push(r);
    }
    tf.disposeVariables();
  }
  if (wants("data")) {
    const ms = benchData(o.batch, 50);
    results.push({
      step: "data-pipeline",
      backend: "js",
      batch: o.batch,
      threads: 1,
      msPerStep: Math.round(ms * 100) / 100,
      imgPerSec: Math.round(o.batch / (ms / 1000)),
      steps: 50,
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      note: "RandomResizedCrop + flip, 64 px → 32 px",
    });
  }
  return results;
}

/** The steps `--only` can name. */
export const BENCH_STEPS = [
  "mae-pretrain",
  "gpa-pretrain",
  "gpa-cached-pretrain",
  "gpa-mam-pretrain",
  "mae-gemms",
  "finetune",
  "data",
  "checks",
];

const BENCH_OPTIONS = {
  backends: { type: "string" },
  batch: { type: "string" },
  steps: { type: "string" },
  warmup: { type: "string" },
  only: { type: "string" },
  peer: { type: "boolean" },
  scaling: { type: "boolean" },
  threads: { type: "string" },
  "peer-blas-threads": { type: "string" },
  matmul: { type: "string" },
  native: { type: "string" },
  counts: { type: "boolean" },
  unit: { type: "boolean" },
  "unit-row": { type: "string" },
  "unit-epochs": { type: "string" },
} as const;

/** CLI entry of `main.ts bench`. */
export async function runBenchCommand(
  args: string[],
  _o: { context?: (v: Values) => unknown } = {},
): Promise<void> {
  const { values } = parseCommandArgs("bench", args, BENCH_OPTIONS);
  if (values.unit) return await unitCommand(values, _o.context);
  for (const flag of ["unit-row", "unit-epochs"]) {
    if (values[flag] !== undefined) throw new UsageError(`bench: --${flag} applies only with --unit`);
  }
  const backends = (str(values, "backends", "wasm,cpu")!).split(",").map((s) => s.trim()) as BackendName[];
  for (const b of backends) {
    if (!["wasm", "cpu", "webgpu", "tensorflow"].includes(b)) {
      throw new UsageError(`--backends: unknown backend '${b}'`);
    }
  }
  const batch = int(values, "batch", 128, 1, 65536)!;
  const steps = int(values, "steps", 5, 1, 1000)!;
  const warmup = int(values, "warmup", 2, 0, 100)!;
  const only = str(values, "only")?.split(",").map((x) => x.trim());
  for (const o of only ?? []) {
    if (!BENCH_STEPS.includes(o)) {
      throw new UsageError(`--only: unknown step '${o}'; valid: ${BENCH_STEPS.join(", ")}`);
    }
  }
  const log = values.quiet ? () => {} : (l: string) => console.error(l);
  const matmulArg = str(values, "matmul");
  const matmul = matmulArg?.split(",").map((s) => s.trim()) as MatmulEngine[] | undefined;
  for (const m of matmul ?? []) {
    if (m !== "openblas" && m !== "xnnpack") {
      throw new UsageError(`--matmul: expected openblas and/or xnnpack, got '${m}'`);
    }
  }
  // One thread count for both sides: PyTorch's threads and OpenBLAS's threads under wasm.
  const threads = int(values, "threads", 1, 1, 256)!;
  // PyTorch's OpenBLAS threads. Default 1: its BLAS single-threaded under its parallel pool (`--threads`), its
  // fastest setting here — with two BLAS threads beside two pool threads its step took 1.6–3.7 s instead of
  // 0.9 s (oversubscription; bench/README.md).
  const peerBlasThreads = int(values, "peer-blas-threads", 1, 1, 256)!;
  const nativeArg = str(values, "native");
  const native = nativeArg?.split(",").map((s) => s.trim()) as ("on" | "off")[] | undefined;
  for (const n of native ?? []) {
    if (n !== "on" && n !== "off") throw new UsageError(`--native: expected on and/or off, got '${n}'`);
  }
  const results = await runBench({
    backends,
    batch,
    steps,
    warmup,
    only,
    log,
    matmul,
    blasThreads: threads,
    native,
    counts: Boolean(values.counts),
  });
  const out: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: {
      cpus: navigator.hardwareConcurrency,
      os: Deno.build.os,
      arch: Deno.build.arch,
      deno: Deno.version.deno,
    },
    model: BENCH_MODEL,
    results,
  };
  // With --native on,off: each step's speed with the fused kernels ÷ without, per matMul engine.
  const fusedSpeedup: Record<string, number> = {};
  for (const r of results) {
    if (r.backend !== "wasm" || !r.fused) continue;
    const base = results.find((x) =>
      x.backend === "wasm" && x.fused === false && x.step === r.step && x.batch === r.batch &&
      x.matmul === r.matmul
    );
    if (base) {
      fusedSpeedup[`${r.step}/${r.matmul}/${r.batch}`] = Math.round((r.imgPerSec / base.imgPerSec) * 1000) /
        1000;
    }
  }
  if (native?.length === 2 && Object.keys(fusedSpeedup).length) out.fusedSpeedup = fusedSpeedup;
  if (values.peer) {
    const { ensurePeer, fasterPeer, PEER_BLOCKS, runPeer } = await import("./peer.ts");
    const status = await ensurePeer({ install: true, log });
    if (!status.ready) {
      out.peer = { error: status.reason };
    } else {
      // Two implementations of the same step (the script's blocks and PyTorch's own TransformerEncoderLayer),
      // each reported; the ratio uses the faster, so a slow peer cannot flatter ours.
      const peers = [];
      for (const impl of PEER_BLOCKS) {
        log(`bench: PyTorch peer, ${impl} blocks`);
        peers.push(
          await runPeer({ impl, threads, blasThreads: peerBlasThreads, batch, steps: Math.max(steps, 5) }),
        );
      }
      const peer = fasterPeer(peers)!;
      out.peers = peers.map((p) => ({
        blocks: p.blocks ?? "blocks",
        msPerStep: p.msPerStep,
        stepMs: p.stepMs,
      }));
      out.peer = peer;
      const ratio = (x: number) => Math.round(x * 1000) / 1000;
      // Per wasm matMul engine: ours / PyTorch on the MAE step; the first wasm pass is the headline.
      const byMatmul: Record<string, Record<string, number>> = {};
      for (const r of results) {
        if (r.step !== "mae-pretrain" || r.backend !== "wasm" || r.batch !== batch || !peer.imgPerSec) {
          continue;
        }
        const key = engineKey(r, native?.length === 2);
        byMatmul[key] = { threads: r.threads, peerRatio: ratio(r.imgPerSec / peer.imgPerSec) };
        out.peerRatio ??= byMatmul[key].peerRatio;
      }
      const gemmRows = results.filter((r) =>
        r.step === "mae-gemms" && r.backend === "wasm" && r.batch === batch && r.gemms
      );
      const { runPeerGemm } = await import("./peer.ts");
      for (const g of gemmRows) {
        // The same GEMMs in PyTorch, and the bound they put on the ratio: even if everything but the matrix
        // products were free, our step could not be faster than its GEMMs alone. Each engine's own list: on
        // XNNPACK attention's products are depthwise convolutions, on OpenBLAS batched matMuls.
        const key = engineKey(g, native?.length === 2);
        log(`bench: the MAE step's GEMM shapes (${key} pass) in PyTorch`);
        const pg = await runPeerGemm(g.gemms!, { threads, blasThreads: peerBlasThreads });
        const peerGemmMs = pg.rows.reduce((s, r, i) => s + r.ms * g.gemms![i].count, 0);
        const peerGemm = { threads: pg.threads, msPerStep: Math.round(peerGemmMs * 10) / 10, rows: pg.rows };
        byMatmul[key] = {
          ...byMatmul[key],
          peerGemmMs: peerGemm.msPerStep,
          gemmRatio: ratio(peerGemmMs / g.msPerStep),
          gemmBoundRatio: ratio(peer.msPerStep / g.msPerStep),
        };
        out.peerGemm ??= peerGemm;
        out.gemmRatio ??= byMatmul[key].gemmRatio;
        out.gemmBoundRatio ??= byMatmul[key].gemmBoundRatio;
      }
      if (Object.keys(byMatmul).length) out.byMatmul = byMatmul;
    }
  }
  if (values.scaling) out.jobsScaling = await jobsScaling(batch, steps, warmup, log);
  // The wall-clock promises the test suite does not make (a test asserts behaviour, not the machine's speed).
  if (!only || only.includes("checks")) {
    const { runSpeedChecks } = await import("./speed_checks.ts");
    out.checks = await runSpeedChecks(log);
  }
  const failedChecks = ((out.checks ?? []) as import("./speed_checks.ts").SpeedCheck[]).filter((c) => !c.ok);
  if (values.json) {
    console.log(JSON.stringify(out, null, 2));
    if (failedChecks.length) throw new SpeedCheckError(failedChecks);
    return;
  }
  if (results.length) {
    console.log(
      "step               backend   matmul   fused threads batch  ms/step   img/s  GFLOP/s  peak RSS",
    );
  }
  for (const r of results) {
    console.log(
      `${r.step.padEnd(18)} ${r.backend.padEnd(9)} ${(r.matmul ?? "-").padEnd(8)} ${
        (r.fused === undefined ? "-" : r.fused ? "yes" : "no").padEnd(5)
      } ${String(r.threads).padStart(7)} ${String(r.batch).padStart(5)} ${
        r.msPerStep.toFixed(1).padStart(8)
      } ` +
        `${r.imgPerSec.toFixed(1).padStart(7)} ${
          (r.gflopPerSec?.toFixed(2) ?? "-").padStart(8)
        } ${r.peakRssMiB} MiB` +
        (r.stepTimeRatioToMae ? `  ×${r.stepTimeRatioToMae} MAE step` : "") + (r.note ? `  (${r.note})` : ""),
    );
  }
  for (const r of results) {
    if (r.counts) {
      console.log(
        `counts per step, ${r.step} on ${r.backend}, batch ${r.batch}: ${JSON.stringify(r.counts)}`,
      );
    }
  }
  if (out.jobsScaling) console.log(`--jobs 2 scaling: ${JSON.stringify(out.jobsScaling)}`);
  if (out.peer) {
    console.log(
      `peer: ${JSON.stringify(out.peer)}${
        out.peerRatio ? `; ours/PyTorch (the faster of ${JSON.stringify(out.peers)}) = ${out.peerRatio}` : ""
      }`,
    );
  }
  if (out.byMatmul) console.log(`by wasm matMul engine: ${JSON.stringify(out.byMatmul)}`);
  if (out.fusedSpeedup) console.log(`fused kernels, speed on ÷ off: ${JSON.stringify(out.fusedSpeedup)}`);
  if (out.gemmRatio !== undefined) {
    console.log(
      `GEMMs alone: ours/PyTorch speed ${out.gemmRatio}; bound on ours/PyTorch for the whole step with this ` +
        `GEMM library: ${out.gemmBoundRatio}`,
    );
  }
  if (out.checks) {
    const { describeCheck } = await import("./speed_checks.ts");
    for (const c of out.checks as import("./speed_checks.ts").SpeedCheck[]) console.log(describeCheck(c));
  }
  if (failedChecks.length) throw new SpeedCheckError(failedChecks);
}

/**
 * `bench --unit`: one Table 1 unit of the profile (`--profile`, default smoke), each stage cut to
 * `--unit-epochs` (default 1), timed by phase (bench/unit.ts); `--json` prints the raw result.
 */
async function unitCommand(values: Values, context?: (v: Values) => unknown): Promise<void> {
  if (!context) throw new UsageError("bench --unit runs through the CLI (main.ts bench --unit)");
  const epochs = int(values, "unit-epochs", 1, 1, 1000)!;
  const row = str(values, "unit-row", "mae")!;
  const ctx = await context(values) as import("../app/runner.ts").RunContext;
  const { runUnitBench, formatUnitBench } = await import("./unit.ts");
  let result;
  try {
    result = await runUnitBench({ ctx, row, epochs, seed: ctx.profile.seeds[0] ?? 0 });
  } catch (e) {
    if (e instanceof RangeError && e.message.startsWith("bench --unit:")) throw new UsageError(e.message);
    throw e;
  }
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: navigator.hardwareConcurrency, os: Deno.build.os, arch: Deno.build.arch },
    engine: ctx.backend,
    unit: result,
  };
  console.log(values.json ? JSON.stringify(out, null, 2) : formatUnitBench(result));
}

/** A speed check missed its limit (`bench` exits 1 after printing everything it measured). */
export class SpeedCheckError extends Error {
  override name = "SpeedCheckError";
  constructor(failed: { name: string }[]) {
    super(
      `speed check failed: ${failed.map((c) => c.name).join("; ")} (a loaded machine fails these; ` +
        "measure on an idle one)",
    );
  }
}

/**
 * Key of a wasm row in `byMatmul`: its matMul engine, and with `--native on,off` also "+fused" or "+unfused".
 */
function engineKey(r: BenchResult, bothNative: boolean): string {
  return `${r.matmul ?? "wasm"}${bothNative ? (r.fused ? "+fused" : "+unfused") : ""}`;
}

/**
 * Throughput of independent runs in parallel processes (what `--jobs` does): the MAE step on wasm in one
 * process alone, then in two processes at once; `speedup` = combined img/s of the two ÷ img/s of one.
 */
export async function jobsScaling(
  batch: number,
  steps: number,
  warmup: number,
  log: (l: string) => void,
): Promise<{ single: number; singleRuns: number[]; pair: number[]; speedup: number }> {
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const one = async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        main,
        "bench",
        "--backends",
        "wasm",
        "--only",
        "mae-pretrain",
        "--json",
        "-q",
        "--batch",
        String(batch),
        "--steps",
        String(steps),
        "--warmup",
        String(warmup),
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error("bench worker failed");
    const r = JSON.parse(new TextDecoder().decode(out.stdout)).results as BenchResult[];
    return r.find((x) => x.step === "mae-pretrain" && x.batch === batch)!.imgPerSec;
  };
  // One process before and after the pair: on a shared machine the background load drifts, and the mean of
  // the two brackets the pair in time.
  log("bench: --jobs scaling, one process");
  const before = await one();
  log("bench: --jobs scaling, two processes at once");
  const pair = await Promise.all([one(), one()]);
  log("bench: --jobs scaling, one process again");
  const after = await one();
  const single = Math.round(((before + after) / 2) * 10) / 10;
  return {
    single,
    singleRuns: [before, after],
    pair,
    speedup: Math.round(((pair[0] + pair[1]) / single) * 1000) / 1000,
  };
}
