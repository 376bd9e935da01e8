import assert from "node:assert/strict";
import {
  chooseShots,
  empiricalRandomRecall,
  groundTruthPatches,
  headLabel,
  parseHeadSelector,
  randomRecall,
  recallMatrix,
  rPrecision,
  selectHead,
  topKRecall,
} from "../lib/head_selection.ts";
import { hashLabel, Rng } from "../lib/rng.ts";

/** Indices of the ones of a mask. */
function ones(mask: Uint8Array): number[] {
  return [...mask.keys()].filter((i) => mask[i] === 1);
}

// 64×64 image, 16-pixel patches: a 4×4 grid; patch (r, c) covers x ∈ [16c, 16c + 16], y ∈ [16r, 16r + 16].
const GEO = { imageSize: 64, patchSize: 16 };

Deno.test("groundTruthPatches: boxes at exact patch boundaries and the 50 % rule", () => {
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, box: [0, 0, 16, 16] })), [0]);
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, box: [0, 0, 64, 64] })).length, 16);
  // x ∈ [8, 40]: column 0 covered 8/16 = 50 % (kept), column 1 fully, column 2 8/16 (kept); row 0 only.
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, box: [8, 0, 40, 16] })), [0, 1, 2]);
  // x ∈ [9, 40]: column 0 covered 7/16 < 50 % (dropped).
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, box: [9, 0, 40, 16] })), [1, 2]);
  // x ∈ [8, 40], y ∈ [8, 40]: corners 8·8/256 = 25 %, edges 8·16/256 = 50 %, centre 100 %.
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, box: [8, 8, 40, 40] })), [1, 4, 5, 6, 9]);
  // Same box with a 60 % threshold: only the full patch 5.
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, box: [8, 8, 40, 40], minOverlap: 0.6 })), [5]);
});

Deno.test("groundTruthPatches: an object below the threshold everywhere takes its best patch", () => {
  // [8, 8, 24, 24] covers 25 % of patches 0, 1, 4, 5 each: tie → lowest index.
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, box: [8, 8, 24, 24] })), [0]);
  // [20, 20, 28, 28] lies inside patch 5 (25 % of it).
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, box: [20, 20, 28, 28] })), [5]);
  // [30, 20, 40, 28]: patch 5 gets 2·8 = 16 px², patch 6 gets 8·8 = 64 px² → patch 6.
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, box: [30, 20, 40, 28] })), [6]);
  assert.throws(() => groundTruthPatches({ ...GEO, box: [70, 70, 80, 80] }), RangeError);
  assert.throws(() => groundTruthPatches({ ...GEO, box: [10, 10, 10, 30] }), RangeError); // zero area
});

Deno.test("groundTruthPatches: pixel masks agree with the equivalent boxes", () => {
  const mask = new Uint8Array(64 * 64);
  for (let y = 0; y < 16; y++) for (let x = 8; x < 40; x++) mask[y * 64 + x] = 1;
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, mask })), [0, 1, 2]);
  mask.fill(0);
  for (let y = 8; y < 40; y++) for (let x = 8; x < 40; x++) mask[y * 64 + x] = 255;
  assert.deepEqual(ones(groundTruthPatches({ ...GEO, mask })), [1, 4, 5, 6, 9]);
  assert.throws(() => groundTruthPatches({ ...GEO }), RangeError);
  assert.throws(() => groundTruthPatches({ ...GEO, mask, box: [0, 0, 1, 1] }), RangeError);
  assert.throws(() => groundTruthPatches({ imageSize: 60, patchSize: 16, box: [0, 0, 16, 16] }), RangeError);
  assert.throws(() => groundTruthPatches({ ...GEO, mask: new Uint8Array(10) }), RangeError);
});

