/**
 * What the teacher must know (the table arm): random init, MAE, centre-prior, mean-GPA-map, GPA and
 * oracle-box masking, fine-tuned. Rows and claims: experiments/tables/teachers.ts.
 *   deno task teachers --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { teachers } from "../experiments/tables/teachers.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(teachers, Deno.args));
