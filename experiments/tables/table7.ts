/**
 * Table 7 — linear probing.
 *
 * The paper's numbers and claims (transcribed from the extracted paper text) next to the runs that
 * reproduce each row at a profile's scale.
 * @module
 */
import type { TableModule } from "./common.ts";
import {
  gpaRequest,
  LINPROBE_COLUMN,
  notImplemented,
  oneGroup,
  paperTable,
  RANDOM_INIT_ROW,
  tablePlan,
} from "./common.ts";

/** The paper's Table 7: rows, claims and transcription notes. */
export const paper = paperTable(7, {
  caption: "ImageNet-1K linear-probe top-1 of MAE, HPM, CAE and GPA.",
  paperColumns: ["", "MAE [15]", "HPM [36]", "CAE [5]", "GPA"],
  layout: "Printed transposed (methods as columns, one row 'Acc(%)'); stored with one row per method.",
  columns: [
    { key: "method", label: "method", type: "text" },
    LINPROBE_COLUMN,
  ],
  rows: [
    { key: "mae", label: "MAE", cells: { method: "MAE", linprobe: 50.8 } },
    { key: "hpm", label: "HPM", cells: { method: "HPM", linprobe: 54.9 } },
    { key: "cae", label: "CAE", cells: { method: "CAE", linprobe: 64.1 } },
    { key: "gpa", label: "GPA", cells: { method: "GPA", linprobe: 64.9 } },
  ],
  baseline: "mae",
  groups: oneGroup(["mae", "hpm", "cae", "gpa"], "mae"),
  claims: [
    {
      kind: "greater",
      id: "t7-gpa-beats-mae",
      text: "GPA's features are linearly more separable than MAE's (linear-probe top-1)",
      metric: "linprobe",
      a: "gpa",
      b: "mae",
      source: "§4.2, Table 7",
    },
    {
      kind: "best-in-group",
      id: "t7-gpa-best",
      text: "GPA has the best linear-probe top-1 of the listed methods",
      metric: "linprobe",
      best: "gpa",
      rows: ["mae", "hpm", "cae", "gpa"],
      source: "§4.2, Table 7",
    },
  ],
  notes: [
    "The text speaks of a margin 'of up to 10.0%' over masking strategies; that is GPA − HPM (64.9 − 54.9); " +
    "the margin over MAE is 14.1.",
    "The number of pre-training epochs behind these values is not stated.",
  ],
});

/** The runs behind the rows, at a profile's scale. */
export const plan = tablePlan("table7", "Table 7 — linear probing", ({ common }, profile) => ({
  metric: { key: "linprobe", label: "linear-probe top-1", evaluation: "linprobe" },
  rows: [
    RANDOM_INIT_ROW,
    { key: "mae", label: "MAE", request: { name: "random" } },
    { key: "hpm", label: "HPM", request: { name: "hpm" } },
    { key: "cae", label: "CAE", notRun: notImplemented("CAE") },
    { key: "gpa", label: "GPA", request: gpaRequest({ mam: true }) },
  ],
  deviations: [
    ...common,
    `linear probe on ${profile.linprobe.features} features of ${
      profile.linprobe.augment ? "augmented views" : "un-augmented images computed once"
    }`,
  ],
}));

/** Table 7. */
export const table7: TableModule = { id: "table7", paper, plan };
