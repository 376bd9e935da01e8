/** What a report derives before rendering (lib/report/report_model.ts), against hand computations. */
import assert from "node:assert/strict";
import { countOutcomes, deriveRows, gainOverFloor } from "../lib/report/report_model.ts";

Deno.test("deriveRows: mean, sample std and both deltas to the baseline, by hand", () => {
  const rows = deriveRows({
    metric: { key: "acc", label: "acc" },
    baseline: "a",
    rows: [
      { key: "a", label: "A", paper: 80, perSeed: [1, 2, 3] },
      { key: "b", label: "B", paper: 81.5, perSeed: [2, 4] },
      { key: "c", label: "C", paper: null, perSeed: [] },
    ],
  });
  assert.equal(rows[0].mean, 2);
  assert.equal(rows[0].std, 1); // √(((1−2)² + 0 + (3−2)²) / 2)
  assert.equal(rows[0].isBaseline, true);
  assert.equal(rows[1].mean, 3);
  assert.equal(rows[1].oursDelta, 1);
  assert.equal(rows[1].paperDelta, 1.5);
  assert.equal(rows[2].mean, null);
  assert.equal(rows[2].oursDelta, null);
});

Deno.test("gainOverFloor and countOutcomes", () => {
  const metric = { key: "acc", label: "acc" };
  const input = {
    header: {} as never,
    metric,
    baseline: "mae",
    floorRow: "random-init",
    rows: [
      { key: "random-init", label: "r", paper: null, perSeed: [15, 16] },
      { key: "mae", label: "m", paper: null, perSeed: [17, 18] },
    ],
    verdicts: [],
    deviations: [],
    notes: [],
  };
  assert.equal(gainOverFloor(input)!.gain, 2);
  assert.equal(gainOverFloor({ ...input, floorRow: undefined }), null);
  const counts = countOutcomes([{ outcome: "reproduced" }, { outcome: "inconclusive" }, {
    outcome: "reproduced",
  }]);
  assert.equal(counts.reproduced, 2);
  assert.equal(counts["not reproduced"], 0);
});

Deno.test("tableNumber and tableLabel: paper tables by number, the suite's own by id", async () => {
  const { tableLabel, tableNumber } = await import("../lib/report/report_model.ts");
  assert.equal(tableNumber("table10"), 10);
  assert.equal(tableNumber("teachers"), null);
  assert.equal(tableNumber("table4b"), null);
  assert.equal(tableLabel("table4"), "Table 4");
  assert.equal(tableLabel("teachers-long"), "teachers-long");
  assert.equal(tableLabel(undefined), "?");
});
