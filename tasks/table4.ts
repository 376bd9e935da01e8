/**
 * Table 4 — hard masking share α_h (start → end), evaluated by fine-tune top-1.
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table4.ts;
 * this script runs that module through the shared table runner.
 *   deno task table4 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table4 } from "../experiments/tables/table4.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table4, Deno.args));
