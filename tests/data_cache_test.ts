import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import sharp from "sharp";
import { DataError, decodeStats, loadDataset } from "../lib/data/mod.ts";
import { cacheEntryKey, cacheKey, packSplit, readCacheEntry, unpackSplit } from "../lib/data/cache.ts";
import { KNOWN_ARCHIVE_SHA256, verifyArchive } from "../lib/data/archive.ts";
import { generateSyntheticSplit } from "../lib/data/synthetic.ts";
import type { DatasetSpec } from "../lib/data/types.ts";

const COLOURS: Record<string, [number, number, number]> = { apple: [200, 30, 40], berry: [20, 40, 220] };

/** Writes an image folder with solid-colour 8×8 PNGs: train 3 per class, val 1 per class. */
async function makeImageFolder(root: string): Promise<void> {
  for (const [split, perClass] of [["train", 3], ["val", 1]] as const) {
    for (const [name, [r, g, b]] of Object.entries(COLOURS)) {
      await Deno.mkdir(`${root}/${split}/${name}`, { recursive: true });
      for (let k = 0; k < perClass; k++) {
        await sharp({ create: { width: 8, height: 8, channels: 3, background: { r, g, b: b - k * 10 } } })
          .png().toFile(`${root}/${split}/${name}/${k}.png`);
      }
    }
  }
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    out.push(entry.name);
    if (entry.isDirectory) {
      out.push(...(await listTree(`${dir}/${entry.name}`)).map((n) => `${entry.name}/${n}`));
    }
  }
  return out.sort();
}

Deno.test("cache: pack/unpack round-trips every section", () => {
  const split = generateSyntheticSplit({ seed: 2, split: "train", perClass: 3, size: 10 });
  split.ignoreLabel = 42;
  const { bytes, manifest } = packSplit(split, "train.bin");
  // images 10*10*3*30 = 9000 bytes (already a multiple of 4), labels 120, boxes 480, segmentation 3000
  strictEqual(manifest.bytes, 9000 + 120 + 480 + 3000);
  strictEqual(manifest.offsets.labels, 9000);
  const back = unpackSplit(bytes, manifest);
  deepStrictEqual(back.images, split.images);
  deepStrictEqual(back.labels, split.labels);
  deepStrictEqual(back.boxes, split.boxes);
  deepStrictEqual(back.segmentation, split.segmentation);
  strictEqual(back.ignoreLabel, 42);
  strictEqual(cacheKey({ name: "tiny-imagenet", resolution: 32, trainLimit: 2 }), "tiny-imagenet-32-t2-vall");
});