Deno.test("recallMatrix: equal recalls are broken by R-precision, then by order", async () => {
  // L = 4, maskRatio 0.75 → k = 3; gt {0}. Head 0: [0.5, 0.9, 0.8, 0.1] → top-3 ∋ 0 (recall 1), top-1 {1}
  // (R-precision 0). Head 1: [0.9, 0.5, 0.8, 0.1] → recall 1, R-precision 1. Head 2 equals head 1.
  const gt = new Uint8Array([1, 0, 0, 0]);
  const maps = [[0.5, 0.9, 0.8, 0.1], [0.9, 0.5, 0.8, 0.1], [0.9, 0.5, 0.8, 0.1]];
  const m = await recallMatrix({
    maps: (_b, head) => new Float32Array(maps[head]),
    blocks: 1,
    heads: 3,
    gt,
    numPatches: 4,
    includeAllHeads: false,
  });
  assert.deepEqual([...m.recall], [1, 1, 1]);
  assert.deepEqual([...m.rPrecision], [0, 1, 1]);
  assert.deepEqual(m.best, { block: 0, head: 1, recall: 1, rPrecision: 1 });
  assert.deepEqual([...rPrecision(new Float32Array(maps[0]), gt, 1, 4)], [0]);
});

Deno.test("topKRecall and recallMatrix on a hand-computed case", async () => {
  // L = 4, maskRatio 0.5 → k = 2.
  // Image 0: gt {0, 1}, map [0.9, 0.1, 0.8, 0.2] → top {0, 2} → recall 1/2.
  // Image 1: gt {3}, map [0.4, 0.3, 0.2, 0.1] → top {0, 1} → recall 0.
  const gt = new Uint8Array([1, 1, 0, 0, 0, 0, 0, 1]);
  const map = new Float32Array([0.9, 0.1, 0.8, 0.2, 0.4, 0.3, 0.2, 0.1]);
  assert.deepEqual([...topKRecall(map, gt, 2, 4, 2)], [0.5, 0]);
  // Head 1 is the reverse of head 0: image 0 top {1, 3} → 1/2; image 1 top {3, 2} → 1.
  const reversed = new Float32Array([0.1, 0.9, 0.2, 0.8, 0.1, 0.2, 0.3, 0.4]);
  const m = await recallMatrix({
    maps: (_block, head) => (head === 0 ? map : reversed),
    blocks: 1,
    heads: 2,
    gt,
    numPatches: 4,
    maskRatio: 0.5,
    includeAllHeads: false,
    perImage: true,
  });
  assert.deepEqual([...m.recall], [0.25, 0.75]);
  assert.deepEqual([...m.perImage!], [0.5, 0, 0.5, 1]);
  // R-precision (top-|gt| patches): head 0 → image 0 top-2 {0, 2} = 1/2, image 1 top-1 {0} = 0;
  // head 1 → top-2 {1, 3} = 1/2, top-1 {3} = 1.
  assert.deepEqual([...m.rPrecision], [0.25, 0.75]);
  assert.deepEqual(m.best, { block: 0, head: 1, recall: 0.75, rPrecision: 0.75 });
  assert.equal(m.k, 2);
  await assert.rejects(
    () => recallMatrix({ blocks: 1, heads: 1, gt, numPatches: 4 }),
    RangeError,
  );
  await assert.rejects(
    () => recallMatrix({ maps: () => new Float32Array(3), blocks: 1, heads: 1, gt, numPatches: 4 }),
    RangeError,
  );
});

// Planted-head fixture: a 12-block × 12-head teacher on a 14×14 grid; N = 100 annotated images, each with a
// random rectangle of object patches. Head b9h11's map is the ground truth plus small noise (recall 1);
// b10h2 is a decoy (weak ground-truth signal under noise, recall below 1 on most images; placed after the
// planted head so that a 1-shot tie could not hide a selection bug); every other head is pure noise.
const BLOCKS = 12;
const HEADS = 12;
const SIDE = 14;
const L = SIDE * SIDE;
const N = 100;
const PLANTED = { block: 9, head: 11 };

function makeGt(): Uint8Array {
  const rng = new Rng(2024);
  const gt = new Uint8Array(N * L);
  for (let i = 0; i < N; i++) {
    const h = 3 + rng.int(5);
    const w = 3 + rng.int(5);
    const top = rng.int(SIDE - h + 1);
    const left = rng.int(SIDE - w + 1);
    for (let r = top; r < top + h; r++) for (let c = left; c < left + w; c++) gt[i * L + r * SIDE + c] = 1;
  }
  return gt;
}
const GT = makeGt();

