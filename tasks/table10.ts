/**
 * Table 10 — GPA's mask strategy on other frameworks, evaluated by fine-tune top-1.
 *
 *   MAE                  random masking
 *   MAE + GPA masks      GPA masking
 *   ConvMAE              not run: ConvMAE (hybrid conv-ViT) is not implemented in this suite
 *   ConvMAE + GPA masks  not run: ConvMAE is not implemented in this suite
 *   CAE                  not run: CAE is not implemented in this suite
 *   CAE + GPA masks      not run: CAE is not implemented in this suite
 *   iBOT                 not run: iBOT is not implemented in this suite
 *   iBOT + GPA masks     not run: iBOT is not implemented in this suite
 *
 * Claims:
 *   - GPA masking improves MAE-B (fine-tune top-1) (t10-gpa-improves-mae-b)
 *   - GPA masking improves ConvMAE-S (fine-tune top-1) (t10-gpa-improves-convmae-s)
 *   - GPA masking improves CAE-S (k-NN top-1) (t10-gpa-improves-cae-s)
 *   - GPA masking improves iBOT-B (k-NN top-1) (t10-gpa-improves-ibot-b)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table10.ts.
 *   deno task table10 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table10 } from "../experiments/tables/table10.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table10, Deno.args));
