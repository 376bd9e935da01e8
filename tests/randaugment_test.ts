/** RandAugment (timm's rand-m9-mstd0.5-inc1) on hand-made images: each op against PIL's rule, worked by hand. */
import assert from "node:assert/strict";
import {
  autoContrast,
  brightness,
  color,
  contrast,
  equalize,
  FILL,
  invert,
  opSet,
  parseRandAugment,
  posterize,
  randAugmentBatch,
  randAugmentImage,
  type RgbImage,
  rotate,
  sharpness,
  solarize,
  solarizeAdd,
  translateXRel,
} from "../lib/data/randaugment.ts";
import { Rng } from "../lib/rng.ts";

/** An image of `size`² pixels whose every channel holds the value given per pixel. */
const grey = (size: number, values: number[]): RgbImage => ({
  size,
  data: Float32Array.from(values.flatMap((v) => [v, v, v])),
});
const channel = (img: RgbImage, c = 0) => Array.from(img.data.filter((_, i) => i % 3 === c));

Deno.test("parseRandAugment: MAE's rand-m9-mstd0.5-inc1 and timm's other parts", () => {
  assert.deepEqual(parseRandAugment("rand-m9-mstd0.5-inc1"), {
    ops: 2,
    magnitude: 9,
    magnitudeStd: 0.5,
    magnitudeMax: 10,
    increasing: true,
    prob: 0.5,
  });
  assert.equal(parseRandAugment("rand-n3-m5").ops, 3);
  assert.equal(parseRandAugment("rand-n3-m5").increasing, false);
  assert.throws(() => parseRandAugment("augmix-m5"), /rand-m9/);
  assert.throws(() => parseRandAugment("rand-x3-m5"), /unknown part 'x3'/);
  assert.throws(() => parseRandAugment("rand-n2"), /magnitude/);
});

Deno.test("RandAugment ops: the increasing set is timm's fifteen, in its order", () => {
  assert.deepEqual(opSet(true).map((o) => o.name), [
    "AutoContrast",
    "Equalize",
    "Invert",
    "Rotate",
    "PosterizeIncreasing",
    "SolarizeIncreasing",
    "SolarizeAdd",
    "ColorIncreasing",
    "ContrastIncreasing",
    "BrightnessIncreasing",
    "SharpnessIncreasing",
    "ShearX",
    "ShearY",
    "TranslateXRel",
    "TranslateYRel",
  ]);
});

Deno.test("RandAugment pointwise ops: invert, posterize, solarize, solarize-add", () => {
  const img = grey(2, [0, 10, 219, 255]);
  assert.deepEqual(channel(invert(img)), [255, 245, 36, 0]);
  // 219 = 0b11011011 keeps its two high bits: 0b11000000 = 192; 0 bits keeps nothing.
  assert.deepEqual(channel(posterize(img, 2)), [0, 0, 192, 192]);
  assert.deepEqual(channel(posterize(img, 0)), [0, 0, 0, 0]);
  assert.equal(posterize(img, 8), img, "8 bits: unchanged");
  assert.deepEqual(channel(solarize(img, 128)), [0, 10, 36, 0]);
  assert.deepEqual(channel(solarize(img, 256)), [0, 10, 219, 255], "threshold 256: nothing inverted");
  assert.deepEqual(channel(solarizeAdd(grey(2, [100, 120, 127, 200]), 50)), [150, 170, 177, 200]);
  assert.deepEqual(channel(solarizeAdd(grey(2, [100, 0, 0, 0]), 200)), [255, 200, 200, 200], "clipped");
});

Deno.test("RandAugment autocontrast and equalize follow PIL's lookup tables", () => {
  // 50 … 150 stretched to 0 … 255: int(v · 2.55 − 127.5).
  assert.deepEqual(channel(autoContrast(grey(2, [50, 100, 150, 150]))), [0, 127, 255, 255]);
  assert.deepEqual(channel(autoContrast(grey(2, [7, 7, 7, 7]))), [7, 7, 7, 7], "flat: unchanged");
  // 1024 pixels: 512 at 10, 256 at 20, 256 at 30. step = (1024 − 256) // 255 = 3; n starts at 1:
  // lut[10] = 1 // 3 = 0, lut[20] = (1 + 512) // 3 = 171, lut[30] = min(255, 769 // 3) = 255.
  const values = [...Array(512).fill(10), ...Array(256).fill(20), ...Array(256).fill(30)];
  const eq = channel(equalize(grey(32, values)));
  assert.deepEqual([eq[0], eq[512], eq[1023]], [0, 171, 255]);
  // Too few pixels for a step: unchanged.
  assert.deepEqual(channel(equalize(grey(2, [0, 0, 100, 200]))), [0, 0, 100, 200]);
});

