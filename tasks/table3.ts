/**
 * Table 3 — soft masking share α_s (start → end), evaluated by fine-tune top-1.
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/table3.ts;
 * this script runs that module through the shared table runner.
 *   deno task table3 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table3 } from "../experiments/tables/table3.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table3, Deno.args));
