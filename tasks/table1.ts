/**
 * Table 1 — roles of GPA (mask teacher, reconstruction target), evaluated by fine-tune top-1.
 *
 *   MAE (random masking)            random masking
 *   GPA as teacher                  GPA masking
 *   GPA as teacher + feature (MAM)  GPA masking + MAM
 *
 * Claims:
 *   - GPA as mask teacher alone beats MAE's random masking (fine-tune top-1) (t1-teacher-beats-mae)
 *   - GPA as teacher and feature beats MAE (fine-tune top-1) (t1-full-beats-mae)
 *   - Adding the GPA-prediction task (MAM) on top of the GPA teacher improves fine-tune top-1 (t1-feature-adds)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table1.ts.
 *   deno task table1 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table1 } from "../experiments/tables/table1.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table1, Deno.args));
