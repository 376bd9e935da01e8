/**
 * Table 1 — roles of GPA (mask teacher, reconstruction target), evaluated by fine-tune top-1.
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table1.ts;
 * this script runs that module through the shared table runner.
 *   deno task table1 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table1 } from "../experiments/tables/table1.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table1, Deno.args));
