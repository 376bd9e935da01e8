/**
 * Table 4 — hard masking share α_h (start → end), evaluated by fine-tune top-1.
 *
 *   α 0.75, α_h 0 → 0    GPA masking (ratio 0.75, soft 0.5→0, hard 0→0)
 *   α 0.75, α_h 0 → 0.5  GPA masking (ratio 0.75, soft 0.5→0, hard 0→0.5)
 *   α 0.75, α_h 0 → 1    GPA masking (ratio 0.75, soft 0.5→0, hard 0→1)
 *   α 0.75, α_h 1 → 1    GPA masking (ratio 0.75, soft 0.5→0, hard 1→1)
 *   α 0.5, α_h 0 → 0     GPA masking (ratio 0.5, soft 0.5→0, hard 0→0)
 *   α 0.5, α_h 0 → 0.5   GPA masking (ratio 0.5, soft 0.5→0, hard 0→0.5)
 *   α 0.5, α_h 0 → 1     GPA masking (ratio 0.5, soft 0.5→0, hard 0→1)
 *   α 0.9, α_h 0 → 0     GPA masking (ratio 0.9, soft 0.5→0, hard 0→0)
 *   α 0.9, α_h 0 → 0.5   GPA masking (ratio 0.9, soft 0.5→0, hard 0→0.5)
 *   α 0.9, α_h 0 → 1     GPA masking (ratio 0.9, soft 0.5→0, hard 0→1)
 *
 * Claims:
 *   - At α = 0.75, the hard share schedule 0 → 0.5 gives the best fine-tune top-1 (t4-hard-half-best-a0.75)
 *   - At α = 0.5, the hard share schedule 0 → 0.5 gives the best fine-tune top-1 (t4-hard-half-best-a0.5)
 *   - At α = 0.9, the hard share schedule 0 → 0.5 gives the best fine-tune top-1 (t4-hard-half-best-a0.9)
 *   - At α = 0.9, ramping to an all-hard mask (0 → 1) is worse than no hard share (t4-all-hard-hurts-a0.9)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table4.ts.
 *   deno task table4 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table4 } from "../experiments/tables/table4.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table4, Deno.args));
