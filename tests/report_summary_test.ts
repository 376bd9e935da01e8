import assert from "node:assert/strict";
import { replaceBetweenMarkers, type ReportJson, resultsSummary } from "../lib/report/summary.ts";
import { verdictFixture } from "./fixtures.ts";

const verdict = verdictFixture;

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
  assert.match(lines[0], /\| seeds \| seeds for 80 % power if paper Δ holds here \|$/);
  assert.equal(
    lines[2],
    "| [Table 1](reports/cpu/table1.md) | GPA beats MAE | +0.50 | +0.40 [−0.10, +0.90] | **inconclusive** | 5 | 9 |",
  );
  assert.match(
    lines[3],
    /a \\\| b \| \+0\.50 \| \+1\.25 \[\+0\.50, \+2\.00\] \| \*\*reproduced\*\* \(Holm: inconclusive\) \| 5 \| — \|$/,
  );
});

Deno.test("resultsSummary: seeds beyond the power search survive JSON as '> 1000', with the spread's range", async () => {
  const { tableReportJson } = await import("../lib/report/markdown.ts");
  // Written as the table runner writes it, read back as `results` reads it: JSON.stringify(Infinity) is null,
  // which printed '3 (—)' (no count) where the report said '> 1000'.
  const json = JSON.parse(JSON.stringify(tableReportJson({
    header: {
      title: "T4",
      tableId: "table4",
      profile: "cpu",
      dataset: "d",
      resolution: 64,
      model: "m",
      epochs: 4,
      backend: "wasm",
      seeds: [0, 1, 2],
      commit: "abc",
      date: "2026-01-01",
      wallTimeSeconds: 1,
      cacheHits: { hits: 0, total: 0 },
    },
    metric: { key: "finetune", label: "top-1" },
    rows: [],
    verdicts: [
      verdict({ n: "3 pairs", seedsNeeded: Infinity, seedsNeededRange: [40, Infinity] }),
      verdict({ n: "3 pairs", claimId: "e", text: "two", seedsNeeded: 6, seedsNeededRange: [3, 250] }),
    ],
    deviations: [],
    notes: [],
  })));
  assert.equal(json.verdicts[0].seedsNeeded, "> 1000");
  assert.deepEqual(json.verdicts[0].seedsNeededRange, [40, "> 1000"]);
  const lines = resultsSummary([{ file: "t4.md", report: json }]).split("\n");
  assert.match(lines[2], /\| \*\*inconclusive\*\* \| 3 \| > 1000 \(40 to > 1000\) \|$/);
  assert.match(lines[3], /\| 3 \| 6 \(3 to 250\) \|$/);
});

Deno.test("resultsSummary: the paper-Δ outcomes and the label of a reproduced verdict", () => {
  const report: ReportJson = {
    header: { tableId: "table1", title: "T1", dataset: "d", seeds: [0, 1, 2, 3, 4] },
    verdicts: [
      verdict({ outcome: "smaller than the paper's", vsPaper: "smaller", seedsNeeded: null }),
      verdict({ outcome: "reproduced", vsPaper: "smaller", ci: [0.1, 0.3], seedsNeeded: null }),
    ],
  };
  const lines = resultsSummary([{ file: "t1.md", report }]).split("\n");
  assert.match(lines[2], /\| \*\*smaller than the paper's\*\* \| 5 \| — \|$/);
  assert.match(lines[3], /\| \*\*reproduced, smaller than the paper's\*\* \| 5 \| — \|$/);
});

Deno.test("replaceBetweenMarkers replaces only what lies between the markers", () => {
  const text = "a\n<!-- results:start -->\nold\n<!-- results:end -->\nb\n";
  assert.equal(
    replaceBetweenMarkers(text, "new"),
    "a\n<!-- results:start -->\n\nnew\n\n<!-- results:end -->\nb\n",
  );
  assert.throws(() => replaceBetweenMarkers("no markers", "x"), /markers/);
});

Deno.test("resultsSummary lists a claim whose rows did not run as 'not run', and counts them", () => {
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
  assert.ok(md.includes("| never ran | +0.50 | — | **not run** | 0 | — |"), md);
  assert.ok(!/never ran[^\n]*not reproduced/.test(md), "not run is never 'not reproduced'");
  assert.ok(md.includes("| one seed |"), "too few seeds is still a result to show");
  assert.ok(md.endsWith("\n\n2 of 3 claims judged; 1 not run (their rows did not run: Table 10 1)."), md);
});

Deno.test("resultsSummary shows every table: one with no report yet is a line of its own, counted", () => {
  const report: ReportJson = {
    header: { tableId: "table1", title: "T1", dataset: "d", seeds: [0, 1] },
    verdicts: [verdict({ text: "ran" })],
  };
  const md = resultsSummary([{ file: "t1.md", report }], {
    missing: [{ id: "table5", claims: 4, command: "deno task table5 --profile cpu" }],
  });
  assert.ok(
    md.includes(
      "| Table 5 | no report on this profile yet: its 4 claims not judged (`deno task table5 --profile cpu`) " +
        "| — | — | **not run** | 0 | — |",
    ),
    md,
  );
  assert.ok(md.endsWith("\n\nNo report yet for Table 5 (4 claims of the paper not counted above)."), md);
  // In table order: Table 5's line between Table 1's and Table 7's claims, before the suite's own tables.
  const t7: ReportJson = { ...report, header: { ...report.header, tableId: "table7" } };
  const own: ReportJson = { ...report, header: { ...report.header, tableId: "teachers" } };
  const rows = resultsSummary([{ file: "t1.md", report }, { file: "t7.md", report: t7 }, {
    file: "tt.md",
    report: own,
  }], { missing: [{ id: "table5", claims: 4, command: "c" }, { id: "table2", claims: 2, command: "c" }] })
    .split("\n").slice(2).filter((l) => l.startsWith("| ")).map((l) => l.split(" | ")[0]);
  assert.deepEqual(rows, [
    "| [Table 1](t1.md)",
    "| Table 2",
    "| Table 5",
    "| [Table 7](t7.md)",
    "| [teachers](tt.md)",
  ]);
  assert.ok(
    !resultsSummary([{ file: "t1.md", report }]).includes("No report yet"),
    "nothing missing: no line",
  );
});

Deno.test("seedsBehind: the seeds a verdict's own test used, not the report's", async () => {
  const { seedsBehind } = await import("../lib/report/summary.ts");
  assert.equal(seedsBehind({ n: "3 pairs (2 unpaired seed value(s) left out)", method: "paired" }, 5), "3");
  assert.equal(seedsBehind({ n: "5/3 seeds", method: "welch" }, 5), "5/3");
  assert.equal(seedsBehind({ n: "3/3 seeds", method: "welch" }, 5), "3");
  assert.equal(seedsBehind({ n: "1/1", method: "exact" }, 5), "—");
  assert.equal(seedsBehind({ n: "0", method: "none" }, 5), "5");
});
