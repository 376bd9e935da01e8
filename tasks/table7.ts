/**
 * Table 7 — linear probing, evaluated by linear-probe top-1.
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table7.ts;
 * this script runs that module through the shared table runner.
 *   deno task table7 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table7 } from "../experiments/tables/table7.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table7, Deno.args));
