/**
 * The reference numbers of the GPA paper (ACM MM 2024): all ten tables, transcribed from the extracted paper
 * text, with the claims the paper makes about each table in a form a report can test.
 *
 * Conventions:
 * - Every table keeps the paper's printed header (`paperColumns`) and stores its rows in a row-per-setting
 *   layout (`columns`/`rows`). Tables 5, 7 (methods printed as columns) and 10 (baseline and GPA printed as
 *   two columns of one row) are reshaped so that each compared setting is one row; `layout` says how.
 * - Numeric cells are numbers; a "-" in a numeric cell is `null`; "✓" / "-" in the role columns of Tables 1
 *   and 2 are `true` / `false`.
 * - Deltas the paper prints in parentheses are kept in `printedDelta` (a printed "(-)" is `null`), so they can
 *   be checked against the values.
 * - The grey shading that marks default settings is lost in the text; `paperDefault` is set where §4.1 states
 *   the default (α = 0.75, soft 0.5 → 0, hard 0 → 0.5, head chosen with 10 shots).
 * - Claims carry only orderings the paper states (or shows in bold), never the ImageNet-scale magnitudes.
 * @module
 */

/** Identifier of one paper table. */
export type TableId =
  | "table1"
  | "table2"
  | "table3"
  | "table4"
  | "table5"
  | "table6"
  | "table7"
  | "table8"
  | "table9"
  | "table10";

/** Content of one cell: a number, text, a ✓/- flag, or `null` for a "-" in a numeric column. */
export type CellValue = number | string | boolean | null;

/** One column of a table as stored here. */
export interface PaperColumn {
  /** Key used in `PaperRow.cells` and in claims (`metric`). */
  key: string;
  /** Short human label. */
  label: string;
  /** `number` columns hold numbers or null; `flag` columns hold booleans (✓ / -). */
  type: "number" | "text" | "flag";
  /** True for result columns that claims may refer to (as opposed to settings such as α or epochs). */
  metric?: boolean;
  /** Unit of a numeric column, e.g. "%", "AP", "mIoU", "×". */
  unit?: string;
  /** For metrics: whether a larger value is better. */
  higherIsBetter?: boolean;
  /** For metrics that a reproduction measures without seed noise (FLOPs, parameter counts). */
  deterministic?: boolean;
}

/** One row (one method or setting) of a table. */
export interface PaperRow {
  /** Stable key, unique within the table. */
  key: string;
  /** Human label, e.g. "GPA (teacher + feature)". */
  label: string;
  /** Cell values by column key. */
  cells: Record<string, CellValue>;
  /** Deltas printed by the paper in parentheses, by metric column key (`null` where it printed "(-)"). */
  printedDelta?: Record<string, number | null>;
  /** The paper's default setting (grey in the PDF). */
  paperDefault?: boolean;
}

/** Rows compared against one baseline (e.g. one mask ratio α of Tables 3 and 4). */
export interface RowGroup {
  key: string;
  label: string;
  /** Row keys in table order. */
  rows: string[];
  /** Baseline row of this group, or null. */
  baseline: string | null;
}

/** Claim "row a has a larger value of `metric` than row b". */
export interface GreaterClaim {
  kind: "greater";
  id: string;
  /** The claim in this project's words. */
  text: string;
  metric: string;
  a: string;
  b: string;
  /** Where the paper states it. */
  source: string;
}

/** Claim "row `best` has the largest value of `metric` among `rows`" (`rows` includes `best`). */
export interface BestInGroupClaim {
  kind: "best-in-group";
  id: string;
  text: string;
  metric: string;
  best: string;
  rows: string[];
  source: string;
}

/** Claim "rows a and b have the same value of `metric` within ±tolerance (absolute)". */
export interface EqualClaim {
  kind: "equal";
  id: string;
  text: string;
  metric: string;
  a: string;
  b: string;
  tolerance: number;
  source: string;
}

/** A claim the paper makes about a table. */
export type Claim = GreaterClaim | BestInGroupClaim | EqualClaim;

