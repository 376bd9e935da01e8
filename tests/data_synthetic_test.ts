import { deepStrictEqual, notDeepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { generateSynthetic, generateSyntheticSplit, SYNTHETIC_CLASS_NAMES } from "../lib/data/synthetic.ts";
import { loadDataset } from "../lib/data/mod.ts";

Deno.test("synthetic: same seed gives identical bytes, another seed or split differs", () => {
  const a = generateSyntheticSplit({ seed: 7, split: "train", perClass: 5, size: 24 });
  const b = generateSyntheticSplit({ seed: 7, split: "train", perClass: 5, size: 24 });
  deepStrictEqual(a.images, b.images);
  deepStrictEqual(a.segmentation, b.segmentation);
  deepStrictEqual(a.boxes, b.boxes);
  deepStrictEqual(a.labels, b.labels);
  const otherSeed = generateSyntheticSplit({ seed: 8, split: "train", perClass: 5, size: 24 });
  notDeepStrictEqual(a.images, otherSeed.images);
  const val = generateSyntheticSplit({ seed: 7, split: "val", perClass: 5, size: 24 });
  notDeepStrictEqual(a.images, val.images);
});

Deno.test("synthetic: shapes, balanced labels, class names", () => {
  const split = generateSyntheticSplit({ seed: 1, split: "train", perClass: 3, size: 32, numClasses: 4 });
  strictEqual(split.count, 12);
  strictEqual(split.images.length, 12 * 32 * 32 * 3);
  strictEqual(split.segmentation!.length, 12 * 32 * 32);
  strictEqual(split.boxes!.length, 12 * 4);
  strictEqual(split.name, "synthetic/train@32");
  strictEqual(split.numClasses, 4);
  deepStrictEqual(split.classNames, ["disc", "rectangle", "triangle", "diamond"]);
  deepStrictEqual(Array.from(split.labels), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
});

Deno.test("synthetic: each box is the tight box of the object's mask, mask values are 0 or 1 + class", () => {
  const size = 32;
  const split = generateSyntheticSplit({ seed: 3, split: "train", perClass: 20, size });
  for (let n = 0; n < split.count; n++) {
    let minX = Infinity, minY = Infinity, maxX = -1, maxY = -1, area = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = split.segmentation![n * size * size + y * size + x];
        ok(v === 0 || v === split.labels[n] + 1, `image ${n}: mask value ${v}`);
        if (v === 0) continue;
        area++;
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
      }
    }
    ok(area >= 9, `image ${n} has a tiny object (${area} px)`);
    deepStrictEqual(Array.from(split.boxes!.subarray(n * 4, n * 4 + 4)), [minX, minY, maxX + 1, maxY + 1]);
    // Shape-specific facts: a rectangle fills its box; a disc fills about π/4 of it; a ring has a hole.
    const boxArea = (maxX + 1 - minX) * (maxY + 1 - minY);
    const fill = area / boxArea;
    if (split.labels[n] === 1) strictEqual(fill, 1);
    if (split.labels[n] === 0) ok(Math.abs(fill - Math.PI / 4) < 0.12, `disc fill ${fill}`);
    if (split.labels[n] === 5) {
      const cx = Math.floor((minX + maxX + 1) / 2);
      const cy = Math.floor((minY + maxY + 1) / 2);
      strictEqual(split.segmentation![n * size * size + cy * size + cx], 0, "ring centre must be background");
    }
  }
});

Deno.test("synthetic: object pixels take the class colour, background stays muted", () => {
  const size = 32;
  const split = generateSyntheticSplit({ seed: 5, split: "val", perClass: 4, size });
  for (let n = 0; n < split.count; n++) {
    let objectSat = 0, objectCount = 0, backSat = 0, backCount = 0;
    for (let p = 0; p < size * size; p++) {
      const r = split.images[(n * size * size + p) * 3];
      const g = split.images[(n * size * size + p) * 3 + 1];
      const b = split.images[(n * size * size + p) * 3 + 2];
      const max = Math.max(r, g, b);
      const saturation = max === 0 ? 0 : (max - Math.min(r, g, b)) / max;
      if (split.segmentation![n * size * size + p] > 0) {
        objectSat += saturation;
        objectCount++;
      } else {
        backSat += saturation;
        backCount++;
      }
    }
    ok(objectSat / objectCount > backSat / backCount + 0.1, `image ${n}: object not more saturated`);
  }
});

// How fast (2,000 images at 32 px well under 2 s) is a speed check: `deno task bench -- --only checks`.
Deno.test("synthetic: 2,000 images at 32 px; loadDataset passes limits", async () => {
  const { train, val } = generateSynthetic({ seed: 0, size: 32, trainPerClass: 200, valPerClass: 0 });
  strictEqual(train.count, 2000);
  strictEqual(val.count, 0);
  const loaded = await loadDataset(
    { name: "synthetic", resolution: 16, trainLimit: 2, valLimit: 1, seed: 4, numClasses: 3 },
    { cacheDir: "/nonexistent-cache-never-used" },
  );
  strictEqual(loaded.train.count, 6);
  strictEqual(loaded.val.count, 3);
  strictEqual(loaded.train.height, 16);
  strictEqual(SYNTHETIC_CLASS_NAMES.length, 10);
});
