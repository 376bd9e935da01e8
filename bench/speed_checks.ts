/**
 * Speed checks: the wall-clock promises that used to sit in the test suite (`deno task bench -- --only
 * checks`). A test asserts behaviour, not the machine's speed — on a loaded machine these numbers say
 * nothing about correctness — so they are measured here, on a machine you chose to measure, each against
 * the limit it promises.
 * @module
 */
import { fileURLToPath } from "node:url";
import { selectBackend } from "../lib/backend.ts";
import { randomResizedCropFlip } from "../lib/data/augment.ts";
import { generateSynthetic, generateSyntheticSplit } from "../lib/data/synthetic.ts";
import { knnClassify } from "../lib/eval/knn.ts";
import { Rng } from "../lib/rng.ts";

/** One speed check: what was measured, against which limit, and whether it was met. */
export interface SpeedCheck {
  name: string;
  value: number;
  unit: string;
  /** `value` must be at least (`min`) or at most (`max`) `limit`. */
  bound: "min" | "max";
  limit: number;
  ok: boolean;
  /** Set when the check could not run here (no PyTorch for the peer's BLAS check). */
  skipped?: string;
}

function check(name: string, value: number, unit: string, bound: "min" | "max", limit: number): SpeedCheck {
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    name,
    value: round(value),
    unit,
    bound,
    limit,
    ok: bound === "min" ? value >= limit : value <= limit,
  };
}

/** The data pipeline must outrun the model (~40 img/s on the reference config) by far. */
function augmentThroughput(): SpeedCheck {
  const split = generateSyntheticSplit({ seed: 0, split: "train", perClass: 100, size: 32 });
  const rng = new Rng(0);
  const indices = Array.from({ length: 256 }, (_, i) => i);
  randomResizedCropFlip(split, indices, 32, rng); // warm-up
  const start = performance.now();
  let images = 0;
  while (performance.now() - start < 300) {
    randomResizedCropFlip(split, indices, 32, rng);
    images += indices.length;
  }
  const perSecond = images / ((performance.now() - start) / 1000);
  return check("randomResizedCropFlip at 32 px", perSecond, "img/s", "min", 400);
}

/** The smoke profile's data is generated on every call: 2,000 images at 32 px well under 2 s. */
function syntheticGeneration(): SpeedCheck {
  const start = performance.now();
  generateSynthetic({ seed: 0, size: 32, trainPerClass: 200, valPerClass: 0 });
  return check("synthetic data, 2,000 images at 32 px", performance.now() - start, "ms", "max", 2000);
}

/** k-NN over a Tiny-ImageNet-sized bank (N = 50k, D = 192, 500 queries) in seconds. */
async function knnSpeed(): Promise<SpeedCheck> {
  const rng = new Rng(3);
  const N = 50_000, D = 192, M = 500, C = 100;
  const normal = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const trainFeatures = normal(N * D);
  const trainLabels = Int32Array.from({ length: N }, () => rng.int(C));
  const queryFeatures = normal(M * D);
  const t0 = performance.now();
  await knnClassify({ trainFeatures, trainLabels, queryFeatures, numClasses: C, k: 20, temperature: 0.07 });
  return check("k-NN, N = 50k, D = 192, 500 queries", (performance.now() - t0) / 1000, "s", "max", 20);
}

/** `main.ts <command> --help` answers before loading a backend or any data. */
async function helpLatency(): Promise<SpeedCheck> {
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "pretrain", "--help"],
    stdout: "null",
    stderr: "null",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) throw new Error(`main.ts pretrain --help exited ${out.code}`);
  return check("main.ts pretrain --help", seconds, "s", "max", 5);
}

/** The peer's BLAS: reference BLAS reaches ~2–3 GFLOP/s, OpenBLAS tens (a fair comparison needs the latter). */
async function peerSgemm(): Promise<SpeedCheck> {
  const { ensurePeer, MIN_FAIR_SGEMM_GFLOPS } = await import("./peer.ts");
  const status = await ensurePeer({ install: false });
  if (!status.ready || !status.probe) {
    return {
      ...check("PyTorch sgemm 1024² on 1 thread", 0, "GFLOP/s", "min", MIN_FAIR_SGEMM_GFLOPS),
      ok: true,
      skipped: status.reason ?? "no PyTorch here",
    };
  }
  return check(
    "PyTorch sgemm 1024² on 1 thread",
    status.probe.sgemm1024Gflops,
    "GFLOP/s",
    "min",
    MIN_FAIR_SGEMM_GFLOPS,
  );
}

/** Runs every speed check on the wasm backend (the caller prints them). */
export async function runSpeedChecks(log: (line: string) => void): Promise<SpeedCheck[]> {
  await selectBackend("wasm");
  const out: SpeedCheck[] = [];
  for (const run of [augmentThroughput, syntheticGeneration, knnSpeed, helpLatency, peerSgemm]) {
    log(`bench: speed check ${run.name}`);
    out.push(await run());
  }
  return out;
}

/** One line per check: `ok`, `FAILED` or `skipped`, the value and its limit. */
export function describeCheck(c: SpeedCheck): string {
  if (c.skipped) return `speed check skipped: ${c.name} (${c.skipped})`;
  return `speed check ${c.ok ? "ok" : "FAILED"}: ${c.name}: ${c.value} ${c.unit} (${
    c.bound === "min" ? "at least" : "at most"
  } ${c.limit})`;
}
