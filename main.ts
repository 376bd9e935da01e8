/**
 * gpa-repro command line: `deno run -A main.ts <command> [options]`.
 * @module
 */
import { BACKEND_NAMES, BackendError, type BackendName, engineLabel, selectBackend } from "./lib/backend.ts";
import {
  floatIn,
  floatOpen,
  GLOBAL_OPTIONS,
  int,
  oneOf,
  parseCommandArgs,
  shard,
  str,
  UsageError,
  type Values,
} from "./lib/cli.ts";
import { getProfile, PROFILES, UnknownProfileError } from "./experiments/profiles.ts";
import { VIT_PRESETS } from "./lib/vit.ts";
import type { RunContext } from "./app/runner.ts";

const HELP =
  `gpa-repro — reproduces "Global Patch-wise Attention is Masterful Facilitator for Masked Image Modeling"

usage: deno run -A main.ts <command> [options]

commands:
  pretrain     pre-train one MAE run: --strategy ${
    ["random", "block", "uniform", "gpa", "cls-attention", "hpm"].join("|")
  },
               --mask-ratio r, --epochs n, --progress step|epoch (schedules' t); GPA: --mam,
               --teacher-head b<block>h<head>|<k>-shot, --teacher-weights file.safetensors,
               --teacher-epochs n, --gpa-variant paper|official, --gpa-maps per-step|cached,
               --overlap paper|official, --soft s0,sT, --hard h0,hT, --clip-soft, --rounding nearest|floor,
               --mam-loss-on masked|all, --mam-active-from t
  finetune     fine-tune the encoder of a pre-training run (--from pretrain|random; --pretrain-seed n: the
               encoder's seed when it differs from --seed; also for linprobe and segment)
  linprobe     linear-probe the encoder of a pre-training run (--from pretrain|random)
  segment      semantic segmentation (CamVid; UperNet-style head) from a pre-training run (--from pretrain|random);
               --recipe key=value,... overrides the profile's recipe (e.g. lr=5e-4,epochs=16)
  knn          k-NN accuracy (k 20, T 0.07, cosine) of the frozen encoder (--from pretrain|random, --pooling cls|mean)
  doctor       backend chosen and why, package versions, datasets found, cache location and size
  table N      run table N (1–10) through the cache, write reports/<profile>/tableN.{md,json};
               --seeds n, --jobs n (worker processes that claim runs), --shard i/n (one share of the runs)
  all          every table and the figures
  plan         the runs a table needs, with hashes and cache status (--table N, --json, --shard i/n)
  figures      Figures 2, 4 and 5 (PNG) under reports/<profile>/figures/
  gpa-recall   recall of the teacher's top-GPA patches vs object boxes on held-out images, per block × head
               (--teacher-head, --teacher-weights, --teacher-epochs n (the MAE teacher's epochs),
               --mask-ratio r (top-k share), --images n, --json); JSON + PNG heatmap
  bench        engine throughput (deno task bench); --json, --peer (PyTorch on the same machine),
               --scaling (two parallel runs vs one), --backends wasm,cpu,webgpu, --only <steps>,
               --matmul openblas,xnnpack (wasm's matMul engines, one pass each), --threads n (both sides)
  export HASH  write a cached run's encoder as timm/MAE safetensors (--out FILE); loads with --teacher-weights
  teacher      train (or resume) the profile's GPA teacher and ship it: zoo/<profile>_teacher.safetensors,
               its card (.json: run, loss, k-NN, recall vs random and a centre prior) and plots (--images n)
  help         this text

options (every command):
  --profile NAME     ${Object.keys(PROFILES).join(" | ")} (default smoke)
  --backend NAME     ${BACKEND_NAMES.join(" | ")} (default auto)
  --data-dir DIR     datasets (directories or archives); env GPA_DATA_DIR
  --cache-dir DIR    run and dataset cache (default data/cache; env GPA_CACHE_DIR)
  --seed N           seed of the run (default: the profile's first seed)
  --json             print the result as JSON on stdout
  -q, --quiet        only errors on stderr

environment: GPA_BLAS=auto|on|off (wasm's matrix products on a system OpenBLAS through FFI; default auto),
  GPA_BLAS_THREADS=n (default 1), GPA_BLAS_LIB=path (the library to open), GPA_MICRO_BATCH=n

exit codes: 0 ok, 1 runtime error, 2 usage error, 130 interrupted (resumable)`;

const PROJECT_ROOT = new URL(".", import.meta.url).pathname.replace(/\/$/, "");

/** GPA_MICRO_BATCH, when set, must be a positive integer (checked before any work). */
function checkMicroBatchEnv(): void {
  const v = Deno.env.get("GPA_MICRO_BATCH");
  if (v !== undefined && v !== "" && !/^[1-9]\d*$/.test(v.trim())) {
    throw new UsageError(`GPA_MICRO_BATCH must be a positive integer, got '${v}'`);
  }
}

