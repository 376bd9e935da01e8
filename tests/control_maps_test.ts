import assert from "node:assert/strict";
import {
  boxInView,
  boxMap,
  centreMap,
  fixedMapProvider,
  oracleBoxProvider,
} from "../lib/masking/control_maps.ts";
import { GpaMasking } from "../lib/masking/gpa.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import type { MaskContext } from "../lib/masking/types.ts";
import type { CropParams } from "../lib/data/augment.ts";
import { meanMapOf, positionVsContent, topKSet } from "../lib/gpa_math.ts";
import { Rng } from "../lib/rng.ts";

const whole = (size: number, flipped = false): CropParams => ({
  x: 0,
  y: 0,
  w: size,
  h: size,
  flipped,
  sourceWidth: size,
  sourceHeight: size,
});

function ctx(B: number, g: number, progress: number, extra: Partial<MaskContext> = {}): MaskContext {
  return { batchSize: B, grid: { rows: g, cols: g }, progress, epoch: 0, step: 0, rng: new Rng(7), ...extra };
}

Deno.test("centreMap: the four centre patches of a 4×4 grid rank first, the corners last", () => {
  const m = centreMap({ imageSize: 16, patchSize: 4 });
  assert.equal(m.length, 16);
  for (const i of [5, 6, 9, 10]) assert.equal(m[i], 1);
  for (const i of [0, 3, 12, 15]) assert.equal(m[i], 0);
  // Edge middles sit between: squared distances 0.5 (centre), 2.5 (edge middle), 4.5 (corner) patch units².
  assert.equal(m[1], 0.5);
  assert.ok(m[1] > m[0] && m[1] < m[5]);
});

Deno.test("boxInView: identity crop, a zoomed crop that clips the box, its mirror, and a crop that misses it", () => {
  const box = [16, 16, 48, 48] as const;
  assert.deepEqual(boxInView(box, whole(64), 64).box, [16, 16, 48, 48]);
  // Source 64 px, the top-right quarter (x 32..64, y 0..32) resized to 64: scale 2.
  const quarter: CropParams = {
    x: 32,
    y: 0,
    w: 32,
    h: 32,
    flipped: false,
    sourceWidth: 64,
    sourceHeight: 64,
  };
  const v = boxInView(box, quarter, 64);
  assert.deepEqual(v.box, [0, 32, 32, 64]); // x (16−32)·2 = −32 … 32 → 0 … 32; y 32 … 96 → 32 … 64
  assert.deepEqual(v.centre, [0, 64]);
  const m = boxInView(box, { ...quarter, flipped: true }, 64);
  assert.deepEqual(m.box, [32, 32, 64, 64]);
  assert.deepEqual(m.centre, [64, 64]);
  // A crop of the top-left 12×12 corner shows none of the box.
  const corner: CropParams = { x: 0, y: 0, w: 12, h: 12, flipped: false, sourceWidth: 64, sourceHeight: 64 };
  const miss = boxInView(box, corner, 64);
  assert.equal(miss.box, null);
  assert.deepEqual(miss.centre, [32 * 64 / 12, 32 * 64 / 12]);
});

Deno.test("boxMap: every patch the box covers by ≥ half outranks every other; ties towards the box centre", () => {
  const geom = { imageSize: 16, patchSize: 4 };
  // Box over columns 1–2 fully and half of column 3, rows 0–1: patches (r0..1, c1..3) inside.
  const m = boxMap(geom, { box: [4, 0, 14, 8], centre: [9, 4] });
  const inside = new Set([1, 2, 3, 5, 6, 7]);
  const minIn = Math.min(...[...inside].map((i) => m[i]));
  const maxOut = Math.max(...[...m.keys()].filter((i) => !inside.has(i)).map((i) => m[i]));
  assert.ok(minIn > maxOut, `inside min ${minIn} ≤ outside max ${maxOut}`);
  assert.equal(Math.max(...m), 1);
  assert.equal(Math.min(...m), 0);
  // Inside, patch (0,2) (centre 10,2) is nearer the box centre (9,4) than (1,3) (centre 14,6).
  assert.ok(m[2] > m[7]);
  // Column 0 patch with 0 % coverage and column 3 patch with 50 %: the rule is ≥ 50 %.
  const half = boxMap(geom, { box: [4, 0, 14, 4], centre: [9, 2] });
  assert.ok(half[3] > half[4], "a patch covered by exactly half counts as inside");
});