Deno.test("RandAugment enhancers: brightness, colour, contrast, sharpness", () => {
  assert.deepEqual(channel(brightness(grey(2, [200, 101, 0, 255]), 0.5)), [100, 51, 0, 128]);
  // Colour 0: the luma 0.299 R + 0.587 G + 0.114 B in every channel; 1: unchanged.
  const red: RgbImage = { size: 1, data: Float32Array.from([200, 0, 0]) };
  assert.deepEqual(Array.from(color(red, 0).data), [60, 60, 60]);
  assert.deepEqual(Array.from(color(red, 1).data), [200, 0, 0]);
  // Contrast 0: the mean grey level everywhere.
  assert.deepEqual(channel(contrast(grey(2, [0, 100, 100, 200]), 0)), [100, 100, 100, 100]);
  // Sharpness 0: the SMOOTH filter (centre weight 5 of 13) inside, border pixels kept.
  const spike = grey(3, [0, 0, 0, 0, 130, 0, 0, 0, 0]);
  assert.deepEqual(channel(sharpness(spike, 0)), [0, 0, 0, 0, 50, 0, 0, 0, 0]);
  assert.deepEqual(channel(sharpness(spike, 1)), [0, 0, 0, 0, 130, 0, 0, 0, 0]);
});

Deno.test("RandAugment geometry: rotate counter-clockwise about the centre, translate with the mean fill", () => {
  const img = grey(3, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // PIL's rotate(90) turns the content counter-clockwise: the top row becomes the left column, read upwards.
  assert.deepEqual(channel(rotate(img, 90)), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
  assert.deepEqual(channel(rotate(img, 0)), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // +25 % of 4 px = 1 px: the content moves left; the uncovered column is the ImageNet mean colour.
  const t = translateXRel(grey(4, Array.from({ length: 16 }, (_, i) => 10 * i)), 0.25);
  assert.deepEqual(channel(t).slice(0, 4), [10, 20, 30, FILL[0]]);
  assert.deepEqual(channel(t, 2).slice(0, 4), [10, 20, 30, FILL[2]]);
});

Deno.test("randAugmentImage: n ops with replacement, each at p = 0.5, magnitude N(9, 0.5) clipped to [0, 10]", () => {
  const cfg = parseRandAugment("rand-m9-mstd0.5-inc1");
  const img = grey(4, Array.from({ length: 16 }, (_, i) => 16 * i));
  let applied = 0, drawn = 0;
  for (let s = 0; s < 400; s++) {
    const { ops } = randAugmentImage(img, cfg, new Rng(s));
    assert.equal(ops.length, 2);
    for (const op of ops) {
      drawn++;
      if (!op.applied) continue;
      applied++;
      assert.ok(op.magnitude! >= 0 && op.magnitude! <= 10);
      assert.ok(Math.abs(op.magnitude! - 9) < 2.5, `${op.magnitude}`);
    }
  }
  assert.ok(Math.abs(applied / drawn - 0.5) < 0.06, `${applied} of ${drawn} applied`);
  const wide = Array.from(
    { length: 50 },
    (_, s) => randAugmentImage(img, { ...cfg, magnitudeStd: 100, prob: 1 }, new Rng(s)).ops,
  ).flat().map((o) => o.magnitude!);
  assert.ok(wide.every((m) => m >= 0 && m <= 10), "clipped to [0, 10]");
  assert.ok(wide.filter((m) => m === 0 || m === 10).length > 80, "most at the clip");
});

Deno.test("randAugmentBatch: seeded, in place on normalised images; p = 0 leaves them as they were", () => {
  const size = 8, B = 3;
  const rng = new Rng(1);
  const images = Float32Array.from({ length: B * size * size * 3 }, () => rng.uniform(-2, 2));
  const a = Float32Array.from(images), b = Float32Array.from(images);
  const cfg = parseRandAugment("rand-m9-mstd0.5-inc1");
  const opsA = randAugmentBatch(a, B, size, cfg, new Rng(7));
  randAugmentBatch(b, B, size, cfg, new Rng(7));
  assert.deepEqual(a, b, "same seed, same result");
  assert.equal(opsA.length, B);
  const c = Float32Array.from(images);
  randAugmentBatch(c, B, size, cfg, new Rng(8));
  assert.notDeepEqual(a, c, "another seed, another result");
  // p = 0: only the 8-bit rounding of the round trip (half a level: 0.5 / 255 / std ≤ 0.0088).
  const d = Float32Array.from(images);
  randAugmentBatch(d, B, size, { ...cfg, prob: 0 }, new Rng(7));
  const clipped = (v: number, i: number) => {
    const c = i % 3, mean = [0.485, 0.456, 0.406][c], std = [0.229, 0.224, 0.225][c];
    return (Math.min(1, Math.max(0, v * std + mean)) - mean) / std;
  };
  assert.ok(d.every((v, i) => Math.abs(v - clipped(images[i], i)) <= 0.0088), "p = 0 changes nothing");
  assert.throws(() => randAugmentBatch(new Float32Array(5), 1, 8, cfg, new Rng(0)), /5 values/);
});