/** A directory from `--name` (empty: usage error) or the environment variable `env` (empty: unset). */
function dirOption(values: Values, name: string, env?: string): string | undefined {
  const flag = str(values, name);
  if (flag !== undefined) {
    if (flag.trim() === "") throw new UsageError(`--${name} must not be empty`);
    return flag;
  }
  const fromEnv = env ? Deno.env.get(env) : undefined;
  return fromEnv && fromEnv.trim() !== "" ? fromEnv : undefined;
}

/** Builds the run context from the global options (validating them) and activates the backend. */
async function context(values: Values): Promise<RunContext & { backendReasons: string[] }> {
  const profileName = str(values, "profile", "smoke")!;
  let profile;
  try {
    profile = getProfile(profileName);
  } catch (e) {
    if (e instanceof UnknownProfileError) throw new UsageError(e.message);
    throw e;
  }
  // The profile's teacher weights: --teacher-weights (table, pretrain, figures, ...) or GPA_TEACHER_WEIGHTS.
  const teacherWeights = str(values, "teacher-weights") ?? (Deno.env.get("GPA_TEACHER_WEIGHTS") || undefined);
  checkMicroBatchEnv();
  if (teacherWeights !== undefined) profile.gpa.teacher.weightsPath = teacherWeights;
  const backend = oneOf(values, "backend", BACKEND_NAMES, "auto") as BackendName;
  const seed = int(values, "seed", undefined, 0, 2 ** 31 - 1);
  if (seed !== undefined) profile.seeds = [seed];
  // An empty flag is a usage error; an empty environment variable counts as unset (never "the root").
  const cacheDir = dirOption(values, "cache-dir", "GPA_CACHE_DIR") ?? `${PROJECT_ROOT}/data/cache`;
  const dataDir = dirOption(values, "data-dir", "GPA_DATA_DIR");
  // An image-folder profile (paper: ImageNet-1K) reads its train/ and val/ class folders from --data-dir.
  if (profile.dataset.name === "imagefolder" && dataDir !== undefined) profile.dataset.root = dataDir;
  const quiet = values.quiet === true;
  const choice = await selectBackend(backend);
  const stopSignal = { stopped: false };
  return {
    profile,
    cacheDir,
    dataDir,
    // Reports name what ran the matrix products on wasm (OpenBLAS or XNNPACK).
    backend: engineLabel(),
    backendReasons: choice.reasons,
    log: quiet ? () => {} : (l: string) => console.error(l),
    stopSignal,
  };
}

/** `--jobs` worker processes of this invocation; a stop signal is passed on to them. */
const workers = new Set<Deno.ChildProcess>();

function installSignalHandlers(stop: { stopped: boolean }): void {
  let first = 0;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(sig, () => {
        // A Ctrl-C reaches the workers directly and again through us: signals within 2 s count as one.
        if (stop.stopped && performance.now() - first > 2000) Deno.exit(130); // a second signal: leave now
        if (stop.stopped) return;
        stop.stopped = true;
        first = performance.now();
        for (const w of workers) {
          try {
            w.kill("SIGTERM");
          } catch {
            // already gone
          }
        }
        console.error(
          `\n${sig}: finishing the current step and writing a checkpoint (again to quit at once)`,
        );
      });
    } catch {
      // Signals are not available on every platform.
    }
  }
}

function print(values: Values, data: unknown, text: string): void {
  if (values.json) console.log(JSON.stringify(data, null, 2));
  else console.log(text);
}

/** MAE/timm-style recipe flags (every value enters the run's identity through the recipe or model). */
const RECIPE_OPTIONS = {
  epochs: { type: "string" },
  "batch-size": { type: "string" },
  blr: { type: "string" },
  "warmup-epochs": { type: "string" },
  "weight-decay": { type: "string" },
  model: { type: "string" },
  "input-size": { type: "string" },
  "patch-size": { type: "string" },
  "pretrain-epochs": { type: "string" },
} as const;

const PRETRAIN_OPTIONS = {
  ...RECIPE_OPTIONS,
  strategy: { type: "string" },
  mam: { type: "boolean" },
  "mam-loss-on": { type: "string" },
  "teacher-head": { type: "string" },
  "teacher-weights": { type: "string" },
  "teacher-epochs": { type: "string" },
  "gpa-variant": { type: "string" },
  overlap: { type: "string" },
  "gpa-maps": { type: "string" },
  soft: { type: "string" },
  hard: { type: "string" },
  "mask-ratio": { type: "string" },
  rounding: { type: "string" },
  progress: { type: "string" },
  "clip-soft": { type: "boolean" },
  "mam-active-from": { type: "string" },
} as const;

