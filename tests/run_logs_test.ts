/**
 * What a run writes besides `log.jsonl` (issue 26, item 5): progress lines inside each epoch, `metrics.csv`
 * and TensorBoard scalar event files, the latter checked byte for byte against records computed by hand (an
 * independent bit-by-bit CRC-32C, TFRecord framing, the Event protocol buffer written out field by field).
 */
import { table9 } from "../experiments/tables/table9.ts";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { RunCache } from "../lib/cache/mod.ts";
import { metricsCsv, type StepMetrics, trainLoop } from "../lib/train/loop.ts";
import {
  crc32c,
  EVENT_FILE_NAME,
  eventFile,
  fileVersionEvent,
  scalarEvent,
  tfRecord,
} from "../lib/tfevents.ts";
import type { Params } from "../lib/vit.ts";

await selectBackend("cpu");

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** CRC-32C bit by bit (the definition, not the table `lib/tfevents.ts` uses). */
function crc32cBitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (crc & 1 ? 0x82f63b78 : 0);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

Deno.test("tfevents: CRC-32C's check value; records equal hand-computed bytes", () => {
  const nine = new TextEncoder().encode("123456789");
  assert.equal(crc32c(nine), 0xe3069283, "the CRC-32C check value");
  const random = crypto.getRandomValues(new Uint8Array(1000));
  assert.equal(crc32c(random), crc32cBitwise(random));
  // Event{wall_time: 1.5, file_version: "brain.Event:2"}: 09 <1.5 as LE double> 1a 0d "brain.Event:2",
  // framed as length 24 (u64 LE), masked CRC of the length, the bytes, masked CRC of the bytes.
  assert.equal(hex(fileVersionEvent(1.5)), "09000000000000f83f1a0d627261696e2e4576656e743a32");
  assert.equal(
    hex(tfRecord(fileVersionEvent(1.5))),
    "1800000000000000a37f4b2209000000000000f83f1a0d627261696e2e4576656e743a322a28646c",
  );
  // Event{wall_time: 2, step: 3, summary{value{tag: "loss", simple_value: 0.5}}}.
  assert.equal(
    hex(tfRecord(scalarEvent(2, 3, { loss: 0.5 }))),
    "1a00000000000000129bd82d09000000000000004010032a0d0a0b0a046c6f7373150000003fbac36b94",
  );
  const file = eventFile([{ step: 3, wallTime: 2, scalars: { loss: 0.5 } }], 1.5);
  assert.equal(
    hex(file),
    hex(tfRecord(fileVersionEvent(1.5))) + hex(tfRecord(scalarEvent(2, 3, { loss: 0.5 }))),
  );
});

Deno.test("metrics.csv: one row per epoch, every metric a column, blanks where an epoch lacks one", () => {
  assert.equal(
    metricsCsv([{ epoch: 1, loss: 0.5 }, { epoch: 2, loss: 0.25, top1: 40 }]),
    "epoch,loss,top1\n1,0.5,\n2,0.25,40\n",
  );
});