/** The map of one (block, head) for image `img` (head −1 = the sum over heads). */
function headMap(block: number, head: number, img: number): Float32Array {
  if (head === -1) {
    const sum = new Float32Array(L);
    for (let h = 0; h < HEADS; h++) headMap(block, h, img).forEach((v, j) => (sum[j] += v));
    return sum;
  }
  const rng = new Rng(hashLabel(`b${block}h${head}i${img}`));
  const map = new Float32Array(L);
  const planted = block === PLANTED.block && head === PLANTED.head;
  const decoy = block === 10 && head === 2;
  for (let j = 0; j < L; j++) {
    const object = GT[img * L + j];
    map[j] = planted ? object + 0.3 * rng.next() : decoy ? 0.15 * object + rng.next() : rng.next();
  }
  return map;
}

function blockSource(calls: number[]) {
  return (block: number, images: Int32Array) => {
    calls.push(block);
    const out = new Float32Array((HEADS + 1) * images.length * L);
    for (let c = 0; c <= HEADS; c++) {
      images.forEach((img, r) =>
        out.set(headMap(block, c < HEADS ? c : -1, img), (c * images.length + r) * L)
      );
    }
    return out;
  };
}

Deno.test("selectHead: 1-, 10- and 50-shot selection finds the planted head", async () => {
  for (const shots of [1, 10, 50]) {
    const calls: number[] = [];
    const choice = await selectHead({ shots }, {
      blocks: BLOCKS,
      heads: HEADS,
      fewShot: { gt: GT, numPatches: L, seed: 5, mapsForBlock: blockSource(calls) },
    });
    assert.equal(headLabel(choice), "b9h11", `${shots}-shot`);
    assert.equal(choice.recall, 1);
    const m = choice.matrix!;
    assert.deepEqual(m.images, chooseShots(N, shots, 5));
    assert.equal(m.columns, HEADS + 1);
    assert.equal(m.recall[PLANTED.block * m.columns + PLANTED.head], 1);
    assert.deepEqual(calls, [...Array(BLOCKS).keys()], "one map request per block");
    // The decoy is informative but worse; noise heads sit near the random recall k/L = 147/196.
    const decoy = m.recall[10 * m.columns + 2];
    if (shots > 1) assert.ok(decoy > 0.75 && decoy < 1, `decoy recall ${decoy}`);
    if (shots === 50) {
      const noise = m.recall[0];
      assert.ok(Math.abs(noise - randomRecall(L, 147)) < 0.05, `noise-head recall ${noise}`);
    }
  }
});

Deno.test("recallMatrix: per-head and per-block sources agree; the all-heads column competes only on request", async () => {
  const images = chooseShots(N, 10, 1);
  const perHead = await recallMatrix({
    maps: (block, head, imgs) => {
      const out = new Float32Array(imgs.length * L);
      imgs.forEach((img, r) => out.set(headMap(block, head, img), r * L));
      return Promise.resolve(out);
    },
    blocks: BLOCKS,
    heads: HEADS,
    gt: GT,
    numPatches: L,
    images,
  });
  const perBlock = await recallMatrix({
    mapsForBlock: blockSource([]),
    blocks: BLOCKS,
    heads: HEADS,
    gt: GT,
    numPatches: L,
    images,
  });
  assert.deepEqual(perHead.recall, perBlock.recall);
  assert.equal(perHead.best.head, 11);
  // Make the all-heads column perfect in block 0: it wins only with allHeadsCanWin (and ties go first).
  const perfectAll = (block: number, imgs: Int32Array) => {
    const out = blockSource([])(block, imgs);
    if (block === 0) {
      imgs.forEach((img, r) => out.set(GT.subarray(img * L, (img + 1) * L), (HEADS * imgs.length + r) * L));
    }
    return out;
  };
  const base = { blocks: BLOCKS, heads: HEADS, gt: GT, numPatches: L, images, mapsForBlock: perfectAll };
  assert.deepEqual((await recallMatrix(base)).best, { block: 9, head: 11, recall: 1, rPrecision: 1 });
  assert.deepEqual((await recallMatrix({ ...base, allHeadsCanWin: true })).best, {
    block: 0,
    head: -1,
    recall: 1,
    rPrecision: 1,
  });
});

