import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { relativeLossTf } from "../lib/hpm.ts";
import { hpmRelativeLoss } from "../lib/masking/hpm.ts";
import { detach } from "../lib/ops.ts";
import { Rng } from "../lib/rng.ts";
import { childEnv } from "./cli_run.ts";

Deno.test("relativeLossTf equals the array reference (ties skipped, both orders counted)", async () => {
  await selectBackend("cpu");
  const rng = new Rng(3);
  const B = 3, N = 7;
  const pred = Float32Array.from({ length: B * N }, () => rng.normal());
  const truth = Float32Array.from({ length: B * N }, () => Math.round(rng.next() * 4)); // ties on purpose
  const got = (await relativeLossTf(tf.tensor2d(pred, [B, N]), tf.tensor2d(truth, [B, N])).data())[0];
  const want = hpmRelativeLoss(pred, truth, B, N);
  assert.ok(Math.abs(got - want) < 1e-5, `${got} vs ${want}`);
});

Deno.test("relativeLossTf: a perfectly ordered prediction scores lower than a reversed one", async () => {
  await selectBackend("cpu");
  const truth = tf.tensor2d([[1, 2, 3, 4]]);
  const good = (await relativeLossTf(tf.tensor2d([[1, 2, 3, 4]]), truth).data())[0];
  const bad = (await relativeLossTf(tf.tensor2d([[4, 3, 2, 1]]), truth).data())[0];
  assert.ok(good < Math.log(2) && bad > Math.log(2), `${good} ${bad}`);
});

Deno.test("detach: identity forward, zero gradient (the truth side of HPM's loss gets no gradient)", async () => {
  await selectBackend("cpu");
  const x = tf.tensor1d([1, -2, 3]);
  const [g] = tf.grads((a: tf.Tensor) => tf.sum(tf.add(tf.square(detach(a)), a)))([x]);
  assert.deepEqual(Array.from(await g.data()), [1, 1, 1]);
  assert.deepEqual(Array.from(await detach(x).data()), [1, -2, 3]);
});

Deno.test("HPM pre-training runs on smoke, is cached under its own hash, and its loss predictor learns", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const cmd = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", fileURLToPath(new URL("../main.ts", import.meta.url)), ...args],
        env: childEnv(),
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const base = ["pretrain", "--profile", "smoke", "--cache-dir", cache, "--json", "-q"];
    const hpm = await cmd([...base, "--strategy", "hpm"]);
    assert.equal(hpm.code, 0, new TextDecoder().decode(hpm.stderr));
    const out = JSON.parse(new TextDecoder().decode(hpm.stdout));
    const mae = JSON.parse(new TextDecoder().decode((await cmd([...base, "--strategy", "random"])).stdout));
    assert.notEqual(out.hash, mae.hash);
    const losses = out.history.map((r: Record<string, number>) => r.hpmLoss);
    assert.ok(losses[losses.length - 1] < losses[0], `hpm loss did not fall: ${losses}`);
    assert.ok(out.history[out.history.length - 1]["mask.hardCount"] > 0, "no hard patches late in training");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
