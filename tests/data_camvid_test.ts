import { ok, strictEqual } from "node:assert/strict";
import { CAMVID_CLASS_NAMES, CAMVID_VOID, loadDataset } from "../lib/data/mod.ts";
import { needsLocalDataset } from "./local_datasets.ts";

Deno.test({
  ...await needsLocalDataset(
    "camvid",
    "camvid: the local archive loads 367/101 images with aligned label maps",
  ),
}, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gpa-camvid-" });
  try {
    const { train, val } = await loadDataset(
      { name: "camvid", resolution: 32 },
      { cacheDir: `${tmp}/cache`, log: () => {} },
    );
    strictEqual(train.count, 367);
    strictEqual(val.count, 101);
    strictEqual(train.segmentation!.length, 367 * 32 * 32);
    strictEqual(val.images.length, 101 * 32 * 32 * 3);
    strictEqual(train.numClasses, 11);
    strictEqual(train.classNames.length, CAMVID_CLASS_NAMES.length);
    strictEqual(train.ignoreLabel, CAMVID_VOID);
    const histogram = new Array<number>(256).fill(0);
    for (const v of train.segmentation!) histogram[v]++;
    ok(histogram.slice(12).every((n) => n === 0), "labels are within 0..11");
    ok(histogram.slice(0, 11).every((n) => n > 0), "every class occurs in train");
    // Road scenes: sky (0) dominates the top rows, road (3) the bottom rows.
    let skyTop = 0, roadBottom = 0;
    for (let n = 0; n < train.count; n++) {
      for (let x = 0; x < 32; x++) {
        if (train.segmentation![n * 1024 + 1 * 32 + x] === 0) skyTop++;
        if (train.segmentation![n * 1024 + 30 * 32 + x] === 3) roadBottom++;
      }
    }
    ok(skyTop > 0.5 * 367 * 32, `sky in row 1: ${skyTop}`);
    ok(roadBottom > 0.4 * 367 * 32, `road in row 30: ${roadBottom}`);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
