import assert from "node:assert/strict";
import { centerPriorMaps } from "../app/figures.ts";
import { topKRecall } from "../lib/head_selection.ts";
import { topKPerRow } from "../lib/masking/select.ts";

Deno.test("centre-prior maps rank the central patches first, identically for every image", () => {
  // 4×4 grid (16 px, patch 4): the four central patches are 5, 6, 9, 10; the corners come last.
  const maps = centerPriorMaps({ imageSize: 16, patchSize: 4 }, 2);
  assert.equal(maps.length, 2 * 16);
  const top = topKPerRow(maps, 2, 16, 4);
  assert.deepEqual([...top.subarray(0, 4)].sort((a, b) => a - b), [5, 6, 9, 10]);
  assert.deepEqual([...top.subarray(4, 8)].sort((a, b) => a - b), [5, 6, 9, 10]);
  const bottom = topKPerRow(maps.subarray(0, 16).map((v) => -v), 1, 16, 4);
  assert.deepEqual([...bottom].sort((a, b) => a - b), [0, 3, 12, 15]);
});

Deno.test("centre-prior recall: 1 for a central object, 0 for a corner object at k = 4", () => {
  const maps = centerPriorMaps({ imageSize: 16, patchSize: 4 }, 2);
  const gt = new Uint8Array(2 * 16);
  for (const p of [5, 6, 9, 10]) gt[p] = 1; // image 0: central object
  gt[16 + 0] = 1; // image 1: top-left corner patch only
  const recall = topKRecall(maps, gt, 2, 16, 4);
  assert.deepEqual([...recall], [1, 0]);
});
