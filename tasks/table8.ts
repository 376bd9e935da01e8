/**
 * Table 8 — semantic segmentation of the strategies' encoders, evaluated by segmentation mIoU (CamVid for ADE20K).
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table8.ts;
 * this script runs that module through the shared table runner.
 *   deno task table8 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table8 } from "../experiments/tables/table8.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table8, Deno.args));
