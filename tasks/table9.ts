/**
 * Table 9 — efficiency: accuracy vs cost, evaluated by fine-tune top-1.
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table9.ts;
 * this script runs that module through the shared table runner.
 *   deno task table9 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table9 } from "../experiments/tables/table9.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table9, Deno.args));
