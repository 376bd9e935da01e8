/**
 * Table 7 — linear probing, evaluated by linear-probe top-1.
 *
 *   MAE  random masking
 *   HPM  hpm masking
 *   CAE  not run: CAE is not implemented in this suite
 *   GPA  GPA masking + MAM
 *
 * Claims:
 *   - GPA's features are linearly more separable than MAE's (linear-probe top-1) (t7-gpa-beats-mae)
 *   - GPA has the best linear-probe top-1 of the listed methods (t7-gpa-best)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table7.ts.
 *   deno task table7 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table7 } from "../experiments/tables/table7.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table7, Deno.args));
