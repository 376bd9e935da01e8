/**
 * Table 6 — mask strategies compared (same backbone and budget), evaluated by fine-tune top-1.
 *
 *   MAE (random)                                   random masking
 *   UM-MAE (uniform sampling + secondary masking)  uniform masking + secondary masking
 *   BEiT (block-wise)                              block masking
 *   HPM (EMA teacher, loss predictor)              hpm masking
 *   AMT (attention sampling)                       cls-attention masking
 *   SemMAE                                         not run: SemMAE is not implemented in this suite
 *   AutoMAE                                        not run: AutoMAE is not implemented in this suite
 *   MILAN                                          not run: MILAN (CLIP-guided) is not implemented in this suite
 *   GPA                                            GPA masking + MAM
 *   GPA, 1.5× epochs                               GPA masking + MAM (1.5× epochs)
 *
 * Claims:
 *   - At the same 200 pre-training epochs GPA fine-tunes better than MAE (t6-gpa200-beats-mae)
 *   - GPA is the best of the methods pre-trained for 200 epochs (t6-gpa200-best-at-200ep)
 *   - GPA with 300 epochs beats every listed method, including those pre-trained longer (t6-gpa300-best-overall)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table6.ts.
 *   deno task table6 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table6 } from "../experiments/tables/table6.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table6, Deno.args));