/** Which recipe a command's --epochs, --batch-size, --blr, --warmup-epochs and --weight-decay change. */
type Stage = "pretrain" | "finetune" | "linprobe" | "none";

/**
 * Applies the recipe flags to the context's profile: the model (--model, --input-size, --patch-size), the
 * stage's recipe, --pretrain-epochs (the encoder's pre-training, for downstream commands) and --mask-ratio.
 */
function applyOverrides(ctx: RunContext, values: Values, stage: Stage = "pretrain"): void {
  const p = ctx.profile;
  const modelName = str(values, "model");
  if (modelName !== undefined) {
    const preset = modelName === p.name ? PROFILES[p.name].model : VIT_PRESETS[modelName];
    if (!preset) {
      throw new UsageError(
        `--model must be one of ${[p.name, ...Object.keys(VIT_PRESETS)].join(", ")}, got '${modelName}'`,
      );
    }
    Object.assign(p.model, {
      dim: preset.dim,
      depth: preset.depth,
      heads: preset.heads,
      mlpRatio: preset.mlpRatio,
    });
  }
  const input = int(values, "input-size", undefined, 8, 4096);
  if (input !== undefined) {
    p.model.imageSize = input;
    p.dataset.resolution = input;
  }
  const patch = int(values, "patch-size", undefined, 1, 4096);
  if (patch !== undefined) p.model.patchSize = patch;
  if (p.model.imageSize % p.model.patchSize !== 0) {
    throw new UsageError(
      `--input-size ${p.model.imageSize} is not a multiple of --patch-size ${p.model.patchSize}`,
    );
  }
  const recipe = stage === "pretrain"
    ? p.pretrain
    : stage === "finetune"
    ? p.finetune
    : stage === "linprobe"
    ? p.linprobe
    : undefined;
  if (recipe) {
    const epochs = int(values, "epochs", undefined, 1, 100000);
    if (epochs !== undefined) recipe.epochs = epochs;
    const batch = int(values, "batch-size", undefined, 1, 1 << 20);
    if (batch !== undefined) recipe.batchSize = batch;
    const blr = floatOpen(values, "blr", undefined, 0, 100);
    if (blr !== undefined) recipe.blr = blr;
    const warm = floatIn(values, "warmup-epochs", 0, 100000);
    if (warm !== undefined) recipe.warmupEpochs = warm;
    const wd = floatIn(values, "weight-decay", 0, 10);
    if (wd !== undefined) recipe.weightDecay = wd;
    if (recipe.warmupEpochs > recipe.epochs) {
      throw new UsageError(`--warmup-epochs ${recipe.warmupEpochs} exceeds the ${recipe.epochs} epochs`);
    }
  } else {
    for (const k of ["batch-size", "blr", "warmup-epochs", "weight-decay"]) {
      if (values[k] !== undefined) throw new UsageError(`--${k} does not apply to this command`);
    }
  }
  const pre = int(values, "pretrain-epochs", undefined, 1, 100000);
  if (pre !== undefined) p.pretrain.epochs = pre;
  // knn and gpa-recall train nothing: their --epochs names the encoder's pre-training.
  if (stage === "none") {
    const epochs = int(values, "epochs", undefined, 1, 100000);
    if (epochs !== undefined) p.pretrain.epochs = epochs;
  }
  const ratio = floatOpen(values, "mask-ratio", undefined, 0, 1);
  if (ratio !== undefined) {
    const L = (p.model.imageSize / p.model.patchSize) ** 2;
    const kept = Math.floor(L * (1 - ratio) + 1e-9);
    if (kept < 1 || kept >= L) {
      throw new UsageError(
        `--mask-ratio ${ratio} keeps ${kept} of ${L} patches; choose a ratio that keeps 1..${L - 1}`,
      );
    }
    p.pretrain.maskRatio = ratio;
  }
}

function sharePair(values: Values, name: string): [number, number] | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  const texts = v.split(/[,:]|->/).map((x) => x.trim());
  const parts = texts.map(Number);
  // Number("") is 0: an empty side ("," or "0.5,") must not pass as a share of 0.
  if (parts.length !== 2 || texts.some((t) => t === "") || parts.some((x) => !(x >= 0 && x <= 1))) {
    throw new UsageError(`--${name} must be two shares in [0, 1] as start,end (e.g. 0,0.5); got '${v}'`);
  }
  return [parts[0], parts[1]];
}

