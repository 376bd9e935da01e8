import assert from "node:assert/strict";
import { pairedDifference, pairwiseHolm, type ProseReportJson, resultsProse } from "../lib/report/prose.ts";
import { replaceBetweenMarkers } from "../lib/report/summary.ts";
import { PROSE_MARKERS } from "../lib/report/prose.ts";

// Table 4's α = 0.75 group as the cpu report holds it (per-seed values of seeds 0, 1, 2).
const row = (key: string, label: string, perSeed: number[]) => ({
  key,
  label,
  perSeed,
  seeds: [0, 1, 2],
  baseline: "a0.75-h0to0",
});
const TABLE4: ProseReportJson = {
  header: { tableId: "table4", seeds: [0, 1, 2] },
  metrics: [{
    metric: { key: "finetune", label: "fine-tune top-1" },
    baseline: "a0.75-h0to0",
    rows: [
      row("a0.75-h0to0", "no hard share", [17.6, 17.12, 17.12]),
      row("a0.75-h0to0.5", "0 → 0.5", [18, 17.12, 17.68]),
      row("a0.75-h0to1", "0 → 1", [17.36, 18, 18.64]),
      row("a0.75-h1to1", "1 → 1", [16.08, 15.76, 15.08]),
      { key: "a0.5-h0to0", label: "α 0.5", perSeed: [], seeds: [] },
    ],
  }],
};

Deno.test("pairedDifference: per-seed differences over the common seeds", () => {
  const [base, half] = TABLE4.metrics[0].rows;
  const d = pairedDifference(half, base)!;
  assert.equal(d.pairs, 3);
  assert.ok(Math.abs(d.delta - 0.32) < 1e-9, String(d.delta));
  assert.equal(pairedDifference(half, { ...base, seeds: [5, 6, 7] }), null, "no common seeds");
});

Deno.test("resultsProse: the README's Table 4 numbers are computed, not typed (0 → 0.5 is +0.32, not +0.72)", () => {
  const text = resultsProse([{ file: "reports/cpu/table4.md", report: TABLE4 }]);
  assert.ok(text.includes("0 → 0.5 17.60 (+0.32 [−0.40, +1.04])"), text);
  assert.ok(text.includes("0 → 1 18.00 (+0.72 [−1.49, +2.93])"), text);
  assert.ok(text.includes("(not run: a0.5-h0to0)"), text);
});

Deno.test("resultsProse: post-hoc statements carry Holm's correction over the group's pairwise comparisons", () => {
  const pairs = pairwiseHolm(TABLE4.metrics[0].rows.slice(0, 4));
  assert.equal(pairs.length, 6);
  const worst = pairs.find((d) => d.a === "a0.75-h1to1" && d.b === "a0.75-h0to0.5")!;
  assert.ok(Math.abs(worst.delta + 1.96) < 1e-9 && worst.ci[1] < 0, "nominally below 0");
  assert.ok(worst.holmP > 0.05, "not after Holm over the 6");
  const text = resultsProse([{ file: "t4.md", report: TABLE4 }]);
  assert.match(
    text,
    /Post hoc, not a paper claim: of the 6 pairwise differences among these rows, 2 have a 95 % interval that excludes 0 — .*1 → 1 against 0 → 0\.5 −1\.96 \[−3\.50, −0\.42\] \(Holm-adjusted p 0\.\d{3}\) — and none survives Holm's correction over the 6\./,
  );
});

Deno.test("the prose block is written between its own markers", () => {
  const readme = `x\n${PROSE_MARKERS[0]}\nold +0.72\n${PROSE_MARKERS[1]}\ny`;
  const out = replaceBetweenMarkers(readme, "new", PROSE_MARKERS);
  assert.equal(out, `x\n${PROSE_MARKERS[0]}\n\nnew\n\n${PROSE_MARKERS[1]}\ny`);
});

Deno.test("resultsProse: a table's discussion note is quoted after its numbers; other notes are not", () => {
  const report: ProseReportJson = {
    ...TABLE4,
    header: { ...TABLE4.header, tableId: "teachers" },
    notes: [
      "Runs: 25 units",
      "Discussion (written from the verdicts above): oracle − MAE +0.31 [−0.13, +0.76].",
    ],
  };
  const paragraphs = resultsProse([{ file: "reports/cpu/teachers.md", report }]).split("\n\n");
  assert.equal(paragraphs.length, 2);
  assert.equal(
    paragraphs[1],
    "[teachers](reports/cpu/teachers.md) — Discussion (written from the verdicts above): oracle − MAE +0.31 " +
      "[−0.13, +0.76].",
  );
  assert.ok(!paragraphs.join("").includes("Runs: 25 units"));
  assert.equal(resultsProse([{ file: "t4.md", report: TABLE4 }]).split("\n\n").length, 1);
});
