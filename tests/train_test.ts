/**
 * The training stack end to end through `app/runner.ts` on the smoke profile (synthetic data, wasm): a
 * pre-training run finishes with a falling loss and is a cache hit the second time; an interrupted run resumes
 * to bit-identical weights; a NaN loss stops with a NumericError that names the step and keeps the last
 * checkpoint; fine-tuning the pre-trained encoder beats chance.
 */
import assert from "node:assert/strict";
import { selectBackend } from "../lib/backend.ts";
import { RunCache } from "../lib/cache/mod.ts";
import { ensureFinetune, ensurePretrain, profileData, type RunContext } from "../app/runner.ts";
import type { PretrainOutcome } from "../lib/train/pretrain.ts";
import type { Params } from "../lib/vit.ts";
import { getProfile } from "../experiments/profiles.ts";

const RANDOM = { seed: 0, strategy: { name: "random" } };

function context(cacheDir: string, over: Partial<RunContext> = {}): RunContext & { logs: string[] } {
  const logs: string[] = [];
  return {
    profile: getProfile("smoke"),
    cacheDir,
    backend: "wasm",
    log: (l) => logs.push(l),
    stopSignal: { stopped: false },
    progress: false,
    logs,
    ...over,
  };
}

function weightsOf(params: Params): Map<string, Float32Array> {
  return new Map([...params].map(([n, v]) => [n, v.dataSync() as Float32Array]));
}

function dispose(outcome: PretrainOutcome): void {
  for (const v of outcome.params.values()) v.dispose();
}

