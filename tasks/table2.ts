/**
 * Table 2 — downstream transfer of the Table 1 encoders, evaluated by segmentation mIoU (CamVid for ADE20K).
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table2.ts;
 * this script runs that module through the shared table runner.
 *   deno task table2 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table2 } from "../experiments/tables/table2.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table2, Deno.args));
