/**
 * A profile that trains on the first k classes decodes those k only (issue 28): a Tiny-ImageNet class
 * subset built alone is the same splits, byte for byte, as the subset cut from the whole dataset, with the
 * same source fingerprint (so run identities do not move), from a folder and from an archive.
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import { decodeStats, loadDataset } from "../lib/data/mod.ts";
import type { ImageSplit } from "../lib/data/types.ts";

/** A tiny Tiny-ImageNet: 3 classes (listed unsorted), 3 train images each with boxes, 2 val images each. */
async function fakeTinyImagenet(root: string): Promise<void> {
  const dir = `${root}/tiny-imagenet-200`;
  const wnids = ["n03", "n01", "n02"];
  await Deno.mkdir(`${dir}/val/images`, { recursive: true });
  await Deno.writeTextFile(`${dir}/wnids.txt`, wnids.join("\n") + "\n");
  await Deno.writeTextFile(`${dir}/words.txt`, wnids.map((w) => `${w}\tthing ${w}`).join("\n") + "\n");
  const jpeg = (value: number) =>
    sharp(new Uint8Array(8 * 8 * 3).map((_, i) => (value + 7 * i) % 256), {
      raw: { width: 8, height: 8, channels: 3 },
    }).jpeg().toBuffer();
  let v = 0;
  for (const w of wnids) {
    await Deno.mkdir(`${dir}/train/${w}/images`, { recursive: true });
    const boxes: string[] = [];
    for (let i = 0; i < 3; i++) {
      await Deno.writeFile(`${dir}/train/${w}/images/${w}_${i}.JPEG`, await jpeg(v += 40));
      boxes.push(`${w}_${i}.JPEG\t${i}\t1\t${5 + i}\t7`);
    }
    await Deno.writeTextFile(`${dir}/train/${w}/${w}_boxes.txt`, boxes.join("\n") + "\n");
  }
  const rows: string[] = [];
  for (let i = 0; i < 6; i++) {
    const w = wnids[i % 3];
    await Deno.writeFile(`${dir}/val/images/val_${i}.JPEG`, await jpeg(v += 33));
    rows.push(`val_${i}.JPEG\t${w}\t0\t${i % 2}\t6\t7`);
  }
  await Deno.writeTextFile(`${dir}/val/val_annotations.txt`, rows.join("\n") + "\n");
}

function assertSameSplit(a: ImageSplit, b: ImageSplit) {
  assert.equal(a.name, b.name);
  assert.equal(a.count, b.count);
  assert.equal(a.numClasses, b.numClasses);
  assert.deepEqual(a.classNames, b.classNames);
  assert.deepEqual(a.labels, b.labels);
  assert.deepEqual(a.boxes, b.boxes);
  assert.deepEqual(a.images, b.images);
  assert.equal(a.fingerprint, b.fingerprint);
}

Deno.test("tiny-imagenet: the first 2 classes decoded alone equal the cut of all 3, from a folder and an archive", async () => {
  const root = await Deno.makeTempDir({ prefix: "gpa-subset-" });
  try {
    await fakeTinyImagenet(`${root}/src`);
    const spec = { name: "tiny-imagenet", resolution: 8, classes: 2 } as const;
    for (const source of ["folder", "archive"]) {
      let dataDir = `${root}/src`;
      if (source === "archive") {
        dataDir = `${root}/arch`;
        await Deno.mkdir(dataDir);
        const tar = await new Deno.Command("tar", {
          args: [
            "-czf",
            `${dataDir}/tiny-imagenet-200-test.tar.gz`,
            "-C",
            `${root}/src`,
            "tiny-imagenet-200",
          ],
        }).output();
        assert.ok(tar.success);
      }
      const alone = { cacheDir: `${root}/cache-alone-${source}`, dataDir, log: () => {} };
      const before = decodeStats.images;
      const subset = await loadDataset(spec, alone);
      assert.equal(decodeStats.images - before, 2 * 3 + 4, "only the 2 classes' 6 train + 4 val images");
      const entries = [...Deno.readDirSync(`${alone.cacheDir}/datasets`)].map((e) => e.name);
      assert.ok(entries.some((n) => /^tiny-imagenet-8-tall-vall-c2-/.test(n)), entries.join(", "));
      // Read back from its entry: the same.
      assertSameSplit((await loadDataset(spec, alone)).train, subset.train);
      const whole = { cacheDir: `${root}/cache-whole-${source}`, dataDir, log: () => {} };
      await loadDataset({ name: "tiny-imagenet", resolution: 8 }, whole); // every class packed first
      const cut = await loadDataset(spec, whole); // then cut from it
      assertSameSplit(subset.train, cut.train);
      assertSameSplit(subset.val, cut.val);
      assert.equal(subset.train.numClasses, 2);
      assert.deepEqual(subset.train.classNames, ["n01 thing n01", "n02 thing n02"]);
      assert.deepEqual([...new Set(subset.val.labels)].sort(), [0, 1]);
    }
    // More classes than the dataset has: the same error as before.
    await assert.rejects(
      loadDataset({ ...spec, classes: 5 }, {
        cacheDir: `${root}/cache-5`,
        dataDir: `${root}/src`,
        log: () => {},
      }),
      /classes 5 exceeds the 3 classes of tiny-imagenet/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