/** Asserts two parameter maps are bit-for-bit equal. */
function assertSameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>, label: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${label}: parameter names`);
  for (const [n, x] of a) {
    const y = b.get(n)!;
    const xb = new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    const yb = new Uint8Array(y.buffer, y.byteOffset, y.byteLength);
    assert.ok(xb.length === yb.length && xb.every((v, i) => v === yb[i]), `${label}: ${n} differs`);
  }
}

async function withTempDirs(n: number, fn: (...dirs: string[]) => Promise<void>): Promise<void> {
  const dirs = await Promise.all(
    Array.from({ length: n }, () => Deno.makeTempDir({ prefix: "train_test_" })),
  );
  try {
    await fn(...dirs);
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
}

/** Optimisation steps per epoch of the smoke pre-training (drop-last batches). */
async function smokeStepsPerEpoch(): Promise<number> {
  const ctx = context((await referenceRun()).dir);
  const { train } = await profileData(ctx);
  return Math.floor(train.count / ctx.profile.pretrain.batchSize);
}

/** Memoised uninterrupted smoke pre-training (seed 0, random masking) in its own cache directory. */
let reference: Promise<{ dir: string; weights: Map<string, Float32Array>; outcome: PretrainOutcome }> | null =
  null;
function referenceRun() {
  reference ??= (async () => {
    await selectBackend("wasm");
    const dir = await Deno.makeTempDir({ prefix: "train_test_ref_" });
    const outcome = await ensurePretrain(context(dir), RANDOM);
    return { dir, weights: weightsOf(outcome.params), outcome };
  })();
  return reference;
}

Deno.test("smoke pre-training finishes, the loss falls, and a second call is a cache hit with identical weights", async () => {
  const ref = await referenceRun();
  const { outcome } = ref;
  assert.equal(outcome.cacheHit, false);
  const profile = getProfile("smoke");
  assert.equal(outcome.history.length, profile.pretrain.epochs);
  const losses = outcome.history.map((r) => r.loss);
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[losses.length - 1] < 0.9 * losses[0], `losses ${losses}`);
  assert.equal(outcome.metrics.loss, losses[losses.length - 1]);
  assert.equal(outcome.metrics.resumedFrom, null);
  // The finished run directory holds the final weights and metrics, no periodic checkpoints.
  const run = new RunCache(ref.dir).runDir(outcome.hash);
  assert.ok(await run.isComplete());
  assert.deepEqual(await run.listCheckpoints(), []);

  const again = context(ref.dir);
  const hit = await ensurePretrain(again, RANDOM);
  try {
    assert.equal(hit.cacheHit, true);
    assert.equal(hit.hash, outcome.hash);
    assert.ok(again.logs.some((l) => l.includes("cache hit")));
    assertSameWeights(weightsOf(hit.params), ref.weights, "cache hit");
    assert.deepEqual(hit.history.map((r) => r.loss), losses);
  } finally {
    dispose(hit);
  }
});

/** Memoised: a smoke run stopped in the middle of its last epoch, then resumed in a second call. */
let interrupted:
  | Promise<{ stopAfter: number; resumed: PretrainOutcome; weights: Map<string, Float32Array> }>
  | null = null;
function interruptedRun() {
  interrupted ??= (async () => {
    const ref = await referenceRun();
    const stepsPerEpoch = await smokeStepsPerEpoch();
    assert.ok(stepsPerEpoch > 2, `the smoke profile has ${stepsPerEpoch} steps per epoch`);
    // Stop in the middle of the last epoch, so the resumed run re-enters an epoch half done.
    const stopAfter = 2 * stepsPerEpoch + Math.floor(stepsPerEpoch / 2);
    const dir = await Deno.makeTempDir({ prefix: "train_test_int_" });
    try {
      const first = context(dir);
      first.lossHook = (step, loss) => {
        if (step === stopAfter) first.stopSignal.stopped = true;
        return loss;
      };
      await assert.rejects(ensurePretrain(first, RANDOM), (e: Error) => {
        assert.equal(e.name, "InterruptedError");
        assert.match(e.message, new RegExp(`epoch 2, step ${stopAfter + 1 - 2 * stepsPerEpoch}\\b`));
        assert.match(e.message, /resume/);
        return true;
      });
      const run = new RunCache(dir).runDir(ref.outcome.hash);
      assert.equal(await run.isComplete(), false);
      assert.ok((await run.listCheckpoints()).includes(stopAfter + 1), "a checkpoint at the interruption");
      const second = context(dir);
      const resumed = await ensurePretrain(second, RANDOM);
      assert.ok(second.logs.some((l) => l.startsWith("resuming")));
      return { stopAfter, resumed, weights: weightsOf(resumed.params) };
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  })();
  return interrupted;
}

Deno.test("a run interrupted mid-epoch resumes to bit-identical weights", async () => {
  const ref = await referenceRun();
  const { stopAfter, resumed, weights } = await interruptedRun();
  assert.equal(resumed.cacheHit, false);
  assert.equal(resumed.metrics.resumedFrom, stopAfter + 1);
  assertSameWeights(weights, ref.weights, "resumed");
});

Deno.test("a run interrupted mid-epoch logs the same per-epoch mean losses as an uninterrupted one", async () => {
  const ref = await referenceRun();
  const { resumed } = await interruptedRun();
  // The epoch cut in two must average all of its steps, not only those after the resume.
  assert.deepEqual(
    resumed.history.map((r) => r.loss),
    ref.outcome.history.map((r) => r.loss),
    "per-epoch losses",
  );
  assert.equal(resumed.metrics.loss, ref.outcome.metrics.loss);
});

Deno.test("a NaN loss stops with a NumericError naming the step; the last checkpoint is kept and resumable", async () => {
  const ref = await referenceRun();
  await withTempDirs(1, async (dir) => {
    const ctx = context(dir);
    const stepsPerEpoch = await smokeStepsPerEpoch();
    const badStep = stepsPerEpoch + 3; // in the second epoch, after the first checkpoint
    ctx.lossHook = (step, loss) => (step === badStep ? NaN : loss);
    await assert.rejects(ensurePretrain(ctx, RANDOM), (e: Error) => {
      assert.equal(e.name, "NumericError");
      assert.match(e.message, new RegExp(`global step ${badStep}\\b`));
      assert.match(e.message, /NaN/);
      return true;
    });
    const run = new RunCache(dir).runDir(ref.outcome.hash);
    assert.equal(await run.isComplete(), false, "no final result after a NaN");
    const ckpt = await run.latestCheckpoint();
    assert.ok(ckpt, "the last good checkpoint is kept");
    assert.equal(ckpt.epoch, stepsPerEpoch);
    assert.equal((ckpt.state as { epoch: number }).epoch, 1);
    // Without the injected NaN the run resumes from that checkpoint and ends where the reference ends.
    const resumed = await ensurePretrain(context(dir), RANDOM);
    try {
      assert.equal(resumed.metrics.resumedFrom, stepsPerEpoch);
      assertSameWeights(weightsOf(resumed.params), ref.weights, "resumed after NaN");
    } finally {
      dispose(resumed);
    }
  });
});

Deno.test("fine-tuning the pre-trained encoder beats chance on the smoke val set", async () => {
  const ref = await referenceRun();
  const ctx = context(ref.dir);
  const ft = await ensureFinetune(ctx, ref.outcome, 0);
  const chance = 100 / (ctx.profile.dataset.numClasses ?? 10);
  assert.equal(ft.cacheHit, false);
  assert.ok(ft.top1 > 2 * chance, `top-1 ${ft.top1}% vs chance ${chance}%`);
  assert.equal(ft.history.length, ctx.profile.finetune.epochs);
  const again = await ensureFinetune(context(ref.dir), ref.outcome, 0);
  assert.equal(again.cacheHit, true);
  assert.equal(again.top1, ft.top1);
});

Deno.test("cleanup: the reference run's cache directory", async () => {
  if (interrupted) dispose((await interrupted).resumed);
  interrupted = null;
  if (!reference) return;
  const ref = await reference;
  dispose(ref.outcome);
  await Deno.remove(ref.dir, { recursive: true });
  reference = null;
});
