/**
 * Table 5 — which teacher attention head, evaluated by fine-tune top-1.
 *
 *   first head (b0h0)                    GPA masking
 *   last head (b3h1)                     GPA masking
 *   all heads of the last block (b3h-1)  GPA masking
 *   1-shot selection                     GPA masking
 *   10-shot selection                    GPA masking
 *   50-shot selection                    GPA masking
 *
 * Claims:
 *   - Few-shot head selection with 10 images reaches the best fine-tune top-1 (50 shots pick the same head and tie, so they are left out of the comparison) (t5-ten-shots-best)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table5.ts.
 *   deno task table5 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table5 } from "../experiments/tables/table5.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table5, Deno.args));
