import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { linePlotPng, linePlotSvg } from "../lib/plot/line.ts";
import { canRenderText, formatTick, niceTicks, stripText } from "../lib/plot/svg.ts";

async function decode(png: Uint8Array) {
  const { data, info } = await sharp(Buffer.from(png)).removeAlpha().raw().toBuffer({
    resolveWithObject: true,
  });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

function variance(data: Uint8Array): number {
  let sum = 0;
  let sq = 0;
  for (const v of data) {
    sum += v;
    sq += v * v;
  }
  const m = sum / data.length;
  return sq / data.length - m * m;
}

function countColor(data: Uint8Array, [r, g, b]: number[], tol = 30): number {
  let n = 0;
  for (let i = 0; i < data.length; i += 3) {
    if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) <= tol) n++;
  }
  return n;
}

const curves = {
  title: "Pre-training loss",
  xLabel: "epoch",
  yLabel: "loss",
  series: [
    { name: "MAE", x: [0, 1, 2, 3, 4], y: [1.0, 0.8, 0.7, 0.65, 0.62] },
    { name: "GPA", x: [0, 1, 2, 3, 4], y: [1.1, 0.85, NaN, 0.6, 0.55] },
  ],
};

Deno.test("line plot: PNG has the requested size, is not blank and draws both series", async () => {
  const png = await linePlotPng({ ...curves, width: 500, height: 320 });
  const { data, width, height } = await decode(png);
  assert.equal(width, 500);
  assert.equal(height, 320);
  assert(variance(data) > 0);
  // The two default palette colours (#1f77b4, #ff7f0e) appear as line pixels.
  assert(countColor(data, [0x1f, 0x77, 0xb4]) > 100, "first series drawn");
  assert(countColor(data, [0xff, 0x7f, 0x0e]) > 50, "second series drawn");
});

Deno.test("line plot: default size, single points, mismatched lengths", async () => {
  const { width, height } = await decode(
    await linePlotPng({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "one", x: [1], y: [2] }] }),
  );
  assert.deepEqual([width, height], [640, 400]);
  assert.throws(() => linePlotSvg({ ...curves, series: [{ name: "bad", x: [1, 2], y: [1] }] }), RangeError);
  // The NaN splits the second series into two polylines.
  const svg = linePlotSvg(curves);
  assert.equal(svg.match(/<polyline/g)?.length, 3);
});

Deno.test("line plot: text renders when fonts exist; stripping text still yields a valid SVG", async () => {
  const withText = await decode(await linePlotPng({ ...curves, width: 300, height: 200 }));
  const svg = linePlotSvg({ ...curves, width: 300, height: 200 });
  assert(!stripText(svg).includes("<text"));
  const noText = await decode(new Uint8Array(await sharp(Buffer.from(stripText(svg))).png().toBuffer()));
  const differs = withText.data.some((v, i) => v !== noText.data[i]);
  if (await canRenderText()) assert(differs, "titles and labels change the picture");
  else console.warn("no usable fonts: figures are drawn without text");
});

Deno.test("svg helpers: nice ticks and tick labels", () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.3, 9.7, 4), [2.5, 5, 7.5]);
  assert.deepEqual(niceTicks(-3, 3, 3), [-2, 0, 2]);
  assert.deepEqual(niceTicks(5, 5), [5]);
  assert.equal(formatTick(0.30000000000000004), "0.3");
  assert.equal(formatTick(1e-5), "1.0e-5");
});
