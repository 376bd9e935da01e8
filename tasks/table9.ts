/**
 * Table 9 — efficiency: accuracy vs cost, evaluated by fine-tune top-1.
 *
 *   MAE  random masking
 *   HPM  hpm masking
 *   GPA  GPA masking + MAM
 *
 * Claims:
 *   - GPA's pre-training costs slightly more FLOPs than MAE's (the frozen teacher pass) (t9-gpa-costs-more-flops-than-mae)
 *   - HPM's pre-training costs more FLOPs than GPA's (t9-hpm-costs-more-flops-than-gpa)
 *   - GPA (as teacher) adds no learnable parameters to MAE (t9-gpa-params-equal-mae)
 *   - HPM has more learnable parameters than GPA (t9-hpm-more-params-than-gpa)
 *   - GPA fine-tunes better than HPM (t9-gpa-beats-hpm-finetune)
 *   - GPA linear-probes better than HPM (t9-gpa-beats-hpm-linprobe)
 *
 * The paper's numbers, the claims and the runs behind each row: experiments/tables/table9.ts.
 *   deno task table9 --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { table9 } from "../experiments/tables/table9.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(table9, Deno.args));
