/** The report's JSON object (lib/report/report_json.ts): meanings that survive JSON. */
import assert from "node:assert/strict";
import { REPORT_SCHEMA, tableReportJson } from "../lib/report/report_json.ts";

Deno.test("tableReportJson: NaN becomes null, seeds past the power search stay '> 1000'", () => {
  const json = tableReportJson({
    header: {} as never,
    metric: { key: "acc", label: "acc" },
    baseline: "a",
    rows: [{ key: "a", label: "A", paper: null, perSeed: [1] }],
    verdicts: [{
      claimId: "x",
      text: "x",
      kind: "greater",
      metric: "acc",
      outcome: "inconclusive",
      vsPaper: null,
      rule: "",
      compared: { a: "a", b: "b" },
      delta: NaN,
      ci: null,
      level: 0.95,
      method: "none",
      n: "0",
      mde: NaN,
      halfWidth: NaN,
      pValue: NaN,
      paperEffect: 0.5,
      seedsNeeded: Infinity,
      seedsNeededRange: [12, Infinity],
      rows: {},
      detail: "",
    }],
    deviations: [],
    notes: [],
  });
  const text = JSON.parse(JSON.stringify(json));
  assert.equal(text.schema, REPORT_SCHEMA);
  assert.equal(text.verdicts[0].delta, null);
  assert.equal(text.verdicts[0].seedsNeeded, "> 1000");
  assert.deepEqual(text.verdicts[0].seedsNeededRange, [12, "> 1000"]);
});
