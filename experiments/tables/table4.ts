/**
 * Table 4 — hard masking share α_h (start → end).
 *
 * The paper's numbers and claims (transcribed from the extracted paper text) next to the runs that
 * reproduce each row at a profile's scale.
 * @module
 */
import type { Claim } from "../paper_types.ts";
import { plan as table3Plan } from "./table3.ts";
import type { TableModule, TableRowPlan } from "./common.ts";
import { FINETUNE_METRIC, paperTable, tablePlan } from "./common.ts";
import { shareSchedule } from "./share_schedule.ts";

// [α_h start, α_h end, fine-tune top-1, printed delta] by mask ratio α, in the paper's order.
const schedule = shareSchedule("h", [
  { alpha: 0.75, rows: [[0, 0, 82.25], [0, 0.5, 82.73, 0.48], [0, 1, 82.71, 0.46], [1, 1, 82.27, 0.02]] },
  { alpha: 0.5, rows: [[0, 0, 82.22], [0, 0.5, 82.54, 0.32], [0, 1, 82.37, 0.15]] },
  { alpha: 0.9, rows: [[0, 0, 82.2], [0, 0.5, 82.51, 0.31], [0, 1, 81.82, -0.38]] },
]);

/** The key, in Table 4, of Table 3's α_s 0 → 0 row at mask ratio `a` (read by the hard-vs-soft claims). */
export function borrowedKey(a: string): string {
  return `t3-a${a}-s0to0`;
}

/** The paper's Table 4: rows, claims (some reading Table 3's rows) and transcription notes. */
export const paper = paperTable(4, {
  ...schedule.table,
  borrowedRows: Object.fromEntries(
    ["0.75", "0.5", "0.9"].map((a) => [borrowedKey(a), { table: "table3" as const, key: `a${a}-s0to0` }]),
  ),
  claims: [
    ...schedule.table.groups.map((g): Claim => ({
      kind: "best-in-group",
      id: `t4-hard-half-best-a${g.key.slice(1)}`,
      text: `At ${g.label}, the hard share schedule 0 → 0.5 gives the best fine-tune top-1`,
      metric: "finetune",
      best: `${g.key}-h0to0.5`,
      rows: g.rows,
      source: "§4.1.2, Table 4",
    })),
    // §4.1.2 on Tables 3 and 4: "compared with soft masks, hard masks play a pivotal role" — dropping the hard
    // share (Table 4's α_h 0 → 0) costs more than dropping the soft share (Table 3's α_s 0 → 0).
    ...["0.75", "0.5", "0.9"].map((a): Claim => ({
      kind: "greater",
      id: `t4-hard-matters-more-a${a}`,
      text:
        `At α = ${a}, the hard share matters more than the soft share: GPA without its soft share (Table 3, ` +
        "α_s 0 → 0) fine-tunes better than GPA without its hard share (Table 4, α_h 0 → 0)",
      metric: "finetune",
      a: borrowedKey(a),
      b: `a${a}-h0to0`,
      source: "§4.1.2, Tables 3 and 4",
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
});

/** The runs behind the rows, at a profile's scale. */
export const plan = tablePlan(
  "table4",
  "Table 4 — hard masking share α_h (start → end)",
  ({ def, common }, profile) => {
    // Table 3's α_s 0 → 0 rows, exactly as Table 3 plans them (same request: the same runs and hashes).
    const t3 = table3Plan(profile);
    const borrowed = ["0.75", "0.5", "0.9"].map((a): TableRowPlan => {
      const row = t3.rows.find((r) => r.key === `a${a}-s0to0`)!;
      return {
        key: borrowedKey(a),
        label: `α ${a}, without the soft share (Table 3's α_s 0 → 0 row)`,
        request: row.request,
        paperRow: { table: "table3", key: row.key },
      };
    });
    return {
      metric: FINETUNE_METRIC,
      rows: [...schedule.rowPlans(def), ...borrowed],
      deviations: [
        ...common,
        `soft share held at the default ${def.soft[0]} → ${def.soft[1]} (the paper does not say); where ` +
        "soft + hard would exceed 1 (the α_h 1 → 1 row) the soft share is clipped to 1 − hard at every t, " +
        "as the authors' code does",
        "the hard-vs-soft claims read Table 3's α_s 0 → 0 rows (GPA without its soft share), planned here " +
        "with Table 3's own runs (the same identities); they cost one more row per α",
      ],
    };
  },
);

/** Table 4. */
export const table4: TableModule = { id: "table4", paper, plan };
