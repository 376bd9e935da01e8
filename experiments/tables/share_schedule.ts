/**
 * The share-schedule ablations of Tables 3 and 4, mirror images of each other: Table 3 varies the soft
 * (sampled) share α_s from start to end of pre-training with the hard share at its default, Table 4 the hard
 * (top-GPA) share α_h with the soft share at its default, each at mask ratios 0.75, 0.5 and 0.9. One builder
 * gives either table, from its printed numbers, its caption, header, columns, rows and groups and the runs
 * behind the rows, so the two cannot drift apart.
 * @module
 */
import type { PaperRow, PaperTable } from "../paper_types.ts";
import type { StrategyRequest } from "../strategy_request.ts";
import { FINETUNE_COLUMN, gpaRequest, type TableRowPlan } from "./common.ts";

/** The share a table varies: "s" the soft share (Table 3), "h" the hard share (Table 4). */
export type Share = "s" | "h";

/**
 * A printed row: the varied share's start and end, fine-tune top-1, and the printed delta against its group's
 * first row (which prints none; null for a printed "(-)").
 */
export type ScheduleRow = [start: number, end: number, finetune: number, delta?: number | null];

/** The printed rows at one mask ratio α, in the paper's order. */
export interface ScheduleGroup {
  alpha: number;
  rows: ScheduleRow[];
}

/** One table's share-schedule ablation: the paper table's head, rows and groups, and the runs behind them. */
export interface ShareSchedule {
  /**
   * The paper table's caption, printed header, columns, rows, main baseline (the first group's) and groups:
   * one per mask ratio, in the paper's order, each with its first row as baseline.
   */
  table: Pick<PaperTable, "caption" | "paperColumns" | "columns" | "rows" | "baseline" | "groups">;
  /**
   * The runs behind the rows, one per paper row (in the paper's order, with its key): the varied share's
   * start → end and mask ratio α from the row's cells, the other share at the profile's `defaults`.
   */
  rowPlans(defaults: { soft: [number, number]; hard: [number, number] }): TableRowPlan[];
}

/**
 * The paper's default setting (§4.1.2): mask ratio 0.75, soft share 0.5 → 0, hard share 0 → 0.5. Each table
 * marks the row of its varied share's default schedule at that ratio as the paper's default.
 */
const PAPER_DEFAULT = { alpha: 0.75, s: [0.5, 0], h: [0, 0.5] } as const;

/**
 * How each table names its varied share in the caption, and its printed "hardness" column, which reads down
 * each α group: the first row masks without the varied share (Table 3: random, Table 4: soft only), the rows
 * below add it ("↓"), and the last is named for the masking the share ramps to.
 */
const SHARES: Record<Share, { name: string; first: string; last: string }> = {
  s: { name: "sampled (soft)", first: "random", last: "soft" },
  h: { name: "top-GPA (hard)", first: "soft", last: "hard" },
};

/** A share-schedule table from its printed rows: the paper table's head, rows and groups, and the runs. */
export function shareSchedule(share: Share, printed: ScheduleGroup[]): ShareSchedule {
  const [defaultStart, defaultEnd] = PAPER_DEFAULT[share];
  const byAlpha = printed.map(({ alpha, rows }) => ({
    alpha,
    rows: rows.map(([start, end, finetune, delta], i): PaperRow => {
      const hardness = i === 0 ? SHARES[share].first : i === rows.length - 1 ? SHARES[share].last : "↓";
      const row: PaperRow = {
        key: `a${alpha}-${share}${start}to${end}`,
        label: `α=${alpha}, α${share}: ${start}→${end}`,
        cells: { hardness, alpha, start, end, finetune },
      };
      if (delta !== undefined) row.printedDelta = { finetune: delta };
      if (start === defaultStart && end === defaultEnd && alpha === PAPER_DEFAULT.alpha) {
        row.paperDefault = true;
      }
      return row;
    }),
  }));
  const rows = byAlpha.flatMap((g) => g.rows);
  const groups = byAlpha.map(({ alpha, rows }) => ({
    key: `a${alpha}`,
    label: `α = ${alpha}`,
    rows: rows.map((r) => r.key),
    baseline: rows[0].key,
  }));
  const alphas = printed.map((g) => g.alpha);
  return {
    table: {
      caption: `Ablation of the ${SHARES[share].name} share schedule α_${share} from start to end of ` +
        `pre-training, at overall mask ratios ${alphas.slice(0, -1).join(", ")} and ${alphas.at(-1)}; ` +
        "fine-tune top-1.",
      paperColumns: ["hardness", "α", `α_0^${share}`, `α_T^${share}`, "finetune(%)"],
      columns: [
        { key: "hardness", label: "hardness", type: "text" },
        { key: "alpha", label: "mask ratio α", type: "number" },
        { key: "start", label: `α_${share} start`, type: "number" },
        { key: "end", label: `α_${share} end`, type: "number" },
        FINETUNE_COLUMN,
      ],
      rows,
      baseline: groups[0].baseline,
      groups,
    },
    rowPlans: (defaults) =>
      rows.map((row) => {
        const { alpha, start, end } = row.cells as { alpha: number; start: number; end: number };
        const varied: [number, number] = [start, end];
        return {
          key: row.key,
          label: `α ${alpha}, α_${share} ${start} → ${end}`,
          request: share === "s"
            ? sharesRow(alpha, varied, defaults.hard)
            : sharesRow(alpha, defaults.soft, varied),
        };
      }),
  };
}

/**
 * A row's request: the varied share as printed, the other at the profile's default. Where the two sum above
 * 1 the soft share is clipped to 1 − hard at every t, as the authors' code does (their hard schedule is
 * fixed; the soft draw fills what is left) — so the α_s 1 → 1 rows keep hard masking 0 → 0.5.
 */
function sharesRow(maskRatio: number, soft: [number, number], hard: [number, number]): StrategyRequest {
  const over = soft[0] + hard[0] > 1 + 1e-9 || soft[1] + hard[1] > 1 + 1e-9;
  return gpaRequest({ maskRatio, soft, hard, ...(over ? { clipSoft: true } : {}) });
}
