/**
 * Table 5 — which teacher attention head, evaluated by fine-tune top-1.
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table5.ts;
 * this script runs that module through the shared table runner.
 *   deno task table5 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table5 } from "../experiments/tables/table5.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table5, Deno.args));
