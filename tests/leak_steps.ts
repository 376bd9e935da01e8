/**
 * No tensor leaks over N training steps (helper, not a test file): the tensor count and the bytes held by the
 * backend stay constant from step 10 to step N for the MAE step, the GPA step with a per-step teacher and MAM,
 * and the GPA step with cached maps — on the wasm backend, with micro-batching, at a tiny model size.
 * `tests/leak_test.ts` runs 30 steps in the default suite; `tests/slow/leak_test.ts` the 1000-step
 * soak (`deno task test:slow`).
 */
import assert from "node:assert/strict";
import { TINY_MAE } from "./fixtures.ts";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { openBlas } from "../lib/blas.ts";
import { randomResizedCropFlip } from "../lib/data/augment.ts";
import { generateSyntheticSplit } from "../lib/data/synthetic.ts";
import { GpaMapCache, gpaStrategy, Teacher } from "../lib/gpa.ts";
import { initMae, type MaeConfig } from "../lib/mae.ts";
import { MaskedAttentionModeling } from "../lib/mam.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import type { MaskStrategy } from "../lib/masking/types.ts";
import { Rng } from "../lib/rng.ts";
import { AdamW } from "../lib/train/optim.ts";
import { makePretrainStep } from "../lib/train/pretrain_step.ts";
import { gridOf } from "../lib/vit.ts";

const CFG: MaeConfig = { ...TINY_MAE, imageSize: 8, patchSize: 2 };
const BATCH = 4;

/** Registers one leak test per variant and wasm matMul engine, each over `STEPS` steps. */
export function defineLeakTests(STEPS: number): void {
  // Both wasm matMul engines: their ops layers differ (explicit transposes and depthwise attention on XNNPACK).
  const ENGINES = openBlas(1).ok ? (["off", "on"] as const) : (["off"] as const);
  for (const blas of ENGINES) {
    for (const variant of ["mae", "gpa-mam", "gpa-cached"] as const) {
      const engine = blas === "on" ? "OpenBLAS" : "XNNPACK";
      Deno.test(`${variant}: no tensor or memory growth over ${STEPS} steps (wasm, ${engine}, micro-batches of 2)`, async () => {
        await selectBackend("wasm", { blas });
        const rng = new Rng(7);
        const split = generateSyntheticSplit({
          perClass: 1,
          size: 8,
          numClasses: 10,
          seed: 2,
          split: "train",
        });
        const params = initMae(CFG, rng.fork("init"));
        let teacher: Teacher | undefined;
        let strategy: MaskStrategy = createMaskStrategy("random", { maskRatio: 0.75 });
        const extensions = [];
        if (variant !== "mae") {
          const tp = initMae(CFG, rng.fork("teacher"));
          for (const [n, v] of tp) {
            if (n.startsWith("decoder") || n === "mask_token") (v.dispose(), tp.delete(n));
          }
          teacher = new Teacher(tp, CFG, { block: 1, head: -1 }, "paper");
          if (variant === "gpa-cached") {
            strategy = gpaStrategy(teacher, {
              maps: "cached",
              cache: await GpaMapCache.build(teacher, split),
            });
          } else {
            strategy = gpaStrategy(teacher, {});
            const mam = new MaskedAttentionModeling();
            mam.initParams(params, CFG, rng.fork("mam"));
            extensions.push(mam);
          }
        }
        const optimizer = new AdamW(params, { weightDecay: 0.05 });
        // Micro-batches of 2 as an option, never through GPA_MICRO_BATCH: under --parallel, test files share
        // the process environment, and other files' runs (and their subprocesses) would train differently.
        const step = makePretrainStep({
          cfg: CFG,
          params,
          optimizer,
          strategy,
          extensions,
          lr: () => 1e-3,
          microBatch: 2,
        });
        const grid = gridOf(CFG);
        let tensors = 0;
        let bytes = 0;
        try {
          for (let i = 0; i < STEPS; i++) {
            const ids = Int32Array.from({ length: BATCH }, (_, j) => (i * BATCH + j) % split.count);
            const views = randomResizedCropFlip(split, ids, CFG.imageSize, rng.fork(`a${i}`), {
              scale: [0.2, 1],
            });
            await step({
              images: views.images,
              batch: BATCH,
              progress: i / STEPS,
              epoch: Math.floor((i * 4) / STEPS),
              step: i,
              rng: rng.fork(`s${i}`),
              grid,
              sampleIds: ids,
              crops: views.crops,
            });
            if (i === 9) ({ numTensors: tensors, numBytes: bytes } = tf.memory());
          }
          assert.ok(tensors > 0, "the model's variables are counted");
          const end = tf.memory();
          assert.equal(
            end.numTensors,
            tensors,
            `tensors: ${tensors} after step 10, ${end.numTensors} after ${STEPS}`,
          );
          assert.equal(end.numBytes, bytes, `bytes: ${bytes} after step 10, ${end.numBytes} after ${STEPS}`);
        } finally {
          optimizer.dispose();
          for (const v of params.values()) v.dispose();
          teacher?.dispose();
        }
      });
    }
  }
}
