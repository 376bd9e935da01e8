import assert from "node:assert/strict";
import { formatUnitBench, shortenedProfile, unitPhases } from "../bench/unit.ts";
import { getProfile } from "../experiments/profiles.ts";
import { main } from "../main.ts";

Deno.test("shortenedProfile: each stage's epochs and warm-up cut, the profile itself untouched", () => {
  const cpu = getProfile("cpu");
  const short = shortenedProfile(cpu, 1);
  assert.equal(short.pretrain.epochs, 1);
  assert.equal(short.finetune.epochs, 1);
  assert.ok(short.pretrain.warmupEpochs <= 1 && short.finetune.warmupEpochs <= 1);
  assert.equal(cpu.pretrain.epochs, 4);
  // Never longer than the profile.
  assert.equal(shortenedProfile(cpu, 100).pretrain.epochs, cpu.pretrain.epochs);
});

Deno.test("bench --unit: a smoke unit timed by phase, projected to the profile's epochs", async () => {
  const dir = await Deno.makeTempDir();
  const log = console.log;
  let out = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  try {
    const code = await main([
      "bench",
      "--unit",
      "--profile",
      "smoke",
      "--quiet",
      "--json",
      "--cache-dir",
      dir,
    ]);
    assert.equal(code, 0);
  } finally {
    console.log = log;
  }
  try {
    const { unit } = JSON.parse(out);
    assert.deepEqual(unit.phases.map((p: { phase: string }) => p.phase), [
      "data",
      "setup",
      "pretrain",
      "pretrain-probe",
      "pretrain-knn",
      "finetune",
      "finetune-eval",
    ]);
    assert.equal(unit.epochs, 1);
    const smoke = getProfile("smoke");
    assert.deepEqual(unit.profileEpochs, {
      pretrain: smoke.pretrain.epochs,
      finetune: smoke.finetune.epochs,
    });
    const pre = unit.phases[2];
    // Training phases scale with the epochs: 1 epoch here, the profile's 3 projected.
    assert.ok(
      Math.abs(pre.projectedSeconds - pre.seconds * smoke.pretrain.epochs) < 0.02 + 1e-9,
      JSON.stringify(pre),
    );
    // Drop-last batches: at most one batch short of the train set.
    assert.ok(pre.images <= unit.trainImages && pre.images > 0, JSON.stringify(pre));
    assert.ok(pre.gflopPerSec > 0 && pre.shareOfPeak > 0 && unit.gemmPeakGflops > 0);
    const shares = Object.values(unit.projectedShare as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(shares - 1) < 0.01, String(shares));
    assert.match(formatUnitBench(unit), /^unit: Table 1 row mae, seed 0, profile smoke/);
    // The unit's runs went to a temporary cache of their own: only the dataset is in the given one.
    assert.equal(await Deno.stat(`${dir}/runs`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench --unit: a row Table 1 does not pre-train, or --unit-epochs without --unit, is a usage error", async () => {
  const error = console.error;
  console.error = () => {};
  try {
    assert.equal(await main(["bench", "--unit", "--profile", "smoke", "--unit-row", "random-init"]), 2);
    assert.equal(await main(["bench", "--unit-epochs", "2"]), 2);
    assert.equal(await main(["bench", "--unit", "--unit-epochs", "0"]), 2);
  } finally {
    console.error = error;
  }
});

Deno.test("unitPhases: per-epoch phases scale to the profile's epochs, once-per-run phases do not (hand-computed)", () => {
  const phases = unitPhases(
    {
      dataSeconds: 5,
      setupSeconds: 2,
      // 2 epochs of 100 s at 120 img/s: 24,000 images.
      pretrainEpochs: [{ seconds: 100, imgPerSec: 120 }, { seconds: 100, imgPerSec: 120 }],
      pretrainLoopSeconds: 210, // + 10 s of probe evaluation (5 per epoch)
      pretrainSeconds: 240, // + 30 s of k-NN and checkpoint
      finetuneEpochs: [
        { seconds: 50, imgPerSec: 200, evaluated: true },
        { seconds: 50, imgPerSec: 200, evaluated: true },
      ],
      finetuneLoopSeconds: 108, // + 8 s of evaluation (4 per epoch)
      trainImages: 12_500,
      valImages: 2_500,
    },
    { pretrain: 1e9, encoderForward: 2e8, finetune: 6e8 },
    { pretrainEpochs: 8, finetuneEpochs: 4 },
    100,
  );
  const by = Object.fromEntries(phases.map((p) => [p.phase, p]));
  assert.equal(by.pretrain.images, 24_000);
  assert.equal(by.pretrain.imgPerSec, 120);
  assert.equal(by.pretrain.gflopPerSec, 120); // 120 img/s × 1 GFLOP
  assert.equal(by.pretrain.shareOfPeak, 1.2);
  assert.equal(by.pretrain.projectedSeconds, 800); // 100 s/epoch × 8
  assert.equal(by["pretrain-probe"].seconds, 10);
  assert.equal(by["pretrain-probe"].images, 5_000); // val once per epoch
  assert.equal(by["pretrain-probe"].projectedSeconds, 40);
  assert.equal(by["pretrain-knn"].seconds, 30);
  assert.equal(by["pretrain-knn"].projectedSeconds, 30); // once per run
  assert.equal(by["pretrain-knn"].gflopPerSec, 100); // 15,000 images × 0.2 GFLOP / 30 s
  assert.equal(by.finetune.projectedSeconds, 200);
  assert.equal(by.finetune.gflopPerSec, 120); // 200 img/s × 0.6 GFLOP
  assert.equal(by["finetune-eval"].images, 5_000);
  assert.equal(by["finetune-eval"].projectedSeconds, 16); // 4 s per evaluated epoch × 4
  assert.equal(by.data.projectedSeconds, 5);
  assert.equal(by.setup.gflopPerSec, null);
});
