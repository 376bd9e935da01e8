import { deepStrictEqual, rejects, strictEqual, throws } from "node:assert/strict";
import { generateSyntheticSplit } from "../lib/data/synthetic.ts";
import { firstClasses } from "../lib/data/subset.ts";
import { loadDataset } from "../lib/data/mod.ts";

Deno.test("firstClasses keeps the images, boxes and masks of the first k classes in order", () => {
  const split = generateSyntheticSplit({ seed: 2, split: "train", perClass: 3, size: 8, numClasses: 4 });
  const sub = firstClasses(split, 2);
  strictEqual(sub.count, 6);
  strictEqual(sub.numClasses, 2);
  deepStrictEqual(sub.classNames, split.classNames.slice(0, 2));
  deepStrictEqual(Array.from(sub.labels), [0, 1, 0, 1, 0, 1]);
  const kept = [0, 1, 4, 5, 8, 9]; // classes interleave in synthetic splits
  const px = 8 * 8;
  kept.forEach((src, dst) => {
    deepStrictEqual(
      sub.images.subarray(dst * px * 3, (dst + 1) * px * 3),
      split.images.subarray(src * px * 3, (src + 1) * px * 3),
    );
    deepStrictEqual(sub.boxes!.subarray(dst * 4, dst * 4 + 4), split.boxes!.subarray(src * 4, src * 4 + 4));
    deepStrictEqual(
      sub.segmentation!.subarray(dst * px, (dst + 1) * px),
      split.segmentation!.subarray(src * px, (src + 1) * px),
    );
  });
  strictEqual(firstClasses(split, 4), split);
  throws(() => firstClasses(split, 0), RangeError);
  throws(() => firstClasses(split, 1.5), RangeError);
});

Deno.test("loadDataset cuts a class subset and rejects more classes than the dataset has", async () => {
  const opts = { cacheDir: "/nonexistent-unused" };
  const { train, val } = await loadDataset(
    { name: "synthetic", resolution: 16, trainLimit: 4, valLimit: 2, numClasses: 5, classes: 3 },
    opts,
  );
  strictEqual(train.numClasses, 3);
  strictEqual(train.count, 12);
  strictEqual(val.count, 6);
  await rejects(
    loadDataset({ name: "synthetic", resolution: 16, trainLimit: 4, numClasses: 5, classes: 6 }, opts),
    /classes 6 exceeds the 5 classes/,
  );
  await rejects(loadDataset({ name: "synthetic", resolution: 16, classes: 0 }, opts), /classes must be/);
});