Deno.test("loadDataset: second load decodes nothing; corrupt or truncated entries are set aside and rebuilt", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gpa-data-cache-" });
  try {
    const root = `${tmp}/folder`;
    await makeImageFolder(root);
    const sourceBefore = await listTree(root);
    const spec: DatasetSpec = { name: "imagefolder", resolution: 16, root };
    const logs: string[] = [];
    const options = { cacheDir: `${tmp}/cache`, log: (m: string) => logs.push(m), projectRoot: tmp };

    const before = decodeStats.images;
    const first = await loadDataset(spec, options);
    strictEqual(decodeStats.images - before, 8);
    strictEqual(first.train.count, 6);
    strictEqual(first.val.count, 2);
    deepStrictEqual(first.train.classNames, ["apple", "berry"]);
    deepStrictEqual(Array.from(first.train.labels), [0, 0, 0, 1, 1, 1]);
    // A solid 8×8 image resized to 16×16 stays solid: check the third berry image's colour everywhere.
    const third = first.train.images.subarray(5 * 768, 6 * 768);
    for (let p = 0; p < 256; p++) {
      deepStrictEqual(Array.from(third.subarray(p * 3, p * 3 + 3)), [20, 40, 200]);
    }

    const afterFirst = decodeStats.images;
    const second = await loadDataset(spec, options);
    strictEqual(decodeStats.images, afterFirst, "a cached load must not decode");
    ok(logs.some((m) => m.includes("loaded from cache")));
    deepStrictEqual(second.train.images, first.train.images);
    deepStrictEqual(second.val.labels, first.val.labels);

    const entry = `${tmp}/cache/datasets/${cacheEntryKey(spec, first.train.fingerprint)}`;
    for (const damage of ["flip", "truncate", "manifest"] as const) {
      if (damage === "flip") {
        const bytes = await Deno.readFile(`${entry}/train.bin`);
        bytes[100] ^= 0xff;
        await Deno.writeFile(`${entry}/train.bin`, bytes);
      } else if (damage === "truncate") {
        await Deno.truncate(`${entry}/val.bin`, 10);
      } else {
        await Deno.remove(`${entry}/manifest.json`);
      }
      logs.length = 0;
      const decodesBefore = decodeStats.images;
      const rebuilt = await loadDataset(spec, options);
      strictEqual(decodeStats.images - decodesBefore, 8, `${damage}: rebuild decodes again`);
      const warning = logs.find((m) => m.startsWith("warning:") && m.includes(".corrupt-"));
      ok(warning, `${damage}: no corruption warning in ${JSON.stringify(logs)}`);
      const movedTo = /moved to (\S+),/.exec(warning)?.[1] ?? "";
      ok((await Deno.stat(movedTo)).isDirectory, `${damage}: bad entry kept at ${movedTo}`);
      deepStrictEqual(rebuilt.train.images, first.train.images);
      deepStrictEqual(rebuilt.val.images, first.val.images);
      strictEqual((await readCacheEntry(entry)).status, "hit");
    }
    const corrupt = [...Deno.readDirSync(`${tmp}/cache/datasets`)].filter((e) =>
      e.name.includes(".corrupt-")
    );
    strictEqual(corrupt.length, 3);
    deepStrictEqual(await listTree(root), sourceBefore, "the source folder must not be written to");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("loadDataset: a missing dataset throws a one-line DataError saying what to put where", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gpa-data-missing-" });
  try {
    const error = await loadDataset(
      { name: "tiny-imagenet", resolution: 32 },
      {
        cacheDir: `${tmp}/cache`,
        projectRoot: `${tmp}/project`,
        dataDir: `${tmp}/nothing-here`,
        log: () => {},
        download: { enabled: false },
      },
    ).then(() => null, (e) => e);
    ok(error instanceof DataError, `expected DataError, got ${error}`);
    ok(!error.message.includes("\n"), "one line");
    ok(error.message.includes("tiny-imagenet-200.zip"));
    ok(error.message.includes("GPA_DATA_DIR"));
    ok(error.message.includes(`${tmp}/project/data`));
    await rejects(
      loadDataset({ name: "imagefolder", resolution: 32 }, { cacheDir: `${tmp}/cache`, log: () => {} }),
      DataError,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("archives: a known name with the wrong SHA-256 is rejected before extraction", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "gpa-data-sum-" });
  try {
    await Deno.mkdir(`${tmp}/downloads`);
    await Deno.writeTextFile(`${tmp}/downloads/camvid-segnet-trainval.tar`, "not the real archive");
    ok("camvid-segnet-trainval.tar" in KNOWN_ARCHIVE_SHA256);
    await rejects(verifyArchive(`${tmp}/downloads/camvid-segnet-trainval.tar`, () => {}), DataError);
    const error = await loadDataset(
      { name: "camvid", resolution: 32 },
      { cacheDir: `${tmp}/cache`, dataDir: `${tmp}/downloads`, projectRoot: `${tmp}/project`, log: () => {} },
    ).then(() => null, (e) => e);
    ok(error instanceof DataError && error.message.includes("sha256"), `got ${error}`);
    const raw = await Deno.stat(`${tmp}/cache/datasets/raw/camvid-segnet-trainval`).then(
      () => true,
      () => false,
    );
    ok(!raw, "nothing may be extracted from a bad archive");
    // An unknown name passes with a warning and returns the digest (sha256 of "abc").
    await Deno.writeTextFile(`${tmp}/downloads/other.tar`, "abc");
    const warnings: string[] = [];
    const digest = await verifyArchive(`${tmp}/downloads/other.tar`, (m) => warnings.push(m));
    strictEqual(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    strictEqual(warnings.length, 1);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
