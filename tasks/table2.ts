/**
 * Table 2 — downstream transfer of the Table 1 encoders, evaluated by segmentation mIoU (CamVid for ADE20K).
 *
 *   MAE                       random masking
 *   GPA as teacher            GPA masking
 *   GPA as teacher + feature  GPA masking + MAM
 *
 * Claims:
 *   - GPA as teacher alone transfers better than MAE (COCO AP box) (t2-teacher-beats-mae-apBox)
 *   - GPA as teacher and feature transfers better than MAE (COCO AP box) (t2-full-beats-mae-apBox)
 *   - GPA as teacher alone transfers better than MAE (COCO AP mask) (t2-teacher-beats-mae-apMask)
 *   - GPA as teacher and feature transfers better than MAE (COCO AP mask) (t2-full-beats-mae-apMask)
 *   - GPA as teacher alone transfers better than MAE (ADE20K mIoU) (t2-teacher-beats-mae-miou)
 *   - GPA as teacher and feature transfers better than MAE (ADE20K mIoU) (t2-full-beats-mae-miou)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table2.ts.
 *   deno task table2 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table2 } from "../experiments/tables/table2.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table2, Deno.args));
