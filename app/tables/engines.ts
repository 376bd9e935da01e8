/**
 * Which engines computed a table's runs: the header's engine line and the note a report gets when its paired
 * rows ran on more than one engine (or on OpenBLAS kernel sets that were not recorded).
 * @module
 */
import { DEFAULT_BLAS_CORE } from "../../lib/blas.ts";
import type { UnitResult } from "./run_unit.ts";

/**
 * The header's engine line: this invocation's engine, and when the runs behind the table (cached ones
 * included) were computed by others, which and how many (runs from before engines were recorded: "not
 * recorded"; on wasm those ran their matMuls on XNNPACK).
 */
export function describeEngines(current: string, runEngines: unknown[]): string {
  const counts = new Map<string, number>();
  for (const e of runEngines) {
    const label = typeof e === "string" && e ? e : "not recorded";
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  if (counts.size === 0 || (counts.size === 1 && counts.has(current))) return current;
  const parts = [...counts].sort((a, b) => b[1] - a[1]).map(([e, n]) => `${e} × ${n}`);
  return `${current}; runs: ${parts.join(", ")}`;
}

/**
 * A table's paired rows must come from one engine: the engine is not part of a run's identity (a kernel fusion
 * moves results by ≈ 1e-6 per op, so one hash can hold different weights), and a paired difference across
 * engines measures the engines too. When the runs behind a table name more than one engine, the report says
 * which rows ran on which, and how to rerun; null when they agree (runs that recorded none are not counted).
 */
export function engineMixNote(results: Pick<UnitResult, "row" | "seed" | "meta">[]): string | null {
  const byEngine = new Map<string, Set<string>>();
  for (const r of results) {
    for (const e of (r.meta.engines as unknown[] | undefined) ?? []) {
      if (typeof e !== "string" || !e) continue;
      let rows = byEngine.get(e);
      if (!rows) byEngine.set(e, rows = new Set());
      rows.add(`${r.row} s${r.seed}`);
    }
  }
  if (byEngine.size <= 1) return null;
  // Labels from before OpenBLAS's kernel set was named ("OpenBLAS 0.3.21") against one named set
  // ("OpenBLAS 0.3.21 Prescott"): the same engine if the earlier runs used that set, which is not recorded.
  const KERNEL = /(OpenBLAS \S+) ([A-Z][A-Za-z0-9]*)(?=[;,)])/;
  const named = new Set([...byEngine.keys()].map((e) => KERNEL.exec(e)?.[2]).filter((k) => k !== undefined));
  const base = new Set([...byEngine.keys()].map((e) => e.replace(KERNEL, "$1")));
  if (base.size === 1 && named.size === 1) {
    const [kernel] = named;
    const unitsOf = (pick: (e: string) => boolean) =>
      new Set([...byEngine].filter(([e]) => pick(e)).flatMap(([, rows]) => [...rows]));
    const unnamed = unitsOf((e) => !KERNEL.test(e));
    const namedUnits = unitsOf((e) => KERNEL.test(e));
    // A unit holds several runs (pre-training, evaluation, side probes); some may predate the label and
    // some not. When every unit has both, name the runs by when they ran rather than list every unit twice.
    const every = [...namedUnits].every((u) => unnamed.has(u)) &&
      [...unnamed].every((u) => namedUnits.has(u));
    const which = every
      ? `every unit (${unnamed.size}) has runs recorded before the engine named OpenBLAS's kernel set and ` +
        `runs added since, which ran on ${kernel}. `
      : `the runs of ${[...unnamed].join(", ")} were recorded before the engine named OpenBLAS's ` +
        `kernel set; the others ran on ${kernel}. `;
    return `Kernel set: ${which}` +
      (kernel === DEFAULT_BLAS_CORE
        ? `OpenBLAS falls back to ${kernel} on this project's machines (the set the suite now pins), so the ` +
          "earlier runs most likely used it too; a rerun in a fresh cache would settle it."
        : `If the earlier runs used another set, paired differences include its rounding; rerun them with ` +
          `GPA_BLAS_CORE=${kernel} in a fresh cache to compare like with like.`);
  }
  return "Engine mix: the runs behind this table ran on " +
    [...byEngine].map(([e, rows]) => `${e} (${[...rows].join(", ")})`).join("; ") +
    ". Paired differences then include the engines' rounding; rerun the rows of one engine in a fresh cache " +
    "to compare like with like.";
}
