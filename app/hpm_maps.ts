/**
 * HPM's predicted-loss maps from a finished HPM pre-training run: the run's encoder and its loss predictor
 * (`hpm_decoder`), for comparing where HPM's "hard" patches fall with GPA's (§1 / Figure 1(a)). The run's
 * final weights keep the student's predictor; HPM masks with an EMA copy of it (decay 0.999 → 0.9999), which
 * the final weights do not keep — late in training the two differ little.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { UsageError } from "../lib/cli.ts";
import { HardPatchesMining, predictPatchLosses } from "../lib/hpm.ts";
import { initMae, type MaeConfig } from "../lib/mae.ts";
import { Rng } from "../lib/rng.ts";
import { loadNamedInto } from "../lib/named_tensors.ts";
import type { Params } from "../lib/vit.ts";
import { runCache, type RunContext } from "./runner.ts";

/** A loaded HPM predictor: the run it came from, its weights and its model. */
export interface HpmPredictor {
  hash: string;
  params: Params;
  cfg: MaeConfig;
  /** `[n, L]` predicted per-patch losses of normalised NHWC images. */
  predict(images: Float32Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

/** Loads the loss predictor of finished HPM pre-training run `hash` from the context's cache. */
export async function loadHpmPredictor(ctx: RunContext, hash: string): Promise<HpmPredictor> {
  if (!/^[0-9a-f]{16}$/.test(hash)) {
    throw new UsageError(`--hpm-from takes an HPM pre-training run's hash (16 hex digits), got '${hash}'`);
  }
  const cache = runCache(ctx);
  const run = cache.runDir(hash);
  const config = (await run.readConfig()) as
    | { kind?: string; model?: MaeConfig; extensions?: { name?: string }[] }
    | null;
  const final = config ? await run.loadFinal() : null;
  if (!config || !final) {
    throw new UsageError(`--hpm-from ${hash}: no finished run with that hash in ${cache.runsDir}`);
  }
  if (config.kind !== "pretrain" || !config.model || !config.extensions?.some((e) => e.name === "hpm")) {
    throw new UsageError(
      `--hpm-from ${hash}: not an HPM pre-training run (give one run with --strategy hpm)`,
    );
  }
  const cfg = config.model;
  const params = initMae(cfg, new Rng(0));
  const hpm = new HardPatchesMining();
  hpm.initParams(params, cfg, new Rng(0));
  for (const v of hpm.teacher.values()) v.dispose(); // the EMA copy is not in the final weights
  loadNamedInto(final.tensors, params);
  return {
    hash,
    params,
    cfg,
    predict: (images, n) => predictPatchLosses(params, cfg, images, n),
    dispose: () => tf.dispose([...params.values()]),
  };
}
