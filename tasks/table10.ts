/**
 * Table 10 — GPA's mask strategy on other frameworks, evaluated by fine-tune top-1.
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table10.ts;
 * this script runs that module through the shared table runner.
 *   deno task table10 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table10 } from "../experiments/tables/table10.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table10, Deno.args));
