import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { colormap } from "../lib/plot/colormap.ts";
import { canRenderText } from "../lib/plot/svg.ts";
import { imageGridPng, mapToRgb, maskOverlay } from "../lib/plot/image_grid.ts";

async function decode(png: Uint8Array) {
  const { data, info } = await sharp(Buffer.from(png)).removeAlpha().raw().toBuffer({
    resolveWithObject: true,
  });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

function gradientImage(h: number, w: number): Uint8Array {
  const rgb = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) rgb.set([x * 30, y * 30, 200], (y * w + x) * 3);
  }
  return rgb;
}

Deno.test("image grid: size, nearest upsampling of the map, colour-mapped values", async () => {
  const img = await decode(
    await imageGridPng({
      tiles: [
        { rgb: gradientImage(8, 8), height: 8, width: 8 },
        { map: new Float32Array([0, 1, 2, 3]), height: 2, width: 2 },
      ],
      columns: 2,
      scale: 4,
    }),
  );
  // Cells 32 × 32, gaps 4: width 2·32 + 3·4 = 76, height 32 + 2·4 = 40.
  assert.deepEqual([img.width, img.height], [76, 40]);
  // RGB tile: output (4 + 4k) maps to source pixel k.
  assert.deepEqual(pixel(img, 4 + 4 * 3, 4 + 4 * 5), [90, 150, 200]);
  // Map tile starts at x = 40; each map cell covers 16 × 16 pixels.
  assert.deepEqual(pixel(img, 40, 4), colormap(0));
  assert.deepEqual(pixel(img, 40 + 15, 4 + 15), colormap(0));
  assert.deepEqual(pixel(img, 40 + 16, 4), colormap(1 / 3));
  assert.deepEqual(pixel(img, 40 + 31, 4 + 31), colormap(1));
  // Gaps stay white.
  assert.deepEqual(pixel(img, 37, 20), [255, 255, 255]);
});

Deno.test("image grid: labels add a caption strip and rows wrap", async () => {
  const tile = { rgb: gradientImage(8, 8), height: 8, width: 8 };
  const img = await decode(
    await imageGridPng({ tiles: [tile, tile, tile], columns: 2, scale: 2, labels: ["input", "GPA", "mask"] }),
  );
  // Two columns of 16 px; two rows of 16 px + 16 px caption.
  assert.deepEqual([img.width, img.height], [2 * 16 + 3 * 4, 2 * (16 + 16) + 3 * 4]);
  let dark = 0;
  for (let y = 4 + 16; y < 4 + 32; y++) {
    for (let x = 0; x < img.width; x++) if (pixel(img, x, y)[0] < 100) dark++;
  }
  // The caption strip of the first row (y 20..35) is white apart from the caption text.
  if (await canRenderText()) assert(dark > 0, "captions are drawn");
  await assert.rejects(() => imageGridPng({ tiles: [], columns: 1 }), RangeError);
});

Deno.test("mask overlay greys out exactly the masked patches", () => {
  const rgb = gradientImage(4, 4);
  const out = maskOverlay(rgb, 4, 4, new Uint8Array([1, 0, 0, 1]), 2);
  // Pixel (x=1, y=0) is in patch 0 (masked): 0.25·30 + 96 = 103.5 → 104; 0.25·0 + 96; 0.25·200 + 96.
  assert.deepEqual(Array.from(out.subarray(3, 6)), [104, 96, 146]);
  // Pixel (x=2, y=0) is in patch 1 (kept): unchanged.
  assert.deepEqual(Array.from(out.subarray(6, 9)), [60, 0, 200]);
  // Pixel (x=3, y=3) is in patch 3 (masked).
  const i = (3 * 4 + 3) * 3;
  assert.deepEqual(Array.from(out.subarray(i, i + 3)), [Math.round(22.5 + 96), Math.round(22.5 + 96), 146]);
  assert.deepEqual(Array.from(rgb.subarray(3, 6)), [30, 0, 200], "input untouched");
  assert.throws(() => maskOverlay(rgb, 4, 4, new Uint8Array(9), 3), RangeError);
  assert.throws(() => maskOverlay(rgb, 4, 4, new Uint8Array(2), { rows: 1, cols: 1 }), RangeError);
});

Deno.test("mapToRgb honours a fixed range and greys NaN", () => {
  const out = mapToRgb({ map: [0, 5, NaN, 10], height: 2, width: 2, range: [0, 20] });
  assert.deepEqual(Array.from(out.subarray(0, 3)), colormap(0));
  assert.deepEqual(Array.from(out.subarray(3, 6)), colormap(0.25));
  assert.deepEqual(Array.from(out.subarray(6, 9)), [128, 128, 128]);
});
