import assert, { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import {
  applyCropToMap,
  centerBatch,
  cropBatch,
  type CropParams,
  epochBatches,
  randomResizedCropFlip,
  sampleResizedCrop,
} from "../lib/data/augment.ts";
import { centerBatchSeg, randomScaleCropFlipSeg } from "../lib/data/augment_seg.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "../lib/data/resample.ts";
import { generateSyntheticSplit } from "../lib/data/synthetic.ts";
import type { ImageSplit } from "../lib/data/types.ts";
import { Rng } from "../lib/rng.ts";

/** Normalised value of byte `v` in channel `c`, written out independently of the implementation. */
function norm(v: number, c: number): number {
  return (v / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
}

/** Byte value back from a normalised value. */
function denorm(x: number, c: number): number {
  return (x * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255;
}

function close(actual: number, expected: number, tolerance: number, what: string): void {
  ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

/** A split from explicit pixel bytes. */
function splitOf(width: number, height: number, pixels: number[][], segmentation?: Uint8Array): ImageSplit {
  const count = pixels.length;
  return {
    name: "test",
    count,
    height,
    width,
    images: Uint8Array.from(pixels.flat()),
    labels: new Int32Array(count),
    numClasses: 1,
    classNames: ["x"],
    segmentation,
  };
}

const synthetic = generateSyntheticSplit({ seed: 11, split: "train", perClass: 10, size: 32 });

Deno.test("augment: an identity crop (scale 1, ratio 1, no flip) reproduces the normalised image", () => {
  const indices = [0, 5, 17];
  const { images, crops } = randomResizedCropFlip(synthetic, indices, 32, new Rng(1), {
    scale: [1, 1],
    ratio: [1, 1],
    flip: false,
  });
  for (const crop of crops) {
    deepStrictEqual({ ...crop }, {
      x: 0,
      y: 0,
      w: 32,
      h: 32,
      flipped: false,
      sourceWidth: 32,
      sourceHeight: 32,
    });
  }
  for (let b = 0; b < indices.length; b++) {
    for (let i = 0; i < 32 * 32 * 3; i++) {
      const v = synthetic.images[indices[b] * 3072 + i];
      close(images[b * 3072 + i], norm(v, i % 3), 1e-5, `image ${b} value ${i}`);
    }
  }
  // centerBatch at the same size is the same exact copy.
  const center = centerBatch(synthetic, indices, 32);
  for (let i = 0; i < center.length; i++) close(center[i], images[i], 1e-6, `center ${i}`);
});

Deno.test("augment: bilinear upsampling and flipping of a 2×2 image, by hand", () => {
  // One image, 2×2: R channel 0, 100 / 200, 40; G = B = 0.
  const split = splitOf(2, 2, [[0, 0, 0, 100, 0, 0, 200, 0, 0, 40, 0, 0]]);
  const whole: CropParams = { x: 0, y: 0, w: 2, h: 2, flipped: false, sourceWidth: 2, sourceHeight: 2 };
  const out = cropBatch(split, [0], [whole], 4);
  // Output 4×4 samples grid positions -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1) on each axis.
  const w = [0, 0.25, 0.75, 1];
  const src = [[0, 100], [200, 40]];
  for (let oy = 0; oy < 4; oy++) {
    for (let ox = 0; ox < 4; ox++) {
      const top = src[0][0] * (1 - w[ox]) + src[0][1] * w[ox];
      const bottom = src[1][0] * (1 - w[ox]) + src[1][1] * w[ox];
      const expected = top * (1 - w[oy]) + bottom * w[oy];
      close(denorm(out[(oy * 4 + ox) * 3], 0), expected, 1e-3, `(${ox}, ${oy})`);
      close(out[(oy * 4 + ox) * 3 + 1], norm(0, 1), 1e-5, "green");
    }
  }
  const flipped = cropBatch(split, [0], [{ ...whole, flipped: true }], 4);
  for (let oy = 0; oy < 4; oy++) {
    for (let ox = 0; ox < 4; ox++) {
      strictEqual(flipped[(oy * 4 + ox) * 3], out[(oy * 4 + 3 - ox) * 3], "mirror image");
    }
  }
  // The right column (x = 1, w = 1) resized to 2×2: output columns sample grid x 0.75 and 1.25 (→ 1), rows
  // grid y 0 and 1. Within half a pixel of the interior crop edge the left neighbour is blended in (documented).
  const column = cropBatch(split, [0], [{ ...whole, x: 1, w: 1 }], 2);
  const expectedColumn = [0 * 0.25 + 100 * 0.75, 100, 200 * 0.25 + 40 * 0.75, 40];
  for (let p = 0; p < 4; p++) close(denorm(column[p * 3], 0), expectedColumn[p], 1e-3, `column ${p}`);
});

Deno.test("augment: random crops respect scale/ratio bounds, output range and the fallback", () => {
  const rng = new Rng(3);
  const indices = Array.from({ length: 200 }, (_, i) => i % synthetic.count);
  const { images, crops } = randomResizedCropFlip(synthetic, indices, 24, rng);
  strictEqual(images.length, 200 * 24 * 24 * 3);
  let flips = 0;
  for (const crop of crops) {
    ok(Number.isInteger(crop.x) && Number.isInteger(crop.w) && crop.x >= 0 && crop.x + crop.w <= 32);
    ok(Number.isInteger(crop.y) && Number.isInteger(crop.h) && crop.y >= 0 && crop.y + crop.h <= 32);
    // Rounding w and h to whole pixels moves area and ratio a little past the nominal bounds.
    const area = (crop.w * crop.h) / 1024;
    ok(area >= 0.2 * 0.8 && area <= 1, `area ${area}`);
    const ratio = crop.w / crop.h;
    ok(ratio >= 0.75 * 0.85 && ratio <= (4 / 3) / 0.85, `ratio ${ratio}`);
    if (crop.flipped) flips++;
  }
  ok(flips > 60 && flips < 140, `flips ${flips}`);
  for (let i = 0; i < images.length; i++) {
    const c = i % 3;
    ok(images[i] >= norm(0, c) - 1e-5 && images[i] <= norm(255, c) + 1e-5, `value ${images[i]}`);
  }
  // Fallback: no crop of ratio ≥ 2 with area ≥ the whole image fits, so the central crop of ratio 2 is used.
  deepStrictEqual(sampleResizedCrop(32, 32, new Rng(0), [1, 1], [2, 3]), { x: 0, y: 8, w: 32, h: 16 });
  deepStrictEqual(sampleResizedCrop(32, 32, new Rng(0), [1, 1], [0.25, 0.5]), { x: 8, y: 0, w: 16, h: 32 });
  // Same seed, same crops.
  const again = randomResizedCropFlip(synthetic, indices, 24, new Rng(3));
  deepStrictEqual(again.crops, crops);
});

Deno.test("augment: applyCropToMap matches the image crop and maps a coarse ramp correctly", () => {
  const indices = [1, 2, 3, 4, 5, 6, 7, 8];
  const { images, crops } = randomResizedCropFlip(synthetic, indices, 20, new Rng(9));
  for (let b = 0; b < indices.length; b++) {
    // A full-resolution map equal to the red channel must crop exactly like the image.
    const map = new Float32Array(32 * 32);
    for (let p = 0; p < 1024; p++) map[p] = synthetic.images[indices[b] * 3072 + p * 3];
    const cropped = applyCropToMap(map, 32, 32, crops[b], 20, 20);
    for (let p = 0; p < 400; p++) {
      close(cropped[p], denorm(images[b * 1200 + p * 3], 0), 2e-3, `map ${b}/${p}`);
    }
    // An 8×8 patch-grid ramp (value = column index) sampled at output pixel centres: the source x of output
    // column ox is crop.x + (ox' + 0.5)·w/20 (ox' mirrored when flipped), i.e. grid column x/4 − 0.5.
    const ramp = new Float32Array(64);
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) ramp[r * 8 + c] = c;
    const rampOut = applyCropToMap(ramp, 8, 8, crops[b], 20, 20);
    const crop = crops[b];
    for (let ox = 0; ox < 20; ox++) {
      const o = crop.flipped ? 19 - ox : ox;
      const grid = Math.min(7, Math.max(0, (crop.x + (o + 0.5) * crop.w / 20) / 4 - 0.5));
      for (let oy = 0; oy < 20; oy++) close(rampOut[oy * 20 + ox], grid, 1e-4, `ramp ${b} (${ox}, ${oy})`);
    }
  }
  throws(() => applyCropToMap(new Float32Array(10), 3, 3, crops[0], 4, 4), RangeError);
});

Deno.test("augment: centerBatch with cropPct takes the centred square", () => {
  // cropPct 0.5 of a 32 px image is the 16 px square at (8, 8); resized to 16 it is an exact copy.
  const out = centerBatch(synthetic, [4], 16, { cropPct: 0.5 });
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      for (let c = 0; c < 3; c++) {
        const v = synthetic.images[4 * 3072 + ((y + 8) * 32 + x + 8) * 3 + c];
        close(out[(y * 16 + x) * 3 + c], norm(v, c), 1e-5, `(${x}, ${y}, ${c})`);
      }
    }
  }
});

/**
 * A 32×32 image whose label is derivable from its pixels: R = 8x + 4 and G = 8y + 4 (linear ramps, so
 * bilinear sampling returns 8·(sample position) + 4 exactly), label = ⌊x/4⌋ + 8·⌊y/8⌋.
 */
function rampSplit(): ImageSplit {
  const pixels: number[] = [];
  const segmentation = new Uint8Array(32 * 32);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      pixels.push(8 * x + 4, 8 * y + 4, 128);
      segmentation[y * 32 + x] = Math.floor(x / 4) + 8 * Math.floor(y / 8);
    }
  }
  const split = splitOf(32, 32, [pixels, pixels], new Uint8Array([...segmentation, ...segmentation]));
  split.ignoreLabel = 99;
  return split;
}

