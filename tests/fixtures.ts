/** Small shared fixtures of the test suite (not a test file). */
import { getProfile } from "../experiments/profiles.ts";
import type { RunContext } from "../app/runner.ts";
import type { MaeConfig } from "../lib/mae.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import type { PretrainSpec } from "../lib/train/pretrain_spec.ts";
import type { Verdict } from "../lib/report/verdict_types.ts";

/** A tiny MAE (16 px, 8-d, 2 blocks): fast enough for exact checks on any backend. */
export const TINY_MAE: MaeConfig = {
  imageSize: 16,
  patchSize: 4,
  dim: 8,
  depth: 2,
  heads: 2,
  mlpRatio: 2,
  decoderDim: 8,
  decoderDepth: 1,
  decoderHeads: 2,
  normPixLoss: true,
};

/** The smoke profile's MAE pre-training spec (random masking), seed 0. */
export function smokePretrainSpec(): PretrainSpec {
  const p = getProfile("smoke");
  return {
    profile: p.name,
    dataset: p.dataset,
    model: p.model,
    recipe: p.pretrain,
    seed: 0,
    strategy: createMaskStrategy("random", { maskRatio: 0.75 }),
  };
}

/** A run context of a profile that trains nothing (for plans and reports). */
export function planContext(profile = "smoke"): RunContext {
  return {
    profile: getProfile(profile),
    cacheDir: "/unused",
    backend: "wasm",
    log: () => {},
    stopSignal: { stopped: false },
  };
}

/** A verdict for report tests: an inconclusive paired "GPA beats MAE", with `over` on top. */
export function verdictFixture(over: Partial<Verdict> = {}): Verdict {
  return {
    claimId: "c",
    text: "GPA beats MAE",
    kind: "greater",
    metric: "finetune",
    outcome: "inconclusive",
    rule: "",
    compared: { a: "gpa", b: "mae" },
    delta: 0.4,
    ci: [-0.1, 0.9],
    level: 0.95,
    method: "paired",
    n: "5 pairs",
    mde: 0.5,
    halfWidth: 0.5,
    pValue: 0.1,
    paperEffect: 0.5,
    seedsNeeded: 9,
    seedsNeededRange: null,
    vsPaper: null,
    rows: {},
    detail: "",
    ...over,
  };
}
