import { deepStrictEqual, notDeepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import sharp from "sharp";
import { CIFAR10_CLASS_NAMES, CIFAR_RECORD_BYTES, parseCifarBatch } from "../lib/data/cifar10.ts";
import { DataError, decodeStats, loadDataset } from "../lib/data/mod.ts";
import { needsLocalDataset } from "./local_datasets.ts";

/** One CIFAR record: label, then R, G, B planes with R = seed, G = 2·seed, B = pixel index mod 256. */
function record(label: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(CIFAR_RECORD_BYTES);
  bytes[0] = label;
  for (let p = 0; p < 1024; p++) {
    bytes[1 + p] = seed;
    bytes[1 + 1024 + p] = (2 * seed) & 255;
    bytes[1 + 2048 + p] = p & 255;
  }
  return bytes;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

Deno.test("cifar binary: records are parsed into HWC pixels and labels", () => {
  const { images, labels } = parseCifarBatch(concat([record(3, 10), record(9, 77)]));
  deepStrictEqual(Array.from(labels), [3, 9]);
  strictEqual(images.length, 2 * 3072);
  deepStrictEqual(Array.from(images.subarray(0, 3)), [10, 20, 0]); // pixel (0, 0)
  deepStrictEqual(Array.from(images.subarray(5 * 3, 5 * 3 + 3)), [10, 20, 5]); // pixel (0, 5)
  deepStrictEqual(Array.from(images.subarray(3072 + 300 * 3, 3072 + 300 * 3 + 3)), [77, 154, 300 & 255]);
  throws(() => parseCifarBatch(new Uint8Array(CIFAR_RECORD_BYTES + 1)), DataError);
  throws(() => parseCifarBatch(record(10, 0)), DataError);
});

Deno.test("cifar binary: loaded from a generated cifar-10-binary.tar.gz given as dataDir", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gpa-cifar-bin-" });
  try {
    // 5 train batches of 20 records (label = record % 10, seed = batch·20 + record) and a test batch of 10.
    const dir = `${tmp}/src/cifar-10-batches-bin`;
    await Deno.mkdir(dir, { recursive: true });
    for (let batch = 1; batch <= 5; batch++) {
      const records = Array.from({ length: 20 }, (_, r) => record(r % 10, (batch - 1) * 20 + r));
      await Deno.writeFile(`${dir}/data_batch_${batch}.bin`, concat(records));
    }
    await Deno.writeFile(
      `${dir}/test_batch.bin`,
      concat(Array.from({ length: 10 }, (_, r) => record(r, 200 + r))),
    );
    await Deno.writeTextFile(`${dir}/batches.meta.txt`, CIFAR10_CLASS_NAMES.join("\n") + "\n\n");
    await Deno.mkdir(`${tmp}/downloads`);
    const archive = `${tmp}/downloads/cifar-10-binary.tar.gz`;
    const tar = await new Deno.Command("tar", {
      args: ["-czf", archive, "-C", `${tmp}/src`, "cifar-10-batches-bin"],
    })
      .output();
    ok(tar.success);

    const logs: string[] = [];
    const options = {
      cacheDir: `${tmp}/cache`,
      dataDir: archive,
      projectRoot: `${tmp}/project`,
      log: (m: string) => logs.push(m),
    };
    const before = decodeStats.images;
    const { train, val } = await loadDataset({ name: "cifar10", resolution: 32, trainLimit: 3 }, options);
    strictEqual(decodeStats.images, before, "binary batches at 32 px need no decoding");
    ok(logs.some((m) => m.includes("not in the known list")), "unknown archive name warns");
    strictEqual(train.count, 30);
    strictEqual(val.count, 10);
    deepStrictEqual(train.classNames, [...CIFAR10_CLASS_NAMES]);
    // First three records of each class in file order: class c has records c, c + 10 (batch 1), c + 20 (batch 2).
    deepStrictEqual(Array.from(train.labels.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const seeds = Array.from({ length: 30 }, (_, j) => train.images[j * 3072]);
    deepStrictEqual(seeds, Array.from({ length: 30 }, (_, j) => j));
    deepStrictEqual(Array.from(val.images.subarray(3072 * 4 + 7 * 3, 3072 * 4 + 7 * 3 + 3)), [
      204,
      408 & 255,
      7,
    ]);

    const small = await loadDataset({ name: "cifar10", resolution: 16, trainLimit: 1, valLimit: 1 }, options);
    strictEqual(small.train.images.length, 10 * 16 * 16 * 3);
    // R is constant per image, so the resized R channel keeps the seed.
    strictEqual(small.train.images[3 * 768 + 50 * 3], 3);
    const downloads = [...Deno.readDirSync(`${tmp}/downloads`)].map((e) => e.name);
    deepStrictEqual(downloads, ["cifar-10-binary.tar.gz"], "nothing is written next to the archive");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test({
  ...await needsLocalDataset(
    "cifar10",
    "cifar images: the local archive loads with per-class limits and exact pixels",
  ),
}, async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gpa-cifar-img-" });
  try {
    const { train, val } = await loadDataset(
      { name: "cifar10", resolution: 32, trainLimit: 4, valLimit: 2, cifarFormat: "images" },
      { cacheDir: `${tmp}/cache`, log: () => {} },
    );
    strictEqual(train.count, 40);
    strictEqual(val.count, 20);
    strictEqual(train.name, "cifar10/train@32");
    deepStrictEqual(train.classNames, [...CIFAR10_CLASS_NAMES]);
    for (let c = 0; c < 10; c++) {
      strictEqual(train.labels.filter((l) => l === c).length, 4);
      strictEqual(val.labels.filter((l) => l === c).length, 2);
    }
    // Image 13 is the second "cat" (class 3, k = 1): compare with an independent decode of that file.
    const raw = await sharp(
      `${tmp}/cache/datasets/raw/cifar-10-images@t4-v2/cifar-10-images/train/cat/0001.jpg`,
    )
      .removeAlpha().raw().toBuffer();
    strictEqual(train.labels[13], 3);
    deepStrictEqual(train.images.subarray(13 * 3072, 14 * 3072), new Uint8Array(raw));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("an archive replaced under the same name is extracted again, never read from the old folder", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gpa-cifar-replaced-" });
  try {
    const archive = `${tmp}/data/cifar-10-binary.tar.gz`;
    const build = async (offset: number) => {
      const dir = `${tmp}/src${offset}/cifar-10-batches-bin`;
      await Deno.mkdir(dir, { recursive: true });
      for (let batch = 1; batch <= 5; batch++) {
        await Deno.writeFile(
          `${dir}/data_batch_${batch}.bin`,
          concat(Array.from({ length: 10 }, (_, r) => record(r, offset + batch * 10 + r))),
        );
      }
      await Deno.writeFile(
        `${dir}/test_batch.bin`,
        concat(Array.from({ length: 10 }, (_, r) => record(r, offset + r))),
      );
      await Deno.mkdir(`${tmp}/data`, { recursive: true });
      const tar = await new Deno.Command("tar", {
        args: ["-czf", archive, "-C", `${tmp}/src${offset}`, "cifar-10-batches-bin"],
      }).output();
      ok(tar.success);
    };
    const options = {
      cacheDir: `${tmp}/cache`,
      dataDir: `${tmp}/data`,
      projectRoot: `${tmp}/project`,
      log: () => {},
    };
    const spec = { name: "cifar10", resolution: 32 } as const;
    await build(0);
    const first = await loadDataset(spec, options);
    await build(1000); // same name, other pixels
    const second = await loadDataset(spec, options);
    ok(first.train.fingerprint !== second.train.fingerprint, "another fingerprint");
    notDeepStrictEqual(
      second.train.images,
      first.train.images,
      "the new archive's pixels, not the old extraction's",
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
