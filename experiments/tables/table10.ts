/**
 * Table 10 — GPA's mask strategy on other frameworks.
 *
 * The paper's numbers and claims (transcribed from the extracted paper text) next to the runs that
 * reproduce each row at a profile's scale.
 * @module
 */
import type { Claim, PaperRow } from "../paper_types.ts";
import type { TableModule } from "./common.ts";
import { gpaRequest, notImplemented, paperTable, tablePlan } from "./common.ts";

const table10Entries: Array<[string, string, string, number, number, number, number]> = [
  // key, label, evaluation, epochs, baseline, with GPA teacher, printed delta
  ["mae-b", "MAE-B", "fine-tune", 200, 82.2, 82.7, 0.5],
  ["convmae-s", "ConvMAE-S", "fine-tune", 200, 80.0, 82.4, 2.4],
  ["cae-s", "CAE-S", "k-NN", 50, 37.4, 38.5, 1.1],
  ["ibot-b", "iBOT-B", "k-NN", 100, 47.3, 48.4, 1.1],
];

const table10Rows: PaperRow[] = table10Entries.flatMap((
  [key, label, evaluation, epochs, base, gpa, delta],
) => [
  {
    key: `${key}/baseline`,
    label: `${label} (baseline)`,
    cells: { method: label, evaluation, epochs, variant: "baseline", acc: base },
  },
  {
    key: `${key}/gpa`,
    label: `${label} + GPA teacher`,
    cells: { method: label, evaluation, epochs, variant: "GPA as teacher", acc: gpa },
    printedDelta: { acc: delta },
  },
]);

/** The paper's Table 10: rows, claims and transcription notes. */
export const paper = paperTable(10, {
  caption: "GPA masking (teacher only) plugged into other MIM frameworks: MAE-B and ConvMAE-S (fine-tune " +
    "top-1) and CAE-S and iBOT-B (k-NN top-1), before and after.",
  paperColumns: ["method", "epochs", "Baseline", "GPA as teacher"],
  layout: "Each printed row (one framework, baseline and GPA columns) is stored as two rows " +
    "'<framework>/baseline' and '<framework>/gpa' with the accuracy in 'acc'.",
  columns: [
    { key: "method", label: "framework", type: "text" },
    { key: "evaluation", label: "evaluation", type: "text" },
    { key: "epochs", label: "pre-train epochs", type: "number" },
    { key: "variant", label: "variant", type: "text" },
    { key: "acc", label: "top-1", type: "number", metric: true, unit: "%", higherIsBetter: true },
  ],
  rows: table10Rows,
  baseline: "mae-b/baseline",
  groups: table10Entries.map(([key, label]) => ({
    key,
    label,
    rows: [`${key}/baseline`, `${key}/gpa`],
    baseline: `${key}/baseline`,
  })),
  claims: table10Entries.map(([key, label, evaluation]): Claim => ({
    kind: "greater",
    id: `t10-gpa-improves-${key}`,
    text: `GPA masking improves ${label} (${evaluation} top-1)`,
    metric: "acc",
    a: `${key}/gpa`,
    b: `${key}/baseline`,
    source: "§4.3, Table 10",
  })),
  notes: [
    "Rows marked * in the paper (CAE-S, iBOT-B) are k-NN accuracies; MAE-B and ConvMAE-S are fine-tune top-1.",
    "The text says CAE-S and iBOT-B were pre-trained for 50/100 epochs, matching the epochs column.",
  ],
});

/** The runs behind the rows, at a profile's scale. */
export const plan = tablePlan(
  "table10",
  "Table 10 — GPA's mask strategy on other frameworks",
  ({ common }) => ({
    metric: { key: "acc", label: "fine-tune top-1", evaluation: "finetune" },
    rows: [
      { key: "mae-b/baseline", label: "MAE", request: { name: "random" } },
      { key: "mae-b/gpa", label: "MAE + GPA masks", request: gpaRequest() },
      { key: "convmae-s/baseline", label: "ConvMAE", notRun: notImplemented("ConvMAE (hybrid conv-ViT)") },
      { key: "convmae-s/gpa", label: "ConvMAE + GPA masks", notRun: notImplemented("ConvMAE") },
      { key: "cae-s/baseline", label: "CAE", notRun: notImplemented("CAE") },
      { key: "cae-s/gpa", label: "CAE + GPA masks", notRun: notImplemented("CAE") },
      { key: "ibot-b/baseline", label: "iBOT", notRun: notImplemented("iBOT") },
      { key: "ibot-b/gpa", label: "iBOT + GPA masks", notRun: notImplemented("iBOT") },
    ],
    deviations: [
      ...common,
      "only the MAE rows are run; GPA here is the mask strategy alone (no MAM), as the paper",
    ],
  }),
);

/** Table 10. */
export const table10: TableModule = { id: "table10", paper, plan };
