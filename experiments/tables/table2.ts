/**
 * Table 2 — downstream transfer of the Table 1 encoders.
 *
 * The paper's numbers and claims (transcribed from the extracted paper text) next to the runs that
 * reproduce each row at a profile's scale.
 * @module
 */
import type { Claim } from "../paper_types.ts";
import { SEGMENTATION_SETUPS } from "../segmentation.ts";
import type { TableModule } from "./common.ts";
import { gpaRequest, oneGroup, paperTable, RANDOM_INIT_ROW, segmentationPlan, tablePlan } from "./common.ts";

/** The paper's Table 2: rows, claims and transcription notes. */
export const paper = paperTable(2, {
  caption:
    "Transfer of the Table 1 models to COCO detection/instance segmentation (Mask R-CNN, 1× schedule) " +
    "and ADE20K segmentation (UperNet, 80k iterations).",
  paperColumns: ["Model", "as teac", "as feat", "COCO AP_box", "COCO AP_mask", "ADE20k mIoU"],
  columns: [
    { key: "model", label: "Model", type: "text" },
    { key: "teacher", label: "as teacher", type: "flag" },
    { key: "feature", label: "as feature", type: "flag" },
    { key: "apBox", label: "COCO AP box", type: "number", metric: true, unit: "AP", higherIsBetter: true },
    { key: "apMask", label: "COCO AP mask", type: "number", metric: true, unit: "AP", higherIsBetter: true },
    { key: "miou", label: "ADE20K mIoU", type: "number", metric: true, unit: "mIoU", higherIsBetter: true },
  ],
  rows: [
    {
      key: "mae",
      label: "MAE",
      cells: { model: "MAE", teacher: false, feature: false, apBox: 33.0, apMask: 29.8, miou: 40.5 },
    },
    {
      key: "gpa-teacher",
      label: "GPA (teacher)",
      cells: { model: "GPA", teacher: true, feature: false, apBox: 33.3, apMask: 30.1, miou: 41.6 },
      printedDelta: { apBox: 0.3, apMask: 0.3, miou: 1.1 },
    },
    {
      key: "gpa-teacher-feature",
      label: "GPA (teacher + feature)",
      cells: { model: "GPA", teacher: true, feature: true, apBox: 34.5, apMask: 31.1, miou: 44.3 },
      printedDelta: { apBox: 1.5, apMask: 1.3, miou: 3.8 },
    },
  ],
  baseline: "mae",
  groups: oneGroup(["mae", "gpa-teacher", "gpa-teacher-feature"], "mae"),
  claims: [
    ...([["apBox", "COCO AP box"], ["apMask", "COCO AP mask"], ["miou", "ADE20K mIoU"]] as const).flatMap((
      [metric, metricLabel],
    ): Claim[] => [
      {
        kind: "greater",
        id: `t2-teacher-beats-mae-${metric}`,
        text: `GPA as teacher alone transfers better than MAE (${metricLabel})`,
        metric,
        a: "gpa-teacher",
        b: "mae",
        source: "§4.1.1, Table 2",
      },
      {
        kind: "greater",
        id: `t2-full-beats-mae-${metric}`,
        text: `GPA as teacher and feature transfers better than MAE (${metricLabel})`,
        metric,
        a: "gpa-teacher-feature",
        b: "mae",
        source: "§4.1.1, Table 2",
      },
    ]),
  ],
  notes: ["Header abbreviations 'as teac' / 'as feat' are printed that way in the paper."],
});

/** The runs behind the rows, at a profile's scale. */
export const plan = tablePlan(
  "table2",
  "Table 2 — downstream transfer of the Table 1 encoders",
  ({ segData, common }, profile) => ({
    ...segmentationPlan(profile, [
      // The suite's floor (not in the paper): what segmentation reaches with no pre-training at all, so that
      // each Δ reads against what pre-training itself is worth on this data.
      RANDOM_INIT_ROW,
      { key: "mae", label: "MAE", request: { name: "random" } },
      { key: "gpa-teacher", label: "GPA as teacher", request: gpaRequest() },
      { key: "gpa-teacher-feature", label: "GPA as teacher + feature", request: gpaRequest({ mam: true }) },
    ]),
    unreproducedMetrics: {
      apBox: "not run: COCO detection (Mask R-CNN / ViTDet) is out of reach for TF.js at this scale",
      apMask: "not run: COCO instance segmentation (Mask R-CNN / ViTDet) is out of reach at this scale",
    },
    deviations: [
      ...common,
      `segmentation on ${segData} (${SEGMENTATION_SETUPS[profile.name]?.description ?? "not set up"}) ` +
      "instead of ADE20K with UperNet 160k iterations",
    ],
  }),
);

/** Table 2. */
export const table2: TableModule = { id: "table2", paper, plan };
