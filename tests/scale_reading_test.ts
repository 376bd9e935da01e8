import assert from "node:assert/strict";
import { scaleReading } from "../lib/report/scale_reading.ts";
import type { Verdict } from "../lib/report/verdict_types.ts";
import type { GainOverFloor } from "../lib/report/report_model.ts";
import { verdictFixture } from "./fixtures.ts";

function verdict(id: string, outcome: Verdict["outcome"], extra: Partial<Verdict> = {}): Verdict {
  return verdictFixture({
    claimId: id,
    text: id,
    outcome,
    compared: { a: "a", b: "b" },
    delta: 0.2,
    ci: [-0.1, 0.5],
    mde: 0.4,
    halfWidth: 0.3,
    pValue: 0.2,
    seedsNeeded: 4,
    ...extra,
  });
}

const gain: GainOverFloor = {
  baseline: "mae",
  floor: "random-init",
  baselineLabel: "MAE",
  floorLabel: "random init",
  baselineMean: 17,
  floorMean: 15.8,
  gain: 1.2,
};

Deno.test("scaleReading: no claims, no reading", () => {
  assert.equal(scaleReading([]), null);
});

Deno.test("scaleReading: outcomes by claim, Holm where it changes one, the MDE as a share of pre-training's gain", () => {
  const text = scaleReading([
    verdict("a", "reproduced", { ci: [0.1, 0.9], holm: { adjustedP: 0.1, outcome: "inconclusive" } }),
    verdict("b", "smaller than the paper's", { paperEffect: 1 }),
    verdict("c", "inconclusive", { mde: 0.6, seedsNeeded: 17 }),
    verdict("d", "inconclusive", { mde: 0.3, seedsNeeded: Infinity }),
    verdict("e", "inconclusive", { method: "none", n: "0", ci: null, mde: NaN }),
  ], { gain, metricKey: "finetune" })!;
  assert.match(
    text,
    /^Of the 4 claims judged on the runs here, 1 holds \(`a`\), /,
  );
  assert.match(text, /1 excludes an effect as large as the paper's, without excluding none \(`b`\)/);
  assert.match(
    text,
    /2 are inconclusive \(`c` and `d`\)\. After Holm's correction over the table's claims, `a` becomes inconclusive\./,
  );
  // 0.3 and 0.6 points over a gain of 1.2: 25 % and 50 %.
  assert.match(
    text,
    /smaller than about 0\.30–0\.60 points \(the MDE of the inconclusive claims\), that is 25–50 % of what pre-training/,
  );
  assert.match(text, /MAE − random init 1\.20/);
  assert.match(text, /would need about 17 to more than 1000 seeds per row/);
  assert.match(text, /1 claim is not judged: its rows did not run \(`e`\)\.$/);
});

Deno.test("scaleReading: without a floor row no share; exact claims give no MDE", () => {
  const text = scaleReading([
    verdict("flops", "inconclusive", { method: "exact", mde: NaN }),
    verdict("acc", "inconclusive", { mde: 1.96, seedsNeeded: null }),
  ])!;
  assert.match(
    text,
    /less than 80 % power to detect a true difference smaller than about 1\.96 points \(the MDE of the inconclusive claims\)\./,
  );
  assert.doesNotMatch(text, /pre-training itself/);
  assert.doesNotMatch(text, /seeds per row/);
  assert.equal(
    scaleReading([verdict("x", "not reproduced")]),
    "Of the 1 claim judged on the runs here, 1 is contradicted (`x`).",
  );
});