/** `b{block}h{head}` or `{k}-shot` → a teacher head choice, validated against the model. */
function teacherHead(values: Values, depth: number, heads: number) {
  const v = str(values, "teacher-head");
  if (v === undefined) return undefined;
  const shot = /^(\d+)-shot$/.exec(v);
  if (shot) {
    const shots = Number(shot[1]);
    // Checked here, before any teacher is trained: selection needs at least one annotated image.
    if (shots < 1 || shots > 100000) {
      throw new UsageError(`--teacher-head: k-shot needs k in 1..100000, got ${shots}`);
    }
    return { shots };
  }
  const m = /^b(\d+)h(-1|\d+)$/.exec(v);
  if (!m) {
    throw new UsageError(`--teacher-head must be b<block>h<head> (h-1 = all heads) or <k>-shot; got '${v}'`);
  }
  const block = Number(m[1]);
  const head = Number(m[2]);
  if (block >= depth) throw new UsageError(`--teacher-head: block ${block} out of range 0..${depth - 1}`);
  if (head >= heads) throw new UsageError(`--teacher-head: head ${head} out of range -1..${heads - 1}`);
  return { block, head };
}

/** The teacher from `--teacher-head`, `--teacher-weights`, `--teacher-epochs`, `--gpa-variant` over the profile's. */
function teacherFlags(values: Values, ctx: RunContext): import("./app/runner.ts").TeacherChoice & {
  variant: "paper" | "official";
} {
  const head = teacherHead(values, ctx.profile.model.depth, ctx.profile.model.heads);
  const defaults = ctx.profile.gpa.teacher;
  return {
    ...defaults,
    ...(head ? { head } : {}),
    variant: oneOf(values, "gpa-variant", ["paper", "official"] as const, defaults.variant),
    weightsPath: str(values, "teacher-weights") ?? defaults.weightsPath,
    teacherEpochs: int(values, "teacher-epochs", defaults.teacherEpochs, 1, 100000),
  };
}

/** The strategy request of pretrain/finetune/linprobe from CLI flags. */
function strategyRequest(values: Values, ctx: RunContext): import("./app/runner.ts").StrategyRequest {
  const name = oneOf(values, "strategy", STRATEGIES, "random");
  const soft = sharePair(values, "soft") ?? ctx.profile.gpa.soft;
  const hard = sharePair(values, "hard") ?? ctx.profile.gpa.hard;
  const clipSoft = values["clip-soft"] === true;
  for (const t of clipSoft ? [] : [0, 1]) {
    if (soft[t] + hard[t] > 1 + 1e-9) {
      throw new UsageError(
        `soft + hard shares exceed 1 at ${t === 0 ? "the start" : "the end"} (${soft[t]} + ${hard[t]}); ` +
          "--clip-soft clips the soft share to 1 − hard instead (the authors' code)",
      );
    }
  }
  const teacher = teacherFlags(values, ctx);
  const mamLossOn = oneOf(
    values,
    "mam-loss-on",
    ["masked", "all"] as const,
    teacher.variant === "official" ? "all" : "masked",
  );
  return {
    name,
    soft,
    hard,
    overlap: oneOf(values, "overlap", ["paper", "official"] as const, "paper"),
    maps: oneOf(values, "gpa-maps", ["per-step", "cached"] as const, "per-step"),
    teacher,
    mam: values.mam === true
      ? {
        lossOn: mamLossOn,
        ...(values["mam-active-from"] !== undefined
          ? { activeFrom: floatIn(values, "mam-active-from", 0, 1) }
          : {}),
      }
      : false,
    ...(values.rounding !== undefined
      ? { rounding: oneOf(values, "rounding", ["nearest", "floor"] as const, "nearest") }
      : {}),
    ...(values.progress !== undefined
      ? { progress: oneOf(values, "progress", ["step", "epoch"] as const, "step") }
      : {}),
    ...(clipSoft ? { clipSoft } : {}),
  };
}

const STRATEGIES = ["random", "block", "uniform", "gpa", "cls-attention", "hpm"] as const;

async function cmdPretrain(args: string[]) {
  const { values } = parseCommandArgs("pretrain", args, PRETRAIN_OPTIONS);
  oneOf(values, "strategy", STRATEGIES, "random"); // validate before any work
  const ctx = await context(values);
  applyOverrides(ctx, values);
  const req = strategyRequest(values, ctx);
  installSignalHandlers(ctx.stopSignal);
  const { ensurePretrain, strategyChoice } = await import("./app/runner.ts");
  const out = await ensurePretrain(ctx, await strategyChoice(ctx, req, ctx.profile.seeds[0]));
  const summary = { hash: out.hash, cacheHit: out.cacheHit, metrics: out.metrics, history: out.history };
  print(
    values,
    summary,
    `pretrain ${out.hash}${out.cacheHit ? " (cache hit)" : ""}: loss ${out.metrics.loss}`,
  );
}