Deno.test("a training loop logs progress inside each epoch and writes metrics.csv and TensorBoard events", async () => {
  const dir = await Deno.makeTempDir({ prefix: "run_logs_test_" });
  const params: Params = new Map([["w", tf.variable(tf.zeros([2]), true, `rl_w_${crypto.randomUUID()}`)]]);
  const lines: string[] = [];
  try {
    const run = new RunCache(dir).runDir("0123456789abcdef");
    await trainLoop({
      run,
      params,
      optimizer: { step: 0, stateTensors: () => new Map<string, tf.Tensor>(), loadState: () => {} },
      epochs: 2,
      datasetSize: 6,
      batchSize: 2,
      seed: 0,
      log: (l) => lines.push(l),
      progress: false,
      progressEvery: 0,
      step: (ctx): Promise<StepMetrics> => Promise.resolve({ lr: 0.1, loss: 1 / (ctx.globalStep + 1) }),
      evaluate: () => Promise.resolve({ top1: 50 }),
    });
    const progress = lines.filter((l) => / step \d\/3: /.test(l));
    assert.equal(progress.length, 4, `two lines inside each epoch of 3 steps:\n${lines.join("\n")}`);
    assert.match(
      progress[0],
      /^ {2}epoch 1\/2 step 1\/3: loss 1\.0000, [\d.]+ img\/s, ETA \S+ \(epoch\), \S+ \(run\)$/,
    );
    const csv = (await Deno.readTextFile(`${run.path}/metrics.csv`)).trim().split("\n");
    assert.equal(csv[0], "epoch,lr,loss,imgPerSec,seconds,top1");
    assert.equal(csv.length, 3);
    assert.match(csv[2], /^2,0\.1\d*,0\.2\d+,[\d.e+-]+,[\d.e+-]+,50$/);
    const events = await Deno.readFile(`${run.path}/${EVENT_FILE_NAME}`);
    // Three records: the version and one per epoch; each record's framing checks out.
    let o = 0, records = 0;
    const view = new DataView(events.buffer);
    while (o < events.length) {
      const n = Number(view.getBigUint64(o, true));
      const data = events.subarray(o + 12, o + 12 + n);
      const c = crc32cBitwise(data);
      assert.equal(view.getUint32(o + 12 + n, true), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
      o += 16 + n;
      records++;
    }
    assert.equal(records, 3);
    assert.ok(new TextDecoder().decode(events).includes("top1"));
  } finally {
    params.get("w")!.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The smoke profile with a made-up throughput model: 60 s per pre-training and per fine-tuning. */
async function smokeWithThroughput() {
  const { getProfile } = await import("../experiments/profiles.ts");
  const profile = getProfile("smoke");
  profile.throughput = { measured: "a test", trainImages: 600, pretrain: { random: 60 }, finetune: 60 };
  return profile;
}

Deno.test("a table gives its ETA at the start, from plan's estimate over its processes", async () => {
  const { runTable } = await import("../app/tables/mod.ts");
  const dir = await Deno.makeTempDir({ prefix: "run_logs_table_" });
  const lines: string[] = [];
  try {
    const profile = await smokeWithThroughput();
    const ctx = {
      profile,
      cacheDir: `${dir}/cache`,
      backend: "cpu",
      log: (l: string) => lines.push(l),
      stopSignal: { stopped: true }, // a SIGINT before the first unit: nothing trains, the ETA is said first
    };
    await assert.rejects(
      runTable(ctx, table9, {
        seeds: [0, 1],
        jobs: 2,
        reportsDir: `${dir}/r`,
        rows: ["mae"],
        shard: undefined,
      }),
      (e: Error) => e.name === "InterruptedError",
    );
    // 2 units of (600 × 3 / 60 + 600 × 3 / 60) s = 60 s each: 120 s of compute, 60 s on 2 processes.
    assert.deepEqual(
      lines.filter((l) => l.startsWith("table9: 2 units")),
      [
        "table9: 2 units to run: ≈ 60 s with 2 processes (2 min of compute) (estimate from the throughput " +
        "measured on a test; refined as units finish)",
      ],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a table's running estimate counts only the units not already cached", async () => {
  const { runTable } = await import("../app/tables/mod.ts");
  const { selectBackend } = await import("../lib/backend.ts");
  await selectBackend("wasm", { blas: "off" });
  const dir = await Deno.makeTempDir({ prefix: "run_logs_left_" });
  const lines: string[] = [];
  try {
    const profile = await smokeWithThroughput();
    const ctx = {
      profile,
      cacheDir: `${dir}/cache`,
      backend: "wasm",
      log: (l: string) => lines.push(l),
      stopSignal: { stopped: false },
    };
    const opts = { jobs: 1, reportsDir: `${dir}/r`, rows: ["mae"] };
    await runTable(ctx, table9, { ...opts, seeds: [1] });
    lines.length = 0;
    // Seed 0 trains first; seed 1, after it, is a cache hit: nothing of the table is left once seed 0 is done.
    await runTable(ctx, table9, { ...opts, seeds: [0, 1] });
    const done = lines.filter((l) => l.startsWith("[table9 mae s0] done"));
    assert.equal(done.length, 1, lines.join("\n"));
    assert.doesNotMatch(done[0], /of the table left/);
    assert.ok(lines.some((l) => l.startsWith("table9: 1 unit to run")), lines.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
