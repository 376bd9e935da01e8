/**
 * Table 6 — mask strategies compared (same backbone and budget), evaluated by fine-tune top-1.
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table6.ts;
 * this script runs that module through the shared table runner.
 *   deno task table6 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table6 } from "../experiments/tables/table6.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table6, Deno.args));
