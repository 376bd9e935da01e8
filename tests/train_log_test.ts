/**
 * The run log after failed attempts (issue 25, item 6): an attempt that logs an epoch and then fails to save
 * its checkpoint (a full disk) must not leave a copy of that epoch's record behind for every retry — the log
 * holds exactly the epochs of the checkpoint a loop starts from, one record each.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { RunCache } from "../lib/cache/mod.ts";
import { epochRecords, type StepMetrics, trainLoop } from "../lib/train/loop.ts";
import type { Params } from "../lib/vit.ts";

await selectBackend("cpu");

const HASH = "fedcba9876543210";

/** Two epochs of two steps on `dir`'s run; its checkpoint save fails (ENOSPC) while `failures.left > 0`. */
async function attempt(dir: string, failures: { left: number }, epochs = 2) {
  const run = new RunCache(dir).runDir(HASH);
  const save = run.saveCheckpoint.bind(run);
  run.saveCheckpoint = (...args: Parameters<typeof save>) => {
    if (failures.left-- > 0) return Promise.reject(new Error("No space left on device (os error 28)"));
    return save(...args);
  };
  const params: Params = new Map([["w", tf.variable(tf.zeros([2]), true, `tl_w_${crypto.randomUUID()}`)]]);
  try {
    return await trainLoop({
      run,
      params,
      optimizer: { step: 0, stateTensors: () => new Map<string, tf.Tensor>(), loadState: () => {} },
      epochs,
      datasetSize: 2,
      batchSize: 1,
      seed: 0,
      log: () => {},
      progress: false,
      step: (ctx): Promise<StepMetrics> => Promise.resolve({ lr: 0.1, loss: 1 / (ctx.globalStep + 1) }),
    });
  } finally {
    params.get("w")!.dispose();
  }
}

async function logLines(dir: string): Promise<{ epoch: number }[]> {
  const text = await Deno.readTextFile(`${dir}/runs/${HASH}/log.jsonl`);
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("retries after a failed checkpoint save leave one log record per epoch", async () => {
  const dir = await Deno.makeTempDir({ prefix: "train_log_test_" });
  try {
    const failures = { left: 2 };
    await assert.rejects(attempt(dir, failures), /No space left/);
    await assert.rejects(attempt(dir, failures), /No space left/);
    const done = await attempt(dir, failures);
    assert.deepEqual(done.history.map((r) => r.epoch), [1, 2]);
    assert.deepEqual((await logLines(dir)).map((r) => r.epoch), [1, 2], "no duplicate of epoch 1");
    // A resume from the epoch-1 checkpoint after epoch 2 was logged (the final save failed): epoch 2 once.
    const resumed = await attempt(dir, { left: 0 });
    assert.equal(resumed.resumedFrom, 2, "resumed at epoch 1's end");
    assert.deepEqual((await logLines(dir)).map((r) => r.epoch), [1, 2]);
    // A fresh start (no checkpoint survives) begins with an empty log.
    for await (const e of Deno.readDir(`${dir}/runs/${HASH}`)) {
      if (e.name.startsWith("ckpt-")) await Deno.remove(`${dir}/runs/${HASH}/${e.name}`);
    }
    await attempt(dir, { left: 0 }, 1);
    assert.deepEqual((await logLines(dir)).map((r) => r.epoch), [1]);
    assert.deepEqual(epochRecords(await new RunCache(dir).runDir(HASH).readLog()).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
