import assert from "node:assert/strict";
import { replaceBetweenMarkers, type ReportJson, resultsSummary } from "../lib/report/summary.ts";
import type { Verdict } from "../lib/report/verdict.ts";

const verdict = (over: Partial<Verdict>): Verdict => ({
  claimId: "c",
  text: "GPA beats MAE",
  kind: "greater",
  metric: "finetune",
  outcome: "inconclusive",
  rule: "",
  compared: { a: "gpa", b: "mae" },
  delta: 0.4,
  ci: [-0.1, 0.9],
  level: 0.95,
  method: "paired",
  n: "5 pairs",
  mde: 0.5,
  halfWidth: 0.5,
  pValue: 0.1,
  paperEffect: 0.5,
  seedsNeeded: 9,
  seedsNeededRange: null,
  vsPaper: null,
  rows: {},
  detail: "",
  ...over,
});

Deno.test("resultsSummary: one line per claim with paper Δ, paired CI, verdict, Holm and seeds", () => {
  const report: ReportJson = {
    header: { tableId: "table1", title: "T1", dataset: "d", seeds: [0, 1, 2, 3, 4] },
    verdicts: [
      verdict({}),
      verdict({
        claimId: "d",
        text: "a | b",
        outcome: "reproduced",
        delta: 1.25,
        ci: [0.5, 2],
        holm: { adjustedP: 0.08, outcome: "inconclusive" },
      }),
    ],
  };
  const lines = resultsSummary([{ file: "reports/cpu/table1.md", report }]).split("\n");
  assert.equal(lines.length, 4);
  assert.equal(
    lines[2],
    "| [Table 1](reports/cpu/table1.md) | GPA beats MAE | +0.50 | +0.40 [−0.10, +0.90] | **inconclusive** | 5 (9) |",
  );
  assert.match(
    lines[3],
    /a \\\| b \| \+0\.50 \| \+1\.25 \[\+0\.50, \+2\.00\] \| \*\*reproduced\*\* \(Holm: inconclusive\) \| 5 \|$/,
  );
});

Deno.test("replaceBetweenMarkers replaces only what lies between the markers", () => {
  const text = "a\n<!-- results:start -->\nold\n<!-- results:end -->\nb\n";
  assert.equal(
    replaceBetweenMarkers(text, "new"),
    "a\n<!-- results:start -->\n\nnew\n\n<!-- results:end -->\nb\n",
  );
  assert.throws(() => replaceBetweenMarkers("no markers", "x"), /markers/);
});

Deno.test("resultsSummary lists only claims that ran: one on rows with no results is left out", () => {
  const report: ReportJson = {
    header: { tableId: "table10", title: "T10", dataset: "d", seeds: [0, 1] },
    verdicts: [
      verdict({ text: "ran" }),
      verdict({ text: "never ran", method: "none", n: "0", delta: NaN, ci: null, pValue: NaN }),
      verdict({ text: "one seed", method: "none", n: "1 vs 1", ci: null, pValue: NaN }),
    ],
  };
  const md = resultsSummary([{ file: "t10.md", report }]);
  assert.ok(md.includes("| ran |"), md);
  assert.ok(!md.includes("never ran"), md);
  assert.ok(md.includes("| one seed |"), "too few seeds is still a result to show");
});
