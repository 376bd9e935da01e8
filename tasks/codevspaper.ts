/**
 * Paper vs authors' code — does each discrepancy change the result?, evaluated by fine-tune top-1.
 * The rows, the paper's numbers, the claims and the runs behind each row: experiments/tables/codevspaper.ts;
 * this script runs that module through the shared table runner.
 *   deno task codevspaper --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { codevspaper } from "../experiments/tables/codevspaper.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(codevspaper, Deno.args));
