/**
 * The units of a table: one (row, seed) each, the share of a `--shard`, and the rows a `--rows` call trains.
 * @module
 */
import type { TablePlan, TableRowPlan } from "../../experiments/tables/mod.ts";

/** A unit of work: one row at one seed. */
export interface Unit {
  row: TableRowPlan;
  seed: number;
}

/** The units of a table (runnable rows × seeds), in a stable order. */
export function tableUnits(plan: TablePlan, seeds: number[]): Unit[] {
  const units: Unit[] = [];
  for (const row of plan.rows) {
    if (!runnable(row)) continue;
    for (const seed of seeds) units.push({ row, seed });
  }
  return units;
}

/** This shard's share of `units`: every n-th starting at i. */
export function shardUnits<T>(units: T[], shard?: { index: number; count: number }): T[] {
  if (!shard) return units;
  return units.filter((_, k) => k % shard.count === shard.index);
}

/**
 * Checks a `--rows` selection against a table's plan: every key must name a row, and a row that cannot run
 * at all (not implemented, no data) cannot be selected. Returns an error message, or null when it is valid.
 */
export function checkRowSelection(plan: TablePlan, rows: readonly string[]): string | null {
  if (rows.length === 0) return "--rows names no row";
  for (const key of rows) {
    const row = plan.rows.find((r) => r.key === key);
    if (!row) return `${plan.id} has no row '${key}'; its rows: ${plan.rows.map((r) => r.key).join(", ")}`;
    if (!runnable(row)) {
      return `${plan.id} row '${key}' cannot run: ${row.notRun ?? "no request"}`;
    }
  }
  return null;
}

/** Whether a row has runs: a strategy to pre-train with, or the random-init floor. */
export function runnable(row: TableRowPlan): boolean {
  return !row.notRun && (row.request !== undefined || row.randomInit === true);
}
