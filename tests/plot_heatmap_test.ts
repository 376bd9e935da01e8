import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { colormap, finiteRange, normalise, toHex } from "../lib/plot/colormap.ts";
import { heatmapPng, heatmapSvg } from "../lib/plot/heatmap.ts";

async function decode(png: Uint8Array) {
  const { data, info } = await sharp(Buffer.from(png)).removeAlpha().raw().toBuffer({
    resolveWithObject: true,
  });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

const pixel = (img: { data: Uint8Array; width: number }, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

Deno.test("heatmap: requested size, not blank, highlighted cell differs from its neighbours", async () => {
  const rows = 3;
  const cols = 4;
  const base = {
    title: "",
    rows,
    cols,
    values: new Array(rows * cols).fill(0.5),
    showValues: false,
    width: 300,
    height: 200,
  };
  const plain = await decode(await heatmapPng(base));
  const marked = await decode(await heatmapPng({ ...base, highlight: [1, 2] }));
  assert.deepEqual([marked.width, marked.height], [300, 200]);
  // Locate the highlight as the bounding box of the pixels that changed.
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1;
  for (let y = 0; y < 200; y++) {
    for (let x = 0; x < 300; x++) {
      if (pixel(plain, x, y).some((v, ch) => v !== pixel(marked, x, y)[ch])) {
        x0 = Math.min(x0, x), y0 = Math.min(y0, y), x1 = Math.max(x1, x), y1 = Math.max(y1, y);
      }
    }
  }
  assert(x1 >= 0, "highlight changed some pixels");
  const boxW = x1 - x0 + 1;
  const boxH = y1 - y0 + 1;
  // Cells are (300 − 126) / 4 = 43.5 wide and (200 − 78) / 3 ≈ 40.7 high: the change stays within one cell.
  assert(boxW <= 45 && boxH <= 42 && boxW > 20 && boxH > 20, `box ${boxW}×${boxH}`);
  // Same offsets inside the left and upper neighbours show the plain cell colour, unlike the highlight.
  const edge = pixel(marked, x0 + 1, y0 + Math.floor(boxH / 2));
  const leftNeighbour = pixel(marked, x0 + 1 - 44, y0 + Math.floor(boxH / 2));
  const upperNeighbour = pixel(marked, x0 + Math.floor(boxW / 2), y0 + 1 - 41);
  const cellColour = colormap(0.5);
  assert.notDeepEqual(edge, leftNeighbour);
  for (const p of [leftNeighbour, upperNeighbour]) {
    assert(p.every((v, ch) => Math.abs(v - cellColour[ch]) <= 2), `neighbour ${p} vs ${cellColour}`);
  }
});

Deno.test("heatmap: values map through the colour map (low → dark, high → bright)", async () => {
  const img = await decode(
    await heatmapPng({
      title: "recall",
      rows: 1,
      cols: 2,
      values: [0, 1],
      showValues: false,
      width: 226,
      height: 178,
    }),
  );
  // Plot area: x 56..156 (two 50 px cells), y 34..134.
  assert.deepEqual([img.width, img.height], [226, 178]);
  assert.notDeepEqual(pixel(img, 80, 84), pixel(img, 5, 5), "not blank");
  assert.deepEqual(pixel(img, 80, 84), colormap(0));
  assert.deepEqual(pixel(img, 130, 84), colormap(1));
  assert.throws(() => heatmapSvg({ title: "", rows: 2, cols: 2, values: [1, 2, 3] }), RangeError);
  assert.throws(
    () => heatmapSvg({ title: "", rows: 1, cols: 2, values: [1, 2], highlight: [1, 0] }),
    RangeError,
  );
});

Deno.test("colormap: endpoints, monotone brightness, helpers", () => {
  assert.deepEqual(colormap(0), [0x44, 0x01, 0x54]);
  assert.deepEqual(colormap(1), [0xfd, 0xe7, 0x25]);
  assert.deepEqual(colormap(2), colormap(1));
  assert.deepEqual(colormap(NaN), [128, 128, 128]);
  assert.deepEqual(colormap(0.5, "gray"), [128, 128, 128]);
  let previous = -1;
  for (let t = 0; t <= 1.0001; t += 0.05) {
    const [r, g, b] = colormap(t);
    const luminance = 0.299 * r + 0.587 * g + 0.114 * b;
    assert(luminance > previous, `brightness rises at ${t}`);
    previous = luminance;
  }
  assert.deepEqual(finiteRange([3, NaN, -1, Infinity]), [-1, 3]);
  assert.equal(normalise(2, [1, 3]), 0.5);
  assert.equal(normalise(7, [7, 7]), 0.5);
  assert.equal(toHex([255, 0, 16]), "#ff0010");
});
