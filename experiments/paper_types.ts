/**
 * The shapes of the paper's tables (columns, rows, groups, claims). The tables themselves live one per module
 * in experiments/tables/, next to the runs that reproduce them.
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
import type {
  BestInGroupClaimInput,
  EqualClaimInput,
  GreaterClaimInput,
} from "../lib/report/verdict_types.ts";

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

/**
 * Where the paper states a claim (§, table or figure). The claim kinds themselves are the report layer's
 * (lib/report/verdict_types.ts: what a verdict can be given on), each with its source: one definition of what a
 * claim is.
 */
export interface ClaimSource {
  source: string;
}

/** Claim "row a has a larger value of `metric` than row b" (`atMost`: "slightly larger"). */
export type GreaterClaim = GreaterClaimInput & ClaimSource;
/** Claim "row `best` has the largest value of `metric` among `rows`" (`rows` includes `best`). */
export type BestInGroupClaim = BestInGroupClaimInput & ClaimSource;
/** Claim "rows a and b have the same value of `metric` within ±tolerance (absolute)". */
export type EqualClaim = EqualClaimInput & ClaimSource;

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
  /**
   * Rows of other tables that this table's claims read (Table 4's text compares with Table 3), by the key the
   * claims use: looked up there for their values.
   */
  borrowedRows?: Record<string, { table: TableId; key: string }>;
  /** Transcription notes: ambiguities and inconsistencies of the extracted text. */
  notes: string[];
}