Deno.test("augment: segmentation crops keep labels aligned with pixels; padding is void and zero", () => {
  const split = rampSplit();
  const rng = new Rng(5);
  let checked = 0, padded = 0, flips = 0;
  for (let round = 0; round < 10; round++) {
    const { images, labels, params } = randomScaleCropFlipSeg(split, [0, 1, 0, 1], 24, rng);
    for (let b = 0; b < 4; b++) {
      const { scale } = params[b];
      ok(scale >= 0.5 && scale <= 2);
      if (params[b].flipped) flips++;
      for (let p = 0; p < 24 * 24; p++) {
        const label = labels[b * 576 + p];
        const r = denorm(images[(b * 576 + p) * 3], 0);
        const g = denorm(images[(b * 576 + p) * 3 + 1], 1);
        if (label === 99) {
          padded++;
          close(images[(b * 576 + p) * 3], 0, 1e-6, "padding is the mean colour");
          continue;
        }
        // The sample position u (source pixels) from the ramps; the nearest source pixel is round(u).
        const u = (r - 4) / 8, v = (g - 4) / 8;
        if (Math.abs(u % 1 - 0.5) < 1e-3 || Math.abs(v % 1 - 0.5) < 1e-3) continue; // exact ties
        strictEqual(label, Math.floor(Math.round(u) / 4) + 8 * Math.floor(Math.round(v) / 8), `b${b} p${p}`);
        checked++;
      }
    }
  }
  ok(checked > 10000, `checked ${checked}`);
  ok(padded > 0, "some crops were padded (scale < 24/32)");
  ok(flips > 5 && flips < 35, `flips ${flips}`);
  // Scale 0.5 exactly: 16×16 content in the top-left, the rest padded.
  const half = randomScaleCropFlipSeg(split, [0], 24, new Rng(0), { scale: [0.5, 0.5], flip: false });
  // Output (15, 0) samples source pixel (⌊15.5·2⌋, ⌊0.5·2⌋) = (31, 1): label ⌊31/4⌋ + 8·⌊1/8⌋ = 7.
  deepStrictEqual(Array.from(half.labels.subarray(0, 17)), [
    0,
    0,
    1,
    1,
    2,
    2,
    3,
    3,
    4,
    4,
    5,
    5,
    6,
    6,
    7,
    7,
    99,
  ]);
  ok(half.labels.subarray(16 * 24, 24 * 24).every((l) => l === 99), "rows 16.. are padding");
  close(denorm(half.images[15 * 3], 0), 8 * 30.5 + 4, 1e-3, "R at (15, 0) samples x = 30.5");
});

