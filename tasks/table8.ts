/**
 * Table 8 — semantic segmentation of the strategies' encoders, evaluated by segmentation mIoU (CamVid for ADE20K).
 *
 *   MoCo v3                    not run: MoCo v3 is not implemented in this suite
 *   BEiT (block-wise masking)  block masking
 *   MAE                        random masking
 *   SemMAE                     not run: SemMAE is not implemented in this suite
 *   HPM                        hpm masking
 *   GPA                        GPA masking + MAM
 *
 * Claims:
 *   - GPA segments ADE20K better than MAE (t8-gpa-beats-mae)
 *   - GPA beats every listed self-supervised method on ADE20K (t8-gpa-best)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table8.ts.
 *   deno task table8 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table8 } from "../experiments/tables/table8.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table8, Deno.args));