Deno.test("selectHead: first, last and all", async () => {
  const opts = { blocks: 12, heads: 12 };
  assert.equal(headLabel(await selectHead("first", opts)), "b0h0");
  assert.equal(headLabel(await selectHead("last", opts)), "b11h11");
  assert.equal(headLabel(await selectHead("all", opts)), "b11h-1");
  assert.deepEqual(await selectHead("last", { blocks: 6, heads: 4 }), { block: 5, head: 3 });
  await assert.rejects(() => selectHead({ shots: 10 }, opts), RangeError);
  await assert.rejects(() => selectHead("middle" as "first", opts), RangeError);
});

Deno.test("chooseShots: deterministic, distinct, sorted, seed-dependent", () => {
  const a = chooseShots(100, 10, 7);
  assert.deepEqual(a, chooseShots(100, 10, 7));
  assert.notDeepEqual(a, chooseShots(100, 10, 8));
  assert.equal(new Set(a).size, 10);
  assert.deepEqual([...a], [...a].sort((x, y) => x - y));
  assert.ok(a.every((i) => i >= 0 && i < 100));
  assert.deepEqual([...chooseShots(5, 5, 1)], [0, 1, 2, 3, 4]);
  assert.throws(() => chooseShots(5, 6, 1), RangeError);
  assert.throws(() => chooseShots(5, 0, 1), RangeError);
});

Deno.test("randomRecall: k/L, matched by the empirical recall of random patches", () => {
  assert.equal(randomRecall(196, 147), 0.75);
  assert.equal(randomRecall(64, 16), 0.25);
  assert.throws(() => randomRecall(10, 11), RangeError);
  for (const k of [20, 98, 147]) {
    const r = empiricalRandomRecall({ gt: GT, numPatches: L, k, rng: new Rng(k), trials: 20 });
    assert.ok(Math.abs(r - k / L) < 0.015, `k = ${k}: empirical ${r} vs ${k / L}`);
  }
});

Deno.test("headLabel / parseHeadSelector", () => {
  const teacher = { depth: 12, heads: 12 };
  assert.deepEqual(parseHeadSelector("b9h11", teacher), { block: 9, head: 11 });
  assert.deepEqual(parseHeadSelector("b11h-1", teacher), { block: 11, head: -1 });
  assert.deepEqual(parseHeadSelector("b0h0", teacher), { block: 0, head: 0 });
  for (let block = 0; block < 12; block++) {
    for (let head = -1; head < 12; head++) {
      assert.deepEqual(parseHeadSelector(headLabel({ block, head }), teacher), { block, head });
    }
  }
  for (
    const bad of ["", "b9", "h11", "9h11", "B9h11", "b9h11 ", "b09h1", "b9h011", "b-1h0", "b9h-2", "b1.5h2"]
  ) {
    assert.throws(() => parseHeadSelector(bad, teacher), /malformed/, bad);
  }
  assert.throws(() => parseHeadSelector("b12h0", teacher), /block 12 out of/);
  assert.throws(() => parseHeadSelector("b0h12", teacher), /head 12 out of/);
  assert.throws(() => parseHeadSelector("b5h3", { depth: 4, heads: 12 }), RangeError);
});

Deno.test("compareWithCentre: paired difference to the centre prior, its 95 % CI and the verdict (hand-computed)", async () => {
  const { compareWithCentre } = await import("../app/figures.ts");
  // Differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, half width t(0.975, 2)·0.1/√3 = 0.24841.
  const r = compareWithCentre(0.25, 16, 64, [0.6, 0.7, 0.8], [0.5, 0.5, 0.5]);
  assert.equal(r.randomRecall, 0.25);
  assert.ok(Math.abs(r.minusCenter - 0.2) < 1e-12);
  assert.ok(Math.abs(r.minusCenterCi[0] - (0.2 - 0.248414)) < 1e-5);
  assert.equal(r.verdict, "ties the centre prior");
  const clear = compareWithCentre(0.75, 48, 64, [0.9, 0.91, 0.92, 0.9], [0.8, 0.8, 0.81, 0.8]);
  assert.equal(clear.verdict, "beats the centre prior");
  assert.equal(
    compareWithCentre(0.75, 48, 64, [0.7, 0.71, 0.72], [0.8, 0.8, 0.81]).verdict,
    "below the centre prior",
  );
});