Deno.test("augment: centerBatchSeg copies labels at the stored size", () => {
  const split = rampSplit();
  const { images, labels } = centerBatchSeg(split, [1], 32);
  deepStrictEqual(Array.from(labels), Array.from(split.segmentation!.subarray(1024, 2048)));
  close(denorm(images[(5 * 32 + 7) * 3], 0), 8 * 7 + 4, 1e-3, "pixel (7, 5)");
  const small = centerBatchSeg(split, [0], 16);
  strictEqual(small.labels[3], Math.floor(7 / 4)); // output x 3 -> source x ⌊3.5·2⌋ = 7
});

Deno.test("augment: epochBatches yields a seeded permutation", () => {
  const batches = [...epochBatches(10, 4, new Rng(2))];
  deepStrictEqual(batches.map((b) => b.length), [4, 4, 2]);
  deepStrictEqual(batches.flatMap((b) => Array.from(b)).sort((a, b) => a - b), [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
  ]);
  deepStrictEqual([...epochBatches(10, 4, new Rng(2))], batches);
  const other = [...epochBatches(10, 4, new Rng(3))].flatMap((b) => Array.from(b));
  ok(other.join() !== batches.flatMap((b) => Array.from(b)).join(), "another seed, another order");
  deepStrictEqual([...epochBatches(10, 4, new Rng(2), { dropLast: true })].map((b) => b.length), [4, 4]);
  deepStrictEqual([...epochBatches(8, 4, new Rng(2), { dropLast: true })].map((b) => b.length), [4, 4]);
  throws(() => epochBatches(4, 0, new Rng(0)).next(), RangeError);
});

