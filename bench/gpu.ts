/**
 * GPU check (run by bench/gpu.sh on a machine with an NVIDIA GPU and Vulkan): the `webgpu` backend trains
 * correctly (fixed-seed loss and gradients against the pure-JS `cpu` backend) and how fast it runs MAE / GPA /
 * GPA+MAM / fine-tuning steps at 32 px (the reference config) and at ViT-B/16, 224 px. Prints one JSON object.
 * @module
 */
import { probeWebGpu, selectBackend } from "../lib/backend.ts";
import type { MaeConfig } from "../lib/mae.ts";
import { CHECK_MODEL, fixedSeedMaeStep, relativeL2 } from "./backend_check.ts";
import { runBench } from "./mod.ts";
import { getProfile } from "../experiments/profiles.ts";

// The paper's backbone (ViT-B/16, decoder 512 × 8), as the "paper" profile defines it.
const VIT_B16: MaeConfig = getProfile("paper").model;

const log = (l: string) => console.error(l);
const out: Record<string, unknown> = { date: new Date().toISOString(), adapter: await probeWebGpu() };
const t0 = performance.now();
log(`adapter: ${JSON.stringify(out.adapter)}`);

// 1. Correctness: webgpu vs cpu on the same fixed-seed batch (small model so the cpu side takes seconds).
await selectBackend("cpu");
const ref = await fixedSeedMaeStep(CHECK_MODEL, 8);
await selectBackend("webgpu");
const gpu = await fixedSeedMaeStep(CHECK_MODEL, 8);
// Relative L2 error of the whole gradient (per-tensor ratios are meaningless where a gradient is exactly zero
// in theory, e.g. the key bias, whose gradient is float noise on both sides).
const relGrad = relativeL2(gpu.grads, ref.grads);
out.correctness = {
  lossCpu: ref.loss,
  lossWebgpu: gpu.loss,
  lossRelDiff: Math.abs(gpu.loss - ref.loss) / Math.abs(ref.loss),
  gradRelL2: relGrad,
  pass: Math.abs(gpu.loss - ref.loss) / Math.abs(ref.loss) < 1e-4 && relGrad < 1e-4,
};
log(`correctness: ${JSON.stringify(out.correctness)}`);

// 2. Throughput at 32 px (reference config, batch 128) and at ViT-B/16 224 px (batch 64).
// GPU_BENCH_QUICK=1 shrinks it to a smoke check (e.g. on a software Vulkan driver).
const quick = Deno.env.get("GPU_BENCH_QUICK") === "1";
out.ref32 = await runBench(
  quick
    ? {
      backends: ["webgpu"],
      batch: 8,
      steps: 1,
      warmup: 0,
      ratioBatch: 8,
      log,
      only: ["mae-pretrain", "gpa-pretrain"],
    }
    : { backends: ["webgpu"], batch: 128, steps: 5, warmup: 2, ratioBatch: 128, log },
);
log(`ref32: ${JSON.stringify(out.ref32)}`);
// The target is the bench model at a large batch (≥ 1024) against the wasm path's img/s: at batch 128
// the step is bound by tfjs's ≈ 4000 dispatches, whose cost does not grow with the batch. Counted too, so a
// slow step can be told apart from a chatty one.
out.ref32Large = await runBench({
  backends: ["webgpu"],
  batch: quick ? 16 : 1024,
  steps: quick ? 1 : 3,
  warmup: 1,
  ratioBatch: quick ? 16 : 1024,
  only: ["mae-pretrain"],
  counts: true,
  log,
});
log(`ref32Large: ${JSON.stringify(out.ref32Large)}`);
if (!quick && Deno.env.get("GPU_BENCH_SKIP_VITB") !== "1") {
  out.vitB16 = await runBench({
    backends: ["webgpu"],
    batch: 64,
    steps: 3,
    warmup: 1,
    ratioBatch: 64,
    model: VIT_B16,
    only: ["mae-pretrain", "gpa-pretrain", "gpa-mam-pretrain", "finetune"],
    log,
  });
}
log(`vitB16: ${JSON.stringify(out.vitB16 ?? null)}`);
// fp32 peak (non-tensor-core) of the GPUs this check is likely to meet, for the achieved share of ViT-B/16.
const FP32_PEAK_GFLOPS: Record<string, number> = { H200: 67_000, H100: 67_000, A100: 19_500, L4: 30_300 };
const gpuName = Object.keys(FP32_PEAK_GFLOPS).find((k) =>
  (out.adapter as { description?: string } | null)?.description?.includes(k)
);
out.fp32PeakGflops = gpuName ? { gpu: gpuName, gflops: FP32_PEAK_GFLOPS[gpuName] } : null;
out.seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify(out, null, 2));
