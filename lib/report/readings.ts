/**
 * Readings of a table's claims on its further metrics: the same claims, judged on another metric's per-seed
 * values of the same runs (a k-NN or linear probe beside fine-tuning). Not verdicts of the table — a reading
 * a discussion can cite with its interval — so no Holm family is formed with the table's claims.
 * @module
 */
import { judgeClaims } from "./verdict.ts";
import type { ClaimInput, SeedIds, SeedResults, Verdict } from "./verdict_types.ts";
import type { MetricBlock } from "./report_model.ts";

/**
 * For each block of `blocks` (other than `mainMetric`), `claims` on `mainMetric` re-targeted to the block's
 * metric and judged on its per-seed values, paired by seed where the rows record their seeds. Claims on
 * other metrics are left out.
 */
export function readingsByMetric(
  claims: readonly ClaimInput[],
  mainMetric: string,
  blocks: readonly MetricBlock[],
): Record<string, Verdict[]> {
  const out: Record<string, Verdict[]> = {};
  for (const block of blocks) {
    const key = block.metric.key;
    if (key === mainMetric) continue;
    const results: Record<string, readonly number[]> = {};
    const seeds: Record<string, readonly number[]> = {};
    for (const row of block.rows) {
      if (row.perSeed.length === 0) continue;
      results[row.key] = row.perSeed;
      if (row.seeds) seeds[row.key] = row.seeds;
    }
    if (Object.keys(results).length === 0) continue;
    const retargeted = claims.filter((c) => c.metric === mainMetric).map((c) => ({ ...c, metric: key }));
    if (retargeted.length === 0) continue;
    out[key] = judgeClaims(retargeted, { [key]: results as SeedResults }, {
      paired: true,
      seedsByMetric: { [key]: seeds as SeedIds },
    });
  }
  return out;
}
