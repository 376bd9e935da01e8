/**
 * Profile sweep: one MAE baseline chain (pre-training with random masking, then fine-tuning) per candidate
 * scale, through the run cache, with its cost and signal appended as one JSON line to a results file. This is
 * how the `cpu` profile was chosen (experiments/README.md has the table and the reasoning).
 *
 *   deno run -A tasks/sweep.ts --name c50-64 --classes 50 --resolution 64 --patch 8 \
 *     --pretrain-epochs 4 --finetune-epochs 4 [--from random] [--seed 0] [--out experiments/sweeps/cpu.jsonl]
 *
 * Every candidate starts from the `cpu` profile; only the flags given change it.
 * @module
 */
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { engineLabel, selectBackend } from "../lib/backend.ts";
import { ensureFinetune, ensurePretrain, type RunContext } from "../app/runner.ts";
import { getProfile } from "../experiments/profiles.ts";

const { values } = parseArgs({
  args: Deno.args.filter((a) => a !== "--"),
  options: {
    name: { type: "string" },
    classes: { type: "string" },
    resolution: { type: "string" },
    patch: { type: "string" },
    dim: { type: "string" },
    depth: { type: "string" },
    "pretrain-epochs": { type: "string" },
    "finetune-epochs": { type: "string" },
    "finetune-warmup": { type: "string" },
    "train-limit": { type: "string" },
    from: { type: "string" },
    seed: { type: "string" },
    out: { type: "string" },
    "cache-dir": { type: "string" },
  },
});
const num = (k: keyof typeof values) => (values[k] === undefined ? undefined : Number(values[k]));

const profile = getProfile("cpu");
const res = num("resolution") ?? profile.dataset.resolution;
profile.dataset = {
  name: "tiny-imagenet",
  resolution: res,
  ...(num("train-limit") ? { trainLimit: num("train-limit") } : {}),
  ...(num("classes") ? { classes: num("classes") } : {}),
};
profile.model.imageSize = res;
profile.model.patchSize = num("patch") ?? profile.model.patchSize;
profile.model.dim = num("dim") ?? profile.model.dim;
profile.model.depth = num("depth") ?? profile.model.depth;
profile.pretrain.epochs = num("pretrain-epochs") ?? profile.pretrain.epochs;
profile.finetune.epochs = num("finetune-epochs") ?? profile.finetune.epochs;
profile.finetune.warmupEpochs = num("finetune-warmup") ?? profile.finetune.warmupEpochs;
const seed = num("seed") ?? 0;
const fromRandom = values.from === "random";

await selectBackend("auto");
const stop = { stopped: false };
Deno.addSignalListener("SIGTERM", () => stop.stopped = true);
Deno.addSignalListener("SIGINT", () => stop.stopped = true);
const ctx: RunContext = {
  profile,
  cacheDir: values["cache-dir"] ?? fileURLToPath(new URL("../data/cache", import.meta.url)),
  backend: engineLabel(),
  log: (l) => console.error(l),
  stopSignal: stop,
  progress: false,
};
const started = performance.now();
const pre = fromRandom ? null : await ensurePretrain(ctx, { seed, strategy: { name: "random" } });
const ft = await ensureFinetune(ctx, pre, seed);
const last = pre?.history.at(-1) ?? {};
const line = {
  name: values.name ?? "unnamed",
  classes: profile.dataset.classes ?? 200,
  resolution: res,
  patch: profile.model.patchSize,
  dim: profile.model.dim,
  depth: profile.model.depth,
  pretrainEpochs: fromRandom ? 0 : profile.pretrain.epochs,
  finetuneEpochs: profile.finetune.epochs,
  from: fromRandom ? "random" : "mae",
  seed,
  engine: engineLabel(),
  top1: ft.top1,
  knnTop1: pre?.metrics.knnTop1 ?? null,
  probeTop1: (last as Record<string, number>).probeTop1 ?? null,
  pretrainLoss: pre?.metrics.loss ?? null,
  pretrainSeconds: pre ? Number(pre.metrics.wallSeconds ?? 0) : 0,
  finetuneSeconds: Number(ft.metrics.wallSeconds ?? 0),
  pretrainImgPerSec: (last as Record<string, number>).imgPerSec ?? null,
  cacheHit: (pre?.cacheHit ?? true) && ft.cacheHit,
  wallSeconds: (performance.now() - started) / 1000,
  pretrainHash: pre?.hash ?? null,
  finetuneHash: ft.hash,
};
console.log(JSON.stringify(line));
if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(line) + "\n", { append: true });
