/**
 * Table 3 — soft masking share α_s (start → end), evaluated by fine-tune top-1.
 *
 *   α 0.75, α_s 0 → 0    GPA masking (ratio 0.75, soft 0→0, hard 0→0.5)
 *   α 0.75, α_s 0.5 → 0  GPA masking (ratio 0.75, soft 0.5→0, hard 0→0.5)
 *   α 0.75, α_s 1 → 0    GPA masking (ratio 0.75, soft 1→0, hard 0→0.5)
 *   α 0.75, α_s 1 → 1    GPA masking (ratio 0.75, soft 1→1, hard 0→0.5)
 *   α 0.5, α_s 0 → 0     GPA masking (ratio 0.5, soft 0→0, hard 0→0.5)
 *   α 0.5, α_s 0.5 → 0   GPA masking (ratio 0.5, soft 0.5→0, hard 0→0.5)
 *   α 0.5, α_s 1 → 1     GPA masking (ratio 0.5, soft 1→1, hard 0→0.5)
 *   α 0.9, α_s 0 → 0     GPA masking (ratio 0.9, soft 0→0, hard 0→0.5)
 *   α 0.9, α_s 0.5 → 0   GPA masking (ratio 0.9, soft 0.5→0, hard 0→0.5)
 *   α 0.9, α_s 1 → 1     GPA masking (ratio 0.9, soft 1→1, hard 0→0.5)
 *
 * Claims:
 *   - At α = 0.75, the soft share schedule 0.5 → 0 gives the best fine-tune top-1 (t3-soft-half-best-a0.75)
 *   - At α = 0.5, the soft share schedule 0.5 → 0 gives the best fine-tune top-1 (t3-soft-half-best-a0.5)
 *   - At α = 0.9, the soft share schedule 0.5 → 0 gives the best fine-tune top-1 (t3-soft-half-best-a0.9)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table3.ts.
 *   deno task table3 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table3 } from "../experiments/tables/table3.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table3, Deno.args));
