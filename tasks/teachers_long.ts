/**
 * What the teacher must know (the long arm): the same ladder with 4× the pre-training epochs, read by k-NN.
 * Rows and claims: experiments/tables/teachers.ts.
 *   deno task teachers-long --profile cpu --seeds 3 --jobs 2
 * @module
 */
import { teachersLong } from "../experiments/tables/teachers.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(teachersLong, Deno.args));