/** One table of the paper. */
export interface PaperTable {
  id: TableId;
  number: number;
  /** What the table shows, in this project's words. */
  caption: string;
  /** The header as printed in the paper, left to right. */
  paperColumns: string[];
  /** How the stored rows relate to the printed layout, when they differ. */
  layout?: string;
  columns: PaperColumn[];
  rows: PaperRow[];
  /** The main baseline row (deltas are taken against it), or null where the table has none. */
  baseline: string | null;
  /** Groups with their own baselines; a single group spanning all rows where the table has one baseline. */
  groups: RowGroup[];
  claims: Claim[];
  /** Transcription notes: ambiguities and inconsistencies of the extracted text. */
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------------
// Table 1 — roles of GPA (ImageNet fine-tune, ViT-B, 200 epochs)

const table1: PaperTable = {
  id: "table1",
  number: 1,
  caption: "Ablation of the two roles of GPA (mask teacher, reconstruction target); ViT-B pretrained 200 " +
    "epochs on ImageNet-1K, evaluated by fine-tuning top-1.",
  paperColumns: ["Model", "as teacher", "as feature", "finetune acc (%)"],
  columns: [
    { key: "model", label: "Model", type: "text" },
    { key: "teacher", label: "as teacher", type: "flag" },
    { key: "feature", label: "as feature", type: "flag" },
    {
      key: "finetune",
      label: "fine-tune top-1",
      type: "number",
      metric: true,
      unit: "%",
      higherIsBetter: true,
    },
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
  groups: [{
    key: "all",
    label: "all",
    rows: ["mae", "gpa-teacher", "gpa-teacher-feature"],
    baseline: "mae",
  }],
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
};

// ---------------------------------------------------------------------------------------------------------
// Table 2 — downstream transfer (COCO Mask R-CNN, ADE20K UperNet 80k)

const table2: PaperTable = {
  id: "table2",
  number: 2,
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
  groups: [{
    key: "all",
    label: "all",
    rows: ["mae", "gpa-teacher", "gpa-teacher-feature"],
    baseline: "mae",
  }],
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
};

// ---------------------------------------------------------------------------------------------------------
// Table 3 — soft share schedule α_s 0 → T at mask ratios 0.75 / 0.5 / 0.9

/** Row of Tables 3 and 4: hardness label, mask ratio, schedule start/end, fine-tune top-1, printed delta. */
type ScheduleRow = [string, number, number, number, number, number | null | undefined];

function scheduleRows(
  prefix: "s" | "h",
  entries: ScheduleRow[],
  isDefault: (start: number, end: number, alpha: number) => boolean,
): PaperRow[] {
  return entries.map(([hardness, alpha, start, end, finetune, delta]) => {
    const row: PaperRow = {
      key: `a${alpha}-${prefix}${start}to${end}`,
      label: `α=${alpha}, α${prefix}: ${start}→${end}`,
      cells: { hardness, alpha, start, end, finetune },
    };
    if (delta !== undefined) row.printedDelta = { finetune: delta };
    if (isDefault(start, end, alpha)) row.paperDefault = true;
    return row;
  });
}

function groupsByAlpha(rows: PaperRow[]): RowGroup[] {
  const alphas = [...new Set(rows.map((r) => r.cells.alpha as number))];
  return alphas.map((alpha) => {
    const members = rows.filter((r) => r.cells.alpha === alpha).map((r) => r.key);
    return { key: `a${alpha}`, label: `α = ${alpha}`, rows: members, baseline: members[0] };
  });
}

const table3Rows = scheduleRows("s", [
  ["random", 0.75, 0, 0, 82.69, undefined],
  ["↓", 0.75, 0.5, 0, 82.73, 0.04],
  ["↓", 0.75, 1, 0, 82.69, null], // printed "(-)": equal to the baseline
  ["soft", 0.75, 1, 1, 82.7, 0.01],
  ["random", 0.5, 0, 0, 82.5, undefined],
  ["↓", 0.5, 0.5, 0, 82.54, 0.04],
  ["soft", 0.5, 1, 1, 82.53, 0.03],
  ["random", 0.9, 0, 0, 82.41, undefined],
  ["↓", 0.9, 0.5, 0, 82.51, 0.1],
  ["soft", 0.9, 1, 1, 82.37, -0.04],
], (s, e, a) => s === 0.5 && e === 0 && a === 0.75);

const table3Groups = groupsByAlpha(table3Rows);

const table3: PaperTable = {
  id: "table3",
  number: 3,
  caption:
    "Ablation of the sampled (soft) share schedule α_s from start to end of pre-training, at overall " +
    "mask ratios 0.75, 0.5 and 0.9; fine-tune top-1.",
  paperColumns: ["hardness", "α", "α_0^s", "α_T^s", "finetune(%)"],
  columns: [
    { key: "hardness", label: "hardness", type: "text" },
    { key: "alpha", label: "mask ratio α", type: "number" },
    { key: "start", label: "α_s start", type: "number" },
    { key: "end", label: "α_s end", type: "number" },
    {
      key: "finetune",
      label: "fine-tune top-1",
      type: "number",
      metric: true,
      unit: "%",
      higherIsBetter: true,
    },
  ],
  rows: table3Rows,
  baseline: "a0.75-s0to0",
  groups: table3Groups,
  claims: table3Groups.map((g): Claim => ({
    kind: "best-in-group",
    id: `t3-soft-half-best-a${g.key.slice(1)}`,
    text: `At ${g.label}, the soft share schedule 0.5 → 0 gives the best fine-tune top-1`,
    metric: "finetune",
    best: `${g.key}-s0.5to0`,
    rows: g.rows,
    source: "§4.1.2, Table 3",
  })),
  notes: [
    "The α = 0.75 row with α_s 1 → 0 prints its delta as '(-)'; its value equals the random row (82.69), " +
    "so the delta is 0.00. Stored as printedDelta null.",
    "The α = 0.5 and α = 0.9 groups have no 1 → 0 row in the paper.",
    "The text does not say what the hard share is while α_s is varied; the default (0 → 0.5) is the likely " +
    "reading (the 0.75 / 0.5 → 0 row, 82.73, equals the default in Tables 1, 4 and 5), but with α_s = 1 and " +
    "α_h ending at 0.5 the shares would sum above 1, so the exact setting of the '1 → 1' rows is unclear.",
    "The text adds that soft masking gains stay within 0.1 point over random; that magnitude is ImageNet-" +
    "specific and is not encoded as a claim.",
  ],
};

// ---------------------------------------------------------------------------------------------------------
// Table 4 — hard share schedule α_h 0 → T

const table4Rows = scheduleRows("h", [
  ["soft", 0.75, 0, 0, 82.25, undefined],
  ["↓", 0.75, 0, 0.5, 82.73, 0.48],
  ["↓", 0.75, 0, 1, 82.71, 0.46],
  ["hard", 0.75, 1, 1, 82.27, 0.02],
  ["soft", 0.5, 0, 0, 82.22, undefined],
  ["↓", 0.5, 0, 0.5, 82.54, 0.32],
  ["hard", 0.5, 0, 1, 82.37, 0.15],
  ["soft", 0.9, 0, 0, 82.2, undefined],
  ["↓", 0.9, 0, 0.5, 82.51, 0.31],
  ["hard", 0.9, 0, 1, 81.82, -0.38],
], (s, e, a) => s === 0 && e === 0.5 && a === 0.75);

const table4Groups = groupsByAlpha(table4Rows);

const table4: PaperTable = {
  id: "table4",
  number: 4,
  caption:
    "Ablation of the top-GPA (hard) share schedule α_h from start to end of pre-training, at overall " +
    "mask ratios 0.75, 0.5 and 0.9; fine-tune top-1.",
  paperColumns: ["hardness", "α", "α_0^h", "α_T^h", "finetune(%)"],
  columns: [
    { key: "hardness", label: "hardness", type: "text" },
    { key: "alpha", label: "mask ratio α", type: "number" },
    { key: "start", label: "α_h start", type: "number" },
    { key: "end", label: "α_h end", type: "number" },
    {
      key: "finetune",
      label: "fine-tune top-1",
      type: "number",
      metric: true,
      unit: "%",
      higherIsBetter: true,
    },
  ],
  rows: table4Rows,
  baseline: "a0.75-h0to0",
  groups: table4Groups,
  claims: [
    ...table4Groups.map((g): Claim => ({
      kind: "best-in-group",
      id: `t4-hard-half-best-a${g.key.slice(1)}`,
      text: `At ${g.label}, the hard share schedule 0 → 0.5 gives the best fine-tune top-1`,
      metric: "finetune",
      best: `${g.key}-h0to0.5`,
      rows: g.rows,
      source: "§4.1.2, Table 4",
    })),
    {
      kind: "greater",
      id: "t4-all-hard-hurts-a0.9",
      text: "At α = 0.9, ramping to an all-hard mask (0 → 1) is worse than no hard share",
      metric: "finetune",
      a: "a0.9-h0to0",
      b: "a0.9-h0to1",
      source: "§4.1.2, Table 4",
    },
  ],
  notes: [
    "The 'hard' row at α = 0.75 is 1 → 1; at α = 0.5 and 0.9 the last row is 0 → 1 and is also labelled " +
    "'hard' (no 1 → 1 row there).",
    "The soft share while α_h is varied is not stated; the default (0.5 → 0) is the likely reading.",
    "The α = 0.75 'soft' baseline (82.25) differs from the Table 3 'random' baseline (82.69): the two tables " +
    "vary different shares while the other stays at its default.",
  ],
};

// ---------------------------------------------------------------------------------------------------------
// Table 5 — choice of the teacher head

const table5: PaperTable = {
  id: "table5",
  number: 5,
  caption:
    "How the teacher's block/head is chosen: fixed first or last head, the sum over all heads of the " +
    "last block, or few-shot recall selection with 1, 10 or 50 labelled images; fine-tune top-1.",
  paperColumns: ["method", "first", "last", "all", "1 shot", "10 shots", "50 shots"],
  layout:
    "Printed transposed (methods as columns, rows 'head' and 'acc(%)'); stored with one row per method.",
  columns: [
    { key: "method", label: "method", type: "text" },
    { key: "head", label: "head", type: "text" },
    {
      key: "finetune",
      label: "fine-tune top-1",
      type: "number",
      metric: true,
      unit: "%",
      higherIsBetter: true,
    },
  ],
  rows: [
    { key: "first", label: "first head", cells: { method: "first", head: "b0h0", finetune: 82.31 } },
    { key: "last", label: "last head", cells: { method: "last", head: "b11h11", finetune: 82.7 } },
    {
      key: "all",
      label: "all heads (last block)",
      cells: { method: "all", head: "b11h-1", finetune: 82.34 },
    },
    { key: "shots1", label: "1 shot", cells: { method: "1 shot", head: "b10h10", finetune: 82.68 } },
    {
      key: "shots10",
      label: "10 shots",
      cells: { method: "10 shots", head: "b9h11", finetune: 82.73 },
      paperDefault: true,
    },
    { key: "shots50", label: "50 shots", cells: { method: "50 shots", head: "b9h11", finetune: 82.73 } },
  ],
  baseline: "first",
  groups: [{
    key: "all",
    label: "all",
    rows: ["first", "last", "all", "shots1", "shots10", "shots50"],
    baseline: "first",
  }],
  claims: [
    {
      kind: "best-in-group",
      id: "t5-ten-shots-best",
      text:
        "Few-shot head selection with 10 images reaches the best fine-tune top-1 (50 shots pick the same " +
        "head and tie, so they are left out of the comparison)",
      metric: "finetune",
      best: "shots10",
      rows: ["first", "last", "all", "shots1", "shots10"],
      source: "§4.1.3, Table 5",
    },
  ],
  notes: [
    "No row is marked as a baseline; 'first' (the uninformed choice b0h0) is used as the reference for deltas.",
    "10 and 50 shots select the same head (b9h11) and print the same accuracy (82.73).",
    "The 'all' head (b11h-1) is the sum over the heads of the last block.",
  ],
};

// ---------------------------------------------------------------------------------------------------------
// Table 6 — comparison with other mask strategies (ImageNet fine-tune, ViT-B/16)

const table6Entries: Array<[string, string, string, number, number]> = [
  ["mae", "MAE", "random", 200, 82.2],
  ["um-mae", "UM-MAE", "random", 200, 82.8],
  ["beit", "BEiT", "random", 800, 83.2],
  ["hpm", "HPM", "reconstruction loss", 200, 83.0],
  ["amt", "AMT", "cls-patch attention", 400, 82.8],
  ["semmae", "SemMAE", "cls-patch attention", 800, 83.3],
  ["automae", "AutoMAE", "cls-patch attention", 800, 83.3],
  ["milan", "MILAN", "cls-patch attention", 400, 83.3],
  ["gpa-200", "GPA (200 ep)", "patch-wise attention", 200, 83.2],
  ["gpa-300", "GPA (300 ep)", "patch-wise attention", 300, 83.4],
];

const table6: PaperTable = {
  id: "table6",
  number: 6,
  caption: "ImageNet-1K fine-tune top-1 of mask strategies grouped by how they choose masked patches " +
    "(random, reconstruction loss, cls-patch attention, patch-wise attention), ViT-B/16.",
  paperColumns: ["method", "epochs", "finetune(%)"],
  layout: "The paper's group headings (masked by …) are stored in the 'stream' column.",
  columns: [
    { key: "method", label: "method", type: "text" },
    { key: "stream", label: "masked by", type: "text" },
    { key: "epochs", label: "pre-train epochs", type: "number" },
    {
      key: "finetune",
      label: "fine-tune top-1",
      type: "number",
      metric: true,
      unit: "%",
      higherIsBetter: true,
    },
  ],
  rows: table6Entries.map(([key, label, stream, epochs, finetune]) => ({
    key,
    label,
    cells: { method: label.replace(/ \(\d+ ep\)$/, ""), stream, epochs, finetune },
  })),
  baseline: "mae",
  groups: [{ key: "all", label: "all", rows: table6Entries.map((e) => e[0]), baseline: "mae" }],
  claims: [
    {
      kind: "greater",
      id: "t6-gpa200-beats-mae",
      text: "At the same 200 pre-training epochs GPA fine-tunes better than MAE",
      metric: "finetune",
      a: "gpa-200",
      b: "mae",
      source: "§4.2, Table 6",
    },
    {
      kind: "best-in-group",
      id: "t6-gpa200-best-at-200ep",
      text: "GPA is the best of the methods pre-trained for 200 epochs",
      metric: "finetune",
      best: "gpa-200",
      rows: ["mae", "um-mae", "hpm", "gpa-200"],
      source: "§4.2, Table 6",
    },
    {
      kind: "best-in-group",
      id: "t6-gpa300-best-overall",
      text: "GPA with 300 epochs beats every listed method, including those pre-trained longer",
      metric: "finetune",
      best: "gpa-300",
      rows: table6Entries.map((e) => e[0]),
      source: "§4.2, Table 6",
    },
  ],
  notes: [
    "Bold marks are lost in the text; 83.4 (GPA, 300 epochs) is the largest value.",
    "The 200-epoch GPA result (83.2) equals the teacher+feature row of Table 1 (83.22) rounded.",
  ],
};

// ---------------------------------------------------------------------------------------------------------
// Table 7 — linear probing

const table7: PaperTable = {
  id: "table7",
  number: 7,
  caption: "ImageNet-1K linear-probe top-1 of MAE, HPM, CAE and GPA.",
  paperColumns: ["", "MAE [15]", "HPM [36]", "CAE [5]", "GPA"],
  layout: "Printed transposed (methods as columns, one row 'Acc(%)'); stored with one row per method.",
  columns: [
    { key: "method", label: "method", type: "text" },
    {
      key: "linprobe",
      label: "linear-probe top-1",
      type: "number",
      metric: true,
      unit: "%",
      higherIsBetter: true,
    },
  ],
  rows: [
    { key: "mae", label: "MAE", cells: { method: "MAE", linprobe: 50.8 } },
    { key: "hpm", label: "HPM", cells: { method: "HPM", linprobe: 54.9 } },
    { key: "cae", label: "CAE", cells: { method: "CAE", linprobe: 64.1 } },
    { key: "gpa", label: "GPA", cells: { method: "GPA", linprobe: 64.9 } },
  ],
  baseline: "mae",
  groups: [{ key: "all", label: "all", rows: ["mae", "hpm", "cae", "gpa"], baseline: "mae" }],
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
};

// ---------------------------------------------------------------------------------------------------------
// Table 8 — ADE20K semantic segmentation (UperNet 160k, 800-epoch pre-training)

const table8: PaperTable = {
  id: "table8",
  number: 8,
  caption: "ADE20K semantic segmentation (UperNet, 160k iterations) after 800 epochs of pre-training, " +
    "ViT-B/16.",
  paperColumns: ["method", "", "mIoU"],
  columns: [
    { key: "method", label: "method", type: "text" },
    { key: "venue", label: "venue", type: "text" },
    { key: "miou", label: "mIoU", type: "number", metric: true, unit: "mIoU", higherIsBetter: true },
  ],
  rows: [
    { key: "mocov3", label: "MoCo v3", cells: { method: "MoCo v3", venue: "ICCV'21", miou: 47.3 } },
    { key: "beit", label: "BEiT", cells: { method: "BEiT", venue: "ICLR'22", miou: 47.1 } },
    { key: "mae", label: "MAE", cells: { method: "MAE", venue: "CVPR'22", miou: 48.1 } },
    { key: "semmae", label: "SemMAE", cells: { method: "SemMAE", venue: "NIPS'22", miou: 46.3 } },
    { key: "hpm", label: "HPM", cells: { method: "HPM", venue: "CVPR'23", miou: 48.5 } },
    { key: "gpa", label: "GPA", cells: { method: "GPA", venue: "Ours", miou: 48.9 } },
  ],
  baseline: "mae",
  groups: [{
    key: "all",
    label: "all",
    rows: ["mocov3", "beit", "mae", "semmae", "hpm", "gpa"],
    baseline: "mae",
  }],
  claims: [
    {
      kind: "greater",
      id: "t8-gpa-beats-mae",
      text: "GPA segments ADE20K better than MAE",
      metric: "miou",
      a: "gpa",
      b: "mae",
      source: "§4.2, Table 8",
    },
    {
      kind: "best-in-group",
      id: "t8-gpa-best",
      text: "GPA beats every listed self-supervised method on ADE20K",
      metric: "miou",
      best: "gpa",
      rows: ["mocov3", "beit", "mae", "semmae", "hpm", "gpa"],
      source: "§4.2, Table 8",
    },
  ],
  notes: [
    "The text claims +1.2 mIoU over supervised pre-training, but the table has no supervised row " +
    "(48.9 − 1.2 = 47.7 would be the implied supervised value); not encoded.",
    "The second header cell is empty in the paper; it holds the venue of each method.",
  ],
};

// ---------------------------------------------------------------------------------------------------------
// Table 9 — efficiency

const table9: PaperTable = {
  id: "table9",
  number: 9,
  caption: "Accuracy against cost: fine-tune and linear-probe top-1 with pre-training FLOPs and learnable " +
    "parameters relative to MAE.",
  paperColumns: ["method", "fine-tune(%)", "lin. prob.(%)", "FLOPs", "learn. para."],
  columns: [
    { key: "method", label: "method", type: "text" },
    {
      key: "finetune",
      label: "fine-tune top-1",
      type: "number",
      metric: true,
      unit: "%",
      higherIsBetter: true,
    },
    {
      key: "linprobe",
      label: "linear-probe top-1",
      type: "number",
      metric: true,
      unit: "%",
      higherIsBetter: true,
    },
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
  groups: [{ key: "all", label: "all", rows: ["mae", "hpm", "gpa"], baseline: "mae" }],
  claims: [
    {
      kind: "greater",
      id: "t9-gpa-costs-more-flops-than-mae",
      text: "GPA's pre-training costs slightly more FLOPs than MAE's (the frozen teacher pass)",
      metric: "flops",
      a: "gpa",
      b: "mae",
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
      text: "GPA (as teacher) adds no learnable parameters to MAE",
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
    "The learnable-parameter ratio of GPA (1.0×) belongs to GPA as teacher; the MAM variant adds a second " +
    "decoder, which the table does not reflect.",
  ],
};

// ---------------------------------------------------------------------------------------------------------
// Table 10 — GPA masking transferred to other MIM frameworks

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

const table10: PaperTable = {
  id: "table10",
  number: 10,
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
};

/** All ten tables, in paper order. */
export const PAPER_TABLES: readonly PaperTable[] = [
  table1,
  table2,
  table3,
  table4,
  table5,
  table6,
  table7,
  table8,
  table9,
  table10,
];

/** Facts about the paper's setup that reports cite next to the tables. */
export const PAPER_SETUP = {
  title: "Global Patch-wise Attention is Masterful Facilitator for Masked Image Modeling",
  venue: "ACM MM 2024",
  backbone: "ViT-B/16",
  dataset: "ImageNet-1K",
  resolution: 224,
  patchSize: 16,
  pretrainEpochs: 200,
  pretrainBatch: 4096,
  pretrainLr: 1.5e-4,
  finetuneEpochs: 100,
  finetuneBatch: 1024,
  finetuneLr: 5e-4,
  layerDecay: 0.8,
  defaultMaskRatio: 0.75,
  defaultSoftSchedule: [0.5, 0] as const,
  defaultHardSchedule: [0, 0.5] as const,
  defaultTeacherHead: "b9h11",
} as const;

/** Returns the table with the given id (throws for an unknown id). */
export function paperTable(id: TableId): PaperTable {
  const table = PAPER_TABLES.find((t) => t.id === id);
  if (!table) throw new RangeError(`unknown paper table: ${id}`);
  return table;
}

/** Returns a row of a table by key (throws when missing). */
export function paperRow(id: TableId, rowKey: string): PaperRow {
  const row = paperTable(id).rows.find((r) => r.key === rowKey);
  if (!row) throw new RangeError(`table ${id} has no row ${rowKey}`);
  return row;
}

/** The paper's numeric value of `metric` in a row, or null where the paper has none. */
export function paperValue(id: TableId, rowKey: string, metric: string): number | null {
  const table = paperTable(id);
  const column = table.columns.find((c) => c.key === metric);
  if (!column || column.type !== "number") {
    throw new RangeError(`table ${id} has no numeric column ${metric}`);
  }
  const value = paperRow(id, rowKey).cells[metric];
  return typeof value === "number" ? value : null;
}

/** The rows a claim refers to. */
export function claimRows(claim: Claim): string[] {
  return claim.kind === "best-in-group" ? [...claim.rows] : [claim.a, claim.b];
}

/** Finds a claim by id across all tables (throws when missing). */
export function paperClaim(claimId: string): { table: PaperTable; claim: Claim } {
  for (const table of PAPER_TABLES) {
    const claim = table.claims.find((c) => c.id === claimId);
    if (claim) return { table, claim };
  }
  throw new RangeError(`unknown claim: ${claimId}`);
}