// Its throughput (far above the model's ~40 img/s) is a speed check: `deno task bench -- --only checks`.

Deno.test("randomErasing: timm semantics — probability, one rectangle of 2–33 % area, N(0, 1) pixel fill", async () => {
  const { randomErasing } = await import("../lib/data/augment.ts");
  const S = 32, B = 400;
  const base = new Float32Array(B * S * S * 3).fill(7); // a value the normal fill practically never produces
  const none = base.slice();
  assert.equal(randomErasing(none, B, S, 0, new Rng(1)), 0);
  assert.deepEqual(none, base);
  const all = base.slice();
  assert.equal(
    randomErasing(all, B, S, 1, new Rng(2)),
    B,
    "every image fits a rectangle within 10 tries at 32 px",
  );
  let filled = 0, sum = 0, sq = 0;
  for (let b = 0; b < B; b++) {
    let x0 = S, y0 = S, x1 = -1, y1 = -1, n = 0;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const o = ((b * S + y) * S + x) * 3;
        if (all[o] === 7) continue;
        n++;
        x0 = Math.min(x0, x), y0 = Math.min(y0, y), x1 = Math.max(x1, x), y1 = Math.max(y1, y);
        for (let c = 0; c < 3; c++) (sum += all[o + c], sq += all[o + c] ** 2, filled++);
      }
    }
    // The changed pixels form one full rectangle of 2–33 % of the image (rounding of h and w widens it a bit).
    assert.equal(n, (x1 - x0 + 1) * (y1 - y0 + 1), `image ${b}: one rectangle`);
    assert.ok(n >= 0.015 * S * S && n <= 0.37 * S * S, `image ${b}: area ${n}`);
  }
  const m = sum / filled;
  assert.ok(
    Math.abs(m) < 0.02 && Math.abs(sq / filled - m * m - 1) < 0.03,
    `fill mean ${m}, var ${sq / filled - m * m}`,
  );
  const some = base.slice();
  const k = randomErasing(some, B, S, 0.25, new Rng(3));
  assert.ok(k > 70 && k < 130, `≈ 25 % of ${B} images erased, got ${k}`);
  assert.throws(() => randomErasing(some, 1, S, 1.5, new Rng(4)), RangeError);
});
