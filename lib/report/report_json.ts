/**
 * A table report as a JSON object for tools (`reports/<profile>/<table>.json`): the same rows and verdicts as
 * the Markdown page, non-finite numbers as null and seed counts past the power search as "> 1000".
 * @module
 */
import { scaleReading } from "./scale_reading.ts";
import {
  blocksOf,
  countOutcomes,
  deriveRows,
  gainOverFloor,
  SCALE_STATEMENT,
  shareOfGain,
  type TableReportInput,
} from "./report_model.ts";
import { SEEDS_FOR_POWER_MAX } from "./stats.ts";
import { type Verdict } from "./verdict.ts";

/**
 * A verdict as the report's JSON holds it: non-finite numbers are null, except seed counts beyond the power
 * search, which are the string "> 1000" (so that they are not confused with "no count"); `shareOfGain` is
 * added (null without a floor row).
 */
export type VerdictJson = Omit<Verdict, "seedsNeeded" | "seedsNeededRange"> & {
  seedsNeeded: number | string | null;
  seedsNeededRange?: [number | string, number | string] | null;
  shareOfGain?: number | null;
};

const seedsJson = (n: number): number | string => (Number.isFinite(n) ? n : `> ${SEEDS_FOR_POWER_MAX}`);

function verdictJson(v: Verdict, share: number | null): VerdictJson {
  return {
    ...v,
    seedsNeeded: v.seedsNeeded === null ? null : seedsJson(v.seedsNeeded),
    seedsNeededRange: v.seedsNeededRange
      ? [seedsJson(v.seedsNeededRange[0]), seedsJson(v.seedsNeededRange[1])]
      : null,
    shareOfGain: share,
  };
}

/**
 * Schema of the report JSON. @2: `mde` is the minimum detectable effect at 80 % power (it was the interval's
 * half-width, now `halfWidth`); outcomes "smaller/larger than the paper's"; `seedsNeeded` may be "> 1000";
 * `seedsNeededRange`, `vsPaper`, `floorRow`, `gainOverFloor` and `shareOfGain` added. Optional fields added
 * within @2 (older @2 reports lack them): `runs[].carriedFrom`, `runs[].curves` (per-epoch, NaN as null).
 */
export const REPORT_SCHEMA = "gpa-repro/table-report@2";

/** Replaces non-finite numbers with null, recursively, so the object survives JSON unchanged. */
function jsonSafe(value: unknown): unknown {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}

/** The report as a JSON-ready object (non-finite numbers become null). */
export function tableReportJson(input: TableReportInput): Record<string, unknown> {
  const gain = gainOverFloor(input);
  return jsonSafe({
    schema: REPORT_SCHEMA,
    header: input.header,
    statement: SCALE_STATEMENT,
    metrics: blocksOf(input).map((block) => ({
      metric: block.metric,
      baseline: block.baseline ?? null,
      rows: deriveRows(block),
    })),
    floorRow: input.floorRow ?? null,
    gainOverFloor: gain,
    verdicts: input.verdicts.map((v) =>
      verdictJson(v, shareOfGain(v, gainOverFloor(input, v.metric), v.metric))
    ),
    summary: countOutcomes(input.verdicts),
    atThisScale: scaleReading(input.verdicts, { gain, metricKey: input.metric.key }),
    deviations: input.deviations,
    notes: input.notes,
    figures: input.figures ?? [],
    runs: input.runs ?? [],
  }) as Record<string, unknown>;
}
