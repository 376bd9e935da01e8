/**
 * Table 9 — efficiency: accuracy vs cost.
 *
 * The paper's numbers and claims (transcribed from the extracted paper text) next to the runs that
 * reproduce each row at a profile's scale.
 * @module
 */
import { type CostMethod, costTable } from "../../lib/cost.ts";
import type { TableModule } from "./common.ts";
import {
  FINETUNE_COLUMN,
  FINETUNE_METRIC,
  gpaRequest,
  LINPROBE_COLUMN,
  oneGroup,
  paperTable,
  tablePlan,
} from "./common.ts";

/** How much more than MAE's FLOPs "slightly more" allows, in multiples of MAE's (the paper: 0.1×). */
export const SLIGHTLY = 0.25;

/** The paper's Table 9: rows, claims and transcription notes. */
export const paper = paperTable(9, {
  caption: "Accuracy against cost: fine-tune and linear-probe top-1 with pre-training FLOPs and learnable " +
    "parameters relative to MAE.",
  paperColumns: ["method", "fine-tune(%)", "lin. prob.(%)", "FLOPs", "learn. para."],
  columns: [
    { key: "method", label: "method", type: "text" },
    FINETUNE_COLUMN,
    LINPROBE_COLUMN,
    {
      key: "flops",
      label: "FLOPs (× MAE)",
      type: "number",
      metric: true,
      unit: "×",
      higherIsBetter: false,
      deterministic: true,
    },
    {
      key: "params",
      label: "learnable params (× MAE)",
      type: "number",
      metric: true,
      unit: "×",
      higherIsBetter: false,
      deterministic: true,
    },
  ],
  rows: [
    {
      key: "mae",
      label: "MAE",
      cells: { method: "MAE", finetune: 82.2, linprobe: 50.8, flops: 1.0, params: 1.0 },
    },
    {
      key: "hpm",
      label: "HPM",
      cells: { method: "HPM", finetune: 83.0, linprobe: 54.9, flops: 1.3, params: 1.2 },
    },
    {
      key: "gpa",
      label: "GPA",
      cells: { method: "GPA", finetune: 83.2, linprobe: 64.9, flops: 1.1, params: 1.0 },
    },
  ],
  baseline: "mae",
  groups: oneGroup(["mae", "hpm", "gpa"], "mae"),
  claims: [
    {
      kind: "greater",
      id: "t9-gpa-costs-more-flops-than-mae",
      text: "GPA's pre-training costs slightly more FLOPs than MAE's (at most 0.25× MAE more; the paper: " +
        "1.1× against 1.0×, a 'marginal' overhead)",
      metric: "flops",
      a: "gpa",
      b: "mae",
      atMost: SLIGHTLY,
      source: "§4.2, Table 9",
    },
    {
      kind: "greater",
      id: "t9-hpm-costs-more-flops-than-gpa",
      text: "HPM's pre-training costs more FLOPs than GPA's",
      metric: "flops",
      a: "hpm",
      b: "gpa",
      source: "§4.2, Table 9",
    },
    {
      kind: "equal",
      id: "t9-gpa-params-equal-mae",
      text: "GPA (the paper's row: teacher + MAM) adds no learnable parameters to MAE",
      metric: "params",
      a: "gpa",
      b: "mae",
      tolerance: 0,
      source: "§4.2, §4.3, Table 9",
    },
    {
      kind: "greater",
      id: "t9-hpm-more-params-than-gpa",
      text: "HPM has more learnable parameters than GPA",
      metric: "params",
      a: "hpm",
      b: "gpa",
      source: "§4.2, Table 9",
    },
    {
      kind: "greater",
      id: "t9-gpa-beats-hpm-finetune",
      text: "GPA fine-tunes better than HPM",
      metric: "finetune",
      a: "gpa",
      b: "hpm",
      source: "§4.2, Table 9",
    },
    {
      kind: "greater",
      id: "t9-gpa-beats-hpm-linprobe",
      text: "GPA linear-probes better than HPM",
      metric: "linprobe",
      a: "gpa",
      b: "hpm",
      source: "§4.2, Table 9",
    },
  ],
  notes: [
    "Inconsistency in the paper: Table 9 prints HPM's FLOPs as 1.3× while the text says 1.5×. The table " +
    "value is stored.",
    "FLOPs and parameters are ratios to MAE (MAE = 1.0×).",
    "The GPA row's accuracies (83.2 / 64.9) are the full framework's (teacher + MAM, Table 1's 83.22), yet " +
    "its 1.0× learnable parameters leave out the MAM decoder, which the framework trains; the claims are " +
    "judged on the row the paper describes (teacher + MAM).",
    "'Slightly more FLOPs' (GPA 1.1× against MAE's 1.0×; HPM's 1.3× is called a considerable cost) is " +
    "encoded as a difference of at most 0.25× MAE.",
  ],
});

