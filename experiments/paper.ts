/**
 * The reference numbers of the GPA paper (ACM MM 2024): the ten tables (one module each in
 * experiments/tables/, next to the runs that reproduce them), looked up by id, row and claim; and the
 * paper's setup.
 * @module
 */
import { PAPER_TABLE_MODULES } from "./tables/mod.ts";
import type { Claim, PaperRow, PaperTable, TableId } from "./paper_types.ts";

export type * from "./paper_types.ts";

/** All ten tables, in paper order (each lives in experiments/tables/tableN.ts with the runs behind it). */
export const PAPER_TABLES: readonly PaperTable[] = PAPER_TABLE_MODULES.map((t) => t.paper!);

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

/** Returns a row of a table by key, or the other table's row it borrows under that key (throws when missing). */
export function paperRow(id: TableId, rowKey: string): PaperRow {
  const borrowed = paperTable(id).borrowedRows?.[rowKey];
  if (borrowed) return paperRow(borrowed.table, borrowed.key);
  const row = paperTable(id).rows.find((r) => r.key === rowKey);
  if (!row) throw new RangeError(`table ${id} has no row ${rowKey}`);
  return row;
}

/** The paper's numeric value of `metric` in a row, or null where the paper has none. */
export function paperValue(id: TableId, rowKey: string, metric: string): number | null {
  const borrowed = paperTable(id).borrowedRows?.[rowKey];
  if (borrowed) return paperValue(borrowed.table, borrowed.key, metric);
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