async function cmdDownstream(kind: "finetune" | "linprobe" | "segment", args: string[]) {
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
    const { segmentationSpecFor } = await import("./experiments/segmentation.ts");
    segmentationSpecFor(ctx.profile, { seed: 0, from: null, recipe });
  }
  const req = strategyRequest(values, ctx);
  installSignalHandlers(ctx.stopSignal);
  const runner = await import("./app/runner.ts");
  const seed = ctx.profile.seeds[0];
  // The encoder's seed may differ from the downstream run's (several downstream seeds on one encoder).
  const pretrainSeed = int(values, "pretrain-seed", seed, 0, 2 ** 31 - 1)!;
  const pre = from === "random"
    ? null
    : await runner.ensurePretrain(ctx, await runner.strategyChoice(ctx, req, pretrainSeed));
  if (kind === "segment") {
    const { ensureSegment } = await import("./app/segment.ts");
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
const SEGMENT_RECIPE_KEYS = [
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
function segmentRecipeOverrides(spec: string | undefined): Record<string, number> | undefined {
  if (spec === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const part of spec.split(",").filter((p) => p.trim() !== "")) {
    const m = /^\s*([A-Za-z]+)\s*=\s*([^=]+?)\s*$/.exec(part);
    const key = m?.[1] as (typeof SEGMENT_RECIPE_KEYS)[number] | undefined;
    const value = m ? Number(m[2]) : NaN;
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

async function cmdDoctor(args: string[]) {
  const { values } = parseCommandArgs("doctor", args);
  const ctx = await context(values);
  const { cacheSummary } = await import("./lib/cache/mod.ts");
  const denoJson = JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}/deno.json`));
  const report = {
    deno: Deno.version,
    backend: { active: ctx.backend, reasons: ctx.backendReasons },
    packages: denoJson.imports,
    cache: { dir: ctx.cacheDir, ...(await cacheSummary(ctx.cacheDir)) },
    datasets: await findDatasets(ctx.dataDir),
  };
  const lines = [
    `deno ${report.deno.deno} (v8 ${report.deno.v8}, typescript ${report.deno.typescript})`,
    `backend: ${ctx.backend}`,
    ...ctx.backendReasons.map((r) => `  - ${r}`),
    `packages:`,
    ...Object.entries(report.packages).map(([k, v]) => `  ${k}: ${v}`),
    `cache: ${report.cache.dir} — ${report.cache.runs} runs (${report.cache.completeRuns} complete), ` +
    `${(report.cache.bytes / 2 ** 20).toFixed(1)} MiB`,
    `datasets:`,
    ...Object.entries(report.datasets).map(([k, v]) => `  ${k}: ${v ?? "not found"}`),
  ];
  print(values, report, lines.join("\n"));
}

/** Which dataset archives or extracted folders the data layer would read, per dataset. */
async function findDatasets(dataDir?: string): Promise<Record<string, string | null>> {
  const { locateDataset } = await import("./lib/data/mod.ts");
  const out: Record<string, string | null> = {};
  for (const ds of ["tiny-imagenet", "cifar10", "camvid"] as const) {
    out[ds] = (await locateDataset(ds, { dataDir, projectRoot: PROJECT_ROOT }))?.path ?? null;
  }
  out.synthetic = "built in";
  return out;
}

const TABLE_OPTIONS = {
  seeds: { type: "string" },
  "teacher-weights": { type: "string" },
  worker: { type: "boolean" },
  jobs: { type: "string" },
  shard: { type: "string" },
  "reports-dir": { type: "string" },
} as const;

/** `table <id>` / `all`: runs tables through the cache and writes their reports. */
async function cmdTables(ids: string[] | null, args: string[]) {
  const { values, positionals } = parseCommandArgs(ids ? "all" : "table", args, TABLE_OPTIONS, {
    positionals: ids ? 0 : 1,
  });
  const { TABLE_IDS } = await import("./experiments/tables/mod.ts");
  const wanted = ids ?? positionals.map((p) => (/^\d+$/.test(p) ? `table${p}` : p));
  if (wanted.length === 0) throw new UsageError(`table: which table? one of ${TABLE_IDS.join(", ")}`);
  for (const id of wanted) {
    if (!TABLE_IDS.includes(id)) {
      throw new UsageError(`unknown table '${id}'; valid: ${TABLE_IDS.join(", ")}`);
    }
  }
  const nSeeds = int(values, "seeds", undefined, 1, 100);
  const jobs = int(values, "jobs", 1, 1, 64)!;
  const sh = shard(values);
  const ctx = await context(values);
  const seeds = nSeeds ? Array.from({ length: nSeeds }, (_, i) => i) : ctx.profile.seeds;
  const reportsDir = dirOption(values, "reports-dir") ?? `${PROJECT_ROOT}/reports`;
  installSignalHandlers(ctx.stopSignal);
  const { runTable } = await import("./app/tables/mod.ts");
  const out: Record<string, unknown> = {};
  for (const id of wanted) {
    const r = await runTable(ctx, id, {
      seeds,
      jobs,
      shard: sh,
      reportsDir,
      claim: values.worker === true,
      spawnWorker: (w) => spawnWorker(id, values, seeds.length, w),
    });
    if (r) {
      ctx.log(`${id}: wrote ${r.markdown}`);
      out[id] = { markdown: r.markdown, json: r.json, units: r.results.length };
    } else {
      out[id] = { shard: sh, done: true };
    }
  }
  // Tables whose reports link the paper's figures (their modules say which) get them rendered from the same
  // teacher. Workers (--worker) and shards write neither reports nor figures: the coordinating call does.
  const { allPlans } = await import("./experiments/tables/mod.ts");
  const plans = allPlans(ctx.profile);
  if (!sh && values.worker !== true && wanted.some((id) => (plans[id].figures ?? []).length > 0)) {
    const { renderFigures } = await import("./app/figures.ts");
    out.figures = await renderFigures(ctx, reportsDir);
  }
  // Human mode ends with sentences, not JSON.
  const lines = Object.entries(out).map(([k, v]) => {
    const r = v as { markdown?: string; units?: number; shard?: unknown };
    if (k === "figures") {
      const figs = Object.entries(v as Record<string, string>);
      return `figures: ${figs.filter(([, p]) => !p.startsWith("not rendered")).length} written under ` +
        `${reportsDir}/${ctx.profile.name}/figures` +
        figs.filter(([, p]) => p.startsWith("not rendered")).map(([n, p]) => `; ${n} ${p}`).join("");
    }
    if (r.markdown) return `${k}: wrote ${r.markdown} and its .json (${r.units} row × seed units)`;
    return `${k}: this shard's runs are done; a call without --shard writes the report`;
  });
  print(values, out, lines.join("\n"));
}

/** Starts this CLI as a `--jobs` worker of a table (units claimed dynamically); resolves to its exit code. */
/**
 * The command line of a `--jobs` worker: the table, worker mode, the seeds, and every global and table option
 * of this invocation (profile, backend, directories, teacher weights, quiet, …) — a worker must run exactly
 * the runs its coordinator would, and write where it would.
 */
export function workerArgs(id: string, values: Values, seeds: number): string[] {
  const args = ["run", "-A", `${PROJECT_ROOT}/main.ts`, "table", id, "--worker", "--seeds", String(seeds)];
  const skip = new Set(["seeds", "worker", "jobs", "shard", "json", "help"]);
  for (const k of Object.keys({ ...GLOBAL_OPTIONS, ...TABLE_OPTIONS })) {
    const v = values[k];
    if (skip.has(k) || v === undefined || v === false) continue;
    if (v === true) args.push(`--${k}`);
    else args.push(`--${k}`, String(v));
  }
  return args;
}

async function spawnWorker(id: string, values: Values, seeds: number, _worker: number) {
  const args = workerArgs(id, values, seeds);
  const child = new Deno.Command(Deno.execPath(), { args, stdin: "null", stdout: "null", stderr: "inherit" })
    .spawn();
  workers.add(child);
  try {
    return (await child.status).code;
  } finally {
    workers.delete(child);
  }
}

/** `plan`: every run a table needs, with its hash and cache status. */
async function cmdPlan(args: string[]) {
  const { values, positionals } = parseCommandArgs("plan", args, {
    ...TABLE_OPTIONS,
    table: { type: "string" },
  }, {
    positionals: 1,
  });
  const ctx = await context(values);
  const { TABLE_IDS, allPlans } = await import("./experiments/tables/mod.ts");
  const t = str(values, "table") ?? positionals[0];
  if (!t) throw new UsageError(`plan: give --table N (one of ${TABLE_IDS.join(", ")})`);
  const id = /^\d+$/.test(t) ? `table${t}` : t;
  if (!TABLE_IDS.includes(id)) throw new UsageError(`unknown table '${t}'; valid: ${TABLE_IDS.join(", ")}`);
  const nSeeds = int(values, "seeds", undefined, 1, 100);
  const seeds = nSeeds ? Array.from({ length: nSeeds }, (_, i) => i) : ctx.profile.seeds;
  const { planTable, planEstimate } = await import("./app/tables/plan.ts");
  const { formatEstimate } = await import("./app/tables/estimate.ts");
  const rows = await planTable(ctx, allPlans(ctx.profile)[id], seeds, shard(values));
  const est = planEstimate(ctx.profile, rows);
  const summary = est.pending === 0
    ? "every unit is cached: the report is a cache hit"
    : est.estimated === 0
    ? `${est.pending} units to run; no measured throughput for profile ${ctx.profile.name}, so no estimate`
    : `${est.pending} units to run${
      est.estimated < est.pending ? ` (${est.estimated} with an estimate)` : ""
    }: ` +
      `≈ ${formatEstimate(est.computeSeconds)} of compute${
        est.teacherSeconds ? ` (teacher ${formatEstimate(est.teacherSeconds)})` : ""
      }, ≈ ${formatEstimate(est.computeSeconds / 2)} with --jobs 2 (throughput measured on ${est.measured})`;
  print(
    values,
    { table: id, profile: ctx.profile.name, units: rows, estimate: est },
    rows.map((r) =>
      `${r.row.padEnd(22)} seed ${r.seed}  ${r.status.padEnd(9)} pretrain ${
        r.pretrainHash ?? "(after teacher)"
      }` +
      (r.shares
        ? `  soft/hard/random ${r.shares.t0.soft}/${r.shares.t0.hard}/${r.shares.t0.random} → ` +
          `${r.shares.t1.soft}/${r.shares.t1.hard}/${r.shares.t1.random}`
        : "") +
      (r.notRun ? `  not run: ${r.notRun}` : "")
    ).join("\n") + `\n${summary}`,
  );
}

/** `runs` / `runs show HASH`: the cached runs. */
async function cmdRuns(args: string[]) {
  const { values, positionals } = parseCommandArgs("runs", args, {}, { positionals: 2 });
  const ctx = await context(values);
  const { listRuns } = await import("./lib/runs.ts");
  const runs = await listRuns(ctx.cacheDir);
  if (positionals[0] === "show") {
    const hash = positionals[1];
    const run = runs.find((r) => r.hash === hash);
    if (!hash || !run) throw new UsageError(`runs show: no run '${hash ?? ""}' in ${ctx.cacheDir}`);
    print(values, run, JSON.stringify(run, null, 2));
    return;
  }
  if (positionals.length > 0) {
    throw new UsageError(`runs: unexpected '${positionals[0]}' (runs | runs show HASH)`);
  }
  print(
    values,
    runs,
    runs.length === 0 ? `no runs in ${ctx.cacheDir}` : runs.map((r) =>
      [
        r.hash,
        r.kind.padEnd(9),
        (r.strategy ?? "").padEnd(14),
        `seed ${r.seed ?? "?"}`.padEnd(8),
        `${r.epochs ?? "?"} ep`.padEnd(7),
        r.status.padEnd(8),
        Object.entries(r.keyMetrics).map(([k, v]) => `${k} ${v}`).join(", "),
      ].join("  ")
    ).join("\n"),
  );
}

/** `export HASH --out FILE`: a cached run's encoder as a timm/MAE safetensors file. */
async function cmdExport(args: string[]) {
  const { values, positionals } = parseCommandArgs("export", args, { out: { type: "string" } }, {
    positionals: 1,
  });
  const hash = positionals[0];
  if (!hash || !/^[0-9a-f]{16}$/.test(hash)) throw new UsageError("export: give a run hash (16 hex digits)");
  const out = str(values, "out");
  if (!out) throw new UsageError("export: give --out FILE.safetensors");
  const ctx = await context(values);
  const { exportEncoder } = await import("./lib/export.ts");
  const { runCache } = await import("./app/runner.ts");
  const r = await exportEncoder(runCache(ctx), hash, out);
  print(
    values,
    r,
    `wrote ${r.path}: encoder of run ${r.run} in timm layout (${r.tensors} tensors, ${r.bytes} bytes, sha256 ${r.sha256})`,
  );
}

/** `teacher`: trains (or resumes) the profile's teacher, ships it under zoo/ with its card. */
async function cmdTeacher(args: string[]) {
  const { values } = parseCommandArgs("teacher", args, {
    out: { type: "string" },
    images: { type: "string" },
  });
  const ctx = await context(values);
  installSignalHandlers(ctx.stopSignal);
  const out = str(values, "out", `${PROJECT_ROOT}/zoo/${ctx.profile.name}_teacher.safetensors`)!;
  const images = int(values, "images", 2500, 1, 100000)!;
  const { buildTeacher } = await import("./app/zoo.ts");
  const card = await buildTeacher(ctx, out, images);
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
async function cmdFigures(args: string[]) {
  const { values } = parseCommandArgs("figures", args, {
    "reports-dir": { type: "string" },
    "teacher-weights": { type: "string" },
  });
  const ctx = await context(values);
  installSignalHandlers(ctx.stopSignal);
  const { renderFigures } = await import("./app/figures.ts");
  const out = await renderFigures(ctx, dirOption(values, "reports-dir") ?? `${PROJECT_ROOT}/reports`);
  print(values, out, Object.entries(out).map(([k, v]) => `${k}: ${v}`).join("\n"));
}

/** `knn`: k-NN accuracy of a pre-trained (or random) encoder's frozen features (DINO's weighted vote). */
async function cmdKnn(args: string[]) {
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
  const runner = await import("./app/runner.ts");
  const seed = ctx.profile.seeds[0];
  const pre = from === "random"
    ? null
    : await runner.ensurePretrain(ctx, await runner.strategyChoice(ctx, req, seed));
  const { initMae } = await import("./lib/mae.ts");
  const { Rng } = await import("./lib/rng.ts");
  const params = pre?.params ?? initMae(ctx.profile.model, new Rng(seed).fork("init"));
  const { train, val } = await runner.profileData(ctx);
  const { knnEvaluate } = await import("./lib/eval/knn.ts");
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

/** `gpa-recall`: how well the teacher's GPA finds objects on held-out annotated images (Figure 4's data). */
async function cmdGpaRecall(args: string[]) {
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
  const { ensureTeacher } = await import("./app/runner.ts");
  const { gpaRecall } = await import("./app/figures.ts");
  const teacher = await ensureTeacher(ctx, choice);
  const { png, ...result } = await gpaRecall(ctx, teacher, images);
  const outDir = str(values, "out", `${PROJECT_ROOT}/reports/${ctx.profile.name}/figures`)!;
  const { atomicWriteFile, atomicWriteJson, ensureDir } = await import("./lib/fsutil.ts");
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
      `cached maps vs per-step maps (${result.cachedMapAgreement.views} views): Spearman ` +
      `${result.cachedMapAgreement.spearman.toFixed(3)}, top-k overlap ${
        result.cachedMapAgreement.topKOverlap.toFixed(3)
      }\n` +
      `heatmap: ${outDir}/gpa_recall.png`,
  );
}

async function cmdBench(args: string[]) {
  const { runBenchCommand } = await import("./bench/mod.ts");
  await runBenchCommand(args, { context });
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a, i) => !(a === "--" && i === 0));
  const [command, ...rest] = args;
  // `<command> --help`: that command's usage, flags with defaults and an example; no work is done.
  const { COMMAND_HELP } = await import("./cli/help.ts");
  if (command && command in COMMAND_HELP && rest.some((a) => a === "--help" || a === "-h")) {
    console.log(COMMAND_HELP[command]);
    return 0;
  }
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(HELP);
        return 0;
      case "pretrain":
        await cmdPretrain(rest);
        return 0;
      case "finetune":
      case "linprobe":
      case "segment":
        await cmdDownstream(command, rest);
        return 0;
      case "doctor":
        await cmdDoctor(rest);
        return 0;
      case "bench":
        await cmdBench(rest);
        return 0;
      case "table":
        await cmdTables(null, rest);
        return 0;
      case "all": {
        const { TABLE_IDS } = await import("./experiments/tables/mod.ts");
        await cmdTables(TABLE_IDS, rest);
        return 0;
      }
      case "plan":
        await cmdPlan(rest);
        return 0;
      case "figures":
        await cmdFigures(rest);
        return 0;
      case "knn":
        await cmdKnn(rest);
        return 0;
      case "gpa-recall":
        await cmdGpaRecall(rest);
        return 0;
      case "export":
        await cmdExport(rest);
        return 0;
      case "teacher":
        await cmdTeacher(rest);
        return 0;
      case "runs":
        await cmdRuns(rest);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}'; run 'main.ts help' for the list`);
    }
  } catch (e) {
    return reportError(e);
  }
}

/** Prints one line for an error and returns its exit code. */
export function reportError(e: unknown): number {
  const name = e instanceof Error ? e.name : "Error";
  const msg = e instanceof Error ? e.message : String(e);
  if (
    e instanceof UsageError || e instanceof RangeError || name === "TeacherWeightsError" ||
    name === "ConfigError"
  ) {
    console.error(`error: ${msg}`);
    return 2;
  }
  if (name === "InterruptedError") {
    console.error(`interrupted (resumable): ${msg}`);
    return 130;
  }
  if (
    e instanceof BackendError ||
    ["DataError", "NumericError", "RunLockedError", "CorruptFileError", "NotImplementedError"].includes(name)
  ) {
    console.error(`error: ${msg}`);
    return 1;
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    console.error(`error: permission denied: ${msg} (check that the cache directory is writable)`);
    return 1;
  }
  console.error(`error: ${name}: ${msg}`);
  if (Deno.env.get("GPA_DEBUG")) console.error(e instanceof Error ? e.stack : e);
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
