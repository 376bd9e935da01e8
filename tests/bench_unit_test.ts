import assert from "node:assert/strict";
import { formatUnitBench, shortenedProfile } from "../bench/unit.ts";
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
      "pretrain",
      "pretrain-eval",
      "finetune",
      "finetune-eval",
    ]);
    assert.equal(unit.epochs, 1);
    const smoke = getProfile("smoke");
    assert.deepEqual(unit.profileEpochs, {
      pretrain: smoke.pretrain.epochs,
      finetune: smoke.finetune.epochs,
    });
    const pre = unit.phases[1];
    // Training phases scale with the epochs: 1 epoch here, the profile's 3 projected.
    assert.ok(
      Math.abs(pre.projectedSeconds - pre.seconds * smoke.pretrain.epochs) < 0.02 + 1e-9,
      JSON.stringify(pre),
    );
    assert.equal(pre.images, unit.trainImages);
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
