/**
 * Table 1 — roles of GPA (mask teacher, reconstruction target).
 *
 * The paper's numbers and claims (transcribed from the extracted paper text) next to the runs that
 * reproduce each row at a profile's scale.
 * @module
 */
import type { TableModule } from "./common.ts";
import {
  FINETUNE_COLUMN,
  FINETUNE_METRIC,
  gpaRequest,
  oneGroup,
  paperTable,
  RANDOM_INIT_ROW,
  tablePlan,
} from "./common.ts";

/** The paper's Table 1: rows, claims and transcription notes. */
export const paper = paperTable(1, {
  caption: "Ablation of the two roles of GPA (mask teacher, reconstruction target); ViT-B pretrained 200 " +
    "epochs on ImageNet-1K, evaluated by fine-tuning top-1.",
  paperColumns: ["Model", "as teacher", "as feature", "finetune acc (%)"],
  columns: [
    { key: "model", label: "Model", type: "text" },
    { key: "teacher", label: "as teacher", type: "flag" },
    { key: "feature", label: "as feature", type: "flag" },
    FINETUNE_COLUMN,
  ],
  rows: [
    { key: "mae", label: "MAE", cells: { model: "MAE", teacher: false, feature: false, finetune: 82.23 } },
    {
      key: "gpa-teacher",
      label: "GPA (teacher)",
      cells: { model: "GPA", teacher: true, feature: false, finetune: 82.73 },
      printedDelta: { finetune: 0.5 },
    },
    {
      key: "gpa-teacher-feature",
      label: "GPA (teacher + feature)",
      // The model cell of this row is empty in the paper; it continues the "GPA" row above.
      cells: { model: "GPA", teacher: true, feature: true, finetune: 83.22 },
      printedDelta: { finetune: 0.99 },
    },
  ],
  baseline: "mae",
  groups: oneGroup(["mae", "gpa-teacher", "gpa-teacher-feature"], "mae"),
  claims: [
    {
      kind: "greater",
      id: "t1-teacher-beats-mae",
      text: "GPA as mask teacher alone beats MAE's random masking (fine-tune top-1)",
      metric: "finetune",
      a: "gpa-teacher",
      b: "mae",
      source: "§4.1.1, Table 1",
    },
    {
      kind: "greater",
      id: "t1-full-beats-mae",
      text: "GPA as teacher and feature beats MAE (fine-tune top-1)",
      metric: "finetune",
      a: "gpa-teacher-feature",
      b: "mae",
      source: "§4.1.1, Table 1",
    },
    {
      kind: "greater",
      id: "t1-feature-adds",
      text: "Adding the GPA-prediction task (MAM) on top of the GPA teacher improves fine-tune top-1",
      metric: "finetune",
      a: "gpa-teacher-feature",
      b: "gpa-teacher",
      source: "§1 (MAM contribution), Table 1",
    },
  ],
  notes: [
    "Paper cell 'Model' is empty in the third row; it belongs to GPA (the row continues the GPA block).",
  ],
});

/** The runs behind the rows, at a profile's scale. */
export const plan = tablePlan(
  "table1",
  "Table 1 — roles of GPA (mask teacher, reconstruction target)",
  ({ common }) => ({
    metric: FINETUNE_METRIC,
    rows: [
      RANDOM_INIT_ROW,
      { key: "mae", label: "MAE (random masking)", request: { name: "random" } },
      { key: "gpa-teacher", label: "GPA as teacher", request: gpaRequest() },
      {
        key: "gpa-teacher-feature",
        label: "GPA as teacher + feature (MAM)",
        request: gpaRequest({ mam: true }),
      },
    ],
    deviations: common,
    figures: [
      { title: "Figure 2: images, teacher GPA maps and top-75 % hard masks", path: "figures/figure2.png" },
      { title: "Figure 4: few-shot recall per block × head", path: "figures/figure4.png" },
    ],
  }),
);

/** Table 1. */
export const table1: TableModule = { id: "table1", paper, plan };
