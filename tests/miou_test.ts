import assert from "node:assert/strict";
import { confusionMatrix, emptyConfusion, miou } from "../lib/eval/miou.ts";

function close(a: number, b: number, what: string): void {
  assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} ≠ ${b}`);
}

Deno.test("miou: hand-computed 3-class example with void pixels ignored", () => {
  // 10 pixels; label 255 is void. Class 2 never appears in labels but is predicted once.
  const label = [0, 0, 0, 1, 1, 1, 1, 255, 255, 0];
  const pred = [0, 0, 1, 1, 1, 2, 1, 2, 0, 0];
  const conf = confusionMatrix(pred, label, 3, 255);
  // Rows = label, columns = prediction (void pixels 7 and 8 skipped).
  assert.deepEqual(Array.from(conf.counts), [
    3,
    1,
    0, // label 0: pixels 0, 1, 9 → 0; pixel 2 → 1
    0,
    3,
    1, // label 1: pixels 3, 4, 6 → 1; pixel 5 → 2
    0,
    0,
    0, // label 2: none
  ]);
  const m = miou(conf);
  // IoU0 = 3 / (4 + 3 − 3) = 3/4; IoU1 = 3 / (4 + 4 − 3) = 3/5; IoU2 = 0 / (0 + 1 − 0) = 0 (predicted only).
  close(m.perClassIoU[0], 3 / 4, "IoU0");
  close(m.perClassIoU[1], 3 / 5, "IoU1");
  close(m.perClassIoU[2], 0, "IoU2");
  close(m.miou, (3 / 4 + 3 / 5 + 0) / 3, "mIoU");
  close(m.pixelAcc, 6 / 8, "pixelAcc");
  // Mean accuracy over classes present in the labels: (3/4 + 3/4) / 2.
  close(m.meanAcc, 3 / 4, "meanAcc");
  assert.equal(m.validClasses, 3);
});

Deno.test("miou: classes absent from both predictions and labels are left out of the mean (NaN)", () => {
  const label = [0, 0, 1, 1];
  const pred = [0, 1, 1, 1];
  const m = miou(confusionMatrix(pred, label, 4, 255)); // classes 2 and 3 never occur
  close(m.perClassIoU[0], 1 / 2, "IoU0");
  close(m.perClassIoU[1], 2 / 3, "IoU1");
  assert.ok(Number.isNaN(m.perClassIoU[2]) && Number.isNaN(m.perClassIoU[3]));
  close(m.miou, (1 / 2 + 2 / 3) / 2, "mIoU over the 2 defined classes");
  assert.equal(m.validClasses, 2);
  // Perfect prediction → 1; nothing counted → NaN.
  close(miou(confusionMatrix([2, 1, 0], [2, 1, 0], 3)).miou, 1, "perfect");
  assert.ok(Number.isNaN(miou(confusionMatrix([0, 1], [9, 9], 3, 9)).miou));
});

Deno.test("miou: accumulating batches equals one pass; malformed input is rejected", () => {
  const label = [0, 1, 2, 2, 1, 0, 11, 2];
  const pred = [0, 2, 2, 1, 1, 0, 5, 2];
  const whole = confusionMatrix(pred, label, 3, 11);
  const acc = emptyConfusion(3);
  confusionMatrix(pred.slice(0, 3), label.slice(0, 3), 3, 11, acc);
  confusionMatrix(pred.slice(3), label.slice(3), 3, 11, acc);
  assert.deepEqual(Array.from(acc.counts), Array.from(whole.counts));
  // The prediction under a void label may be anything, even out of range (pixel 6 predicts 5).
  assert.throws(() => confusionMatrix([0], [3], 3, 11), RangeError); // label out of range, not void
  assert.throws(() => confusionMatrix([3], [0], 3, 11), RangeError); // prediction out of range
  assert.throws(() => confusionMatrix([0, 1], [0], 3), RangeError); // length mismatch
  assert.throws(() => confusionMatrix([0], [0], 3, undefined, emptyConfusion(4)), RangeError);
});