/** The runs behind the rows, at a profile's scale. */
export const plan = tablePlan("table9", "Table 9 — efficiency: accuracy vs cost", ({ common }) => {
  // FLOPs and learnable parameters: the analytic cost model at ViT-B/16. The claims are judged on the row the
  // paper describes — GPA's full framework (teacher + MAM: its accuracies are Table 1's teacher + feature
  // row) — for FLOPs and parameters alike; GPA as a teacher alone is shown as a labelled line of its own,
  // with no claim on it.
  const cost = new Map(costTable().map((c) => [c.method, c]));
  const ratio = (m: CostMethod, k: "flopsRatio" | "paramsRatio") => cost.get(m)![k];
  return {
    metric: FINETUNE_METRIC,
    // The linear-probe column reads the same encoders: Table 7's probe runs (the same identities, so a cache
    // that ran Table 7 has them), judged like the fine-tune column. The step time is the pre-training runs'
    // own record, on the engine the report names.
    sideMetrics: ["linprobe", "stepMs"],
    rows: [
      { key: "mae", label: "MAE", request: { name: "random" } },
      { key: "hpm", label: "HPM", request: { name: "hpm" } },
      { key: "gpa", label: "GPA", request: gpaRequest({ mam: true }) },
    ],
    deviations: [
      ...common,
      "FLOPs and parameter ratios from the analytic cost model (lib/cost.ts) at ViT-B/16, counting the whole " +
      "training step (student forward + backward, and the teachers' forward passes). The paper's 1.1× (GPA) and " +
      "1.3× (HPM) FLOPs cannot include a ViT-B teacher pass over all 197 tokens (≈ 1.4× an MAE forward on its " +
      "own); they match a student-forward-only count with the attention decoder active on 25 % of steps " +
      "(GPA + MAM 1.14×) — the paper's text even gives 1.5× for HPM",
      "GPA row: the full framework (teacher + MAM), the row the paper's accuracies come from, for accuracy, " +
      "FLOPs and parameters; by the cost model its attention decoder gives it HPM's parameter count " +
      `(${
        fmt3(ratio("gpa-mam", "paramsRatio"))
      }× MAE), where the paper prints 1.0×. GPA as a teacher alone ` +
      `(${fmt3(ratio("gpa", "paramsRatio"))}× parameters, ${fmt3(ratio("gpa", "flopsRatio"))}× FLOPs) is ` +
      "a labelled line of its own, not the paper's row, with no claim on it",
      `"slightly more FLOPs" is judged with a bound of +${SLIGHTLY}× MAE: GPA + MAM costs ` +
      `${fmt3(ratio("gpa-mam", "flopsRatio"))}× MAE by the whole-step count, the paper ` +
      `${paper.rows.find((r) => r.key === "gpa")!.cells.flops}× — a magnitude mismatch, not only a sign`,
    ],
    exactMetrics: [
      {
        key: "flops",
        label: "FLOPs per training step, ratio to MAE (analytic, ViT-B/16)",
        unit: "×",
        values: {
          mae: ratio("mae", "flopsRatio"),
          hpm: ratio("hpm", "flopsRatio"),
          gpa: ratio("gpa-mam", "flopsRatio"),
          "gpa-teacher": ratio("gpa", "flopsRatio"),
        },
        rowLabels: ROW_LABELS,
      },
      {
        key: "params",
        label: "learnable parameters, ratio to MAE (analytic, ViT-B/16)",
        unit: "×",
        values: {
          mae: ratio("mae", "paramsRatio"),
          hpm: ratio("hpm", "paramsRatio"),
          gpa: ratio("gpa-mam", "paramsRatio"),
          "gpa-teacher": ratio("gpa", "paramsRatio"),
        },
        rowLabels: ROW_LABELS,
      },
    ],
  };
});

const fmt3 = (x: number) => +x.toFixed(3);

/** Labels of the cost rows: the paper's GPA row is the full framework; the teacher-only line is not it. */
const ROW_LABELS = {
  gpa: "GPA (teacher + MAM: the paper's row)",
  "gpa-teacher": "GPA as teacher only (no MAM decoder; not the paper's row, no claim)",
};

/** Table 9. */
export const table9: TableModule = { id: "table9", paper, plan };