Deno.test("oracleBoxProvider: a view's map follows its crop and flip", async () => {
  const boxes = Float32Array.from([0, 0, 8, 8, 8, 8, 16, 16]); // image 0: top-left quarter; image 1: bottom-right
  const provider = oracleBoxProvider({ boxes, imageSize: 16, patchSize: 8 });
  const maps = await provider(ctx(3, 2, 0, {
    sampleIds: Int32Array.from([0, 1, 0]),
    crops: [whole(16), whole(16), whole(16, true)],
  }));
  assert.deepEqual([...maps.subarray(0, 4)].map((v) => v === 1), [true, false, false, false]);
  assert.deepEqual([...maps.subarray(4, 8)].map((v) => v === 1), [false, false, false, true]);
  // Mirrored: the top-left box becomes top-right.
  assert.deepEqual([...maps.subarray(8, 12)].map((v) => v === 1), [false, true, false, false]);
  assert.throws(() => provider(ctx(1, 2, 0)), /indices and crops/);
});

Deno.test("controls: the same shares as GPA for the same map, and identities of their own", async () => {
  const geom = { imageSize: 32, patchSize: 4 };
  const map = centreMap(geom);
  const gpa = new GpaMasking({ mapProvider: fixedMapProvider(map), maskRatio: 0.75 });
  const centre = createMaskStrategy("centre", { ...geom, maskRatio: 0.75 });
  for (const t of [0, 0.4, 1]) {
    const a = await gpa.generate(ctx(4, 8, t));
    const b = await centre.generate(ctx(4, 8, t));
    assert.deepEqual(b.mask, a.mask, `masks differ at t = ${t}`);
    assert.deepEqual(b.info, a.info);
  }
  const mean = createMaskStrategy("mean-map", { map, describeMap: { teacher: { id: "x" }, images: 3 } });
  const oracle = createMaskStrategy("oracle-box", { ...geom, boxes: new Float32Array(4) });
  const ids = [gpa, centre, mean, oracle].map((s) => JSON.stringify(s.describe()));
  assert.equal(new Set(ids).size, 4, ids.join("\n"));
  assert.equal(centre.describe().name, "centre");
  assert.equal("map" in gpa.describe(), false, "GPA's identity gains no key (its run hashes stay)");
});

Deno.test("meanMapOf and positionVsContent on hand-made maps", () => {
  // Two maps of 4 patches; their mean [0.5, 0.25, 0.75, 0.5] scales to [0.5, 0, 1, 0.5].
  const maps = Float32Array.from([1, 0, 1, 0, 0, 0.5, 0.5, 1]);
  assert.deepEqual([...meanMapOf(maps, 2, 4)], [0.5, 0, 1, 0.5]);
  assert.deepEqual([...topKSet([0.5, 0, 1, 0.5], 2)], [2, 0]); // ties: lower index first
  // Maps equal to the mean: pure position.
  const mean = Float32Array.from([0, 1, 2, 3]);
  const same = positionVsContent(Float32Array.from([0, 1, 2, 3, 0, 2, 4, 6]), 2, 4, mean, 2);
  assert.ok(Math.abs(same.correlation - 1) < 1e-12);
  assert.equal(same.topKOverlap, 1);
  assert.equal(same.chance, 0.5);
  // A reversed map: correlation −1, no top-2 patch shared.
  const rev = positionVsContent(Float32Array.from([3, 2, 1, 0]), 1, 4, mean, 2);
  assert.ok(Math.abs(rev.correlation + 1) < 1e-12);
  assert.equal(rev.topKOverlap, 0);
});
