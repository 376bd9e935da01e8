/**
 * Paper vs authors' code — does each discrepancy change the result?, evaluated by fine-tune top-1.
 *
 *   paper's text (all defaults)                                    GPA masking + MAM
 *   GPA sums all queries incl. CLS and the diagonal                GPA masking + MAM
 *   soft draw over all patches, collisions refilled at random      GPA masking + MAM
 *   MAM loss over all patches                                      GPA masking + MAM
 *   MAM decoder only after 75 % of training (channel mean before)  GPA masking + MAM
 *   soft share 0.3 → 0 (code default)                              GPA masking + MAM (soft 0.3→0)
 *   soft share fixed at 0.3 (the code's MAM variant)               GPA masking + MAM (soft 0.3→0.3)
 *   schedules step per epoch (t = epoch / epochs)                  GPA masking + MAM
 *   share counts rounded down                                      GPA masking + MAM
 *   all of the code's choices together                             GPA masking + MAM (soft 0.3→0.3)
 *
 * Claims:
 *   - GPA sums all queries incl. CLS and the diagonal: fine-tune top-1 within ±0.5 of the paper's choices (code-gpa-official)
 *   - soft draw over all patches, collisions refilled at random: fine-tune top-1 within ±0.5 of the paper's choices (code-overlap-official)
 *   - MAM loss over all patches: fine-tune top-1 within ±0.5 of the paper's choices (code-mam-all)
 *   - MAM decoder only after 75 % of training (channel mean before): fine-tune top-1 within ±0.5 of the paper's choices (code-mam-late)
 *   - soft share 0.3 → 0 (code default): fine-tune top-1 within ±0.5 of the paper's choices (code-soft-0.3)
 *   - soft share fixed at 0.3 (the code's MAM variant): fine-tune top-1 within ±0.5 of the paper's choices (code-soft-fixed-0.3)
 *   - schedules step per epoch (t = epoch / epochs): fine-tune top-1 within ±0.5 of the paper's choices (code-progress-epoch)
 *   - share counts rounded down: fine-tune top-1 within ±0.5 of the paper's choices (code-rounding-floor)
 *   - all of the code's choices together: fine-tune top-1 within ±0.5 of the paper's choices (code-code)
 *
 * The runs behind each row: experiments/tables/codevspaper.ts.
 *   deno task codevspaper --profile cpu --seeds 5 --jobs 2
 * @module
 */
import { codevspaper } from "../experiments/tables/codevspaper.ts";
import { tableTask } from "../cli/table_task.ts";

Deno.exit(await tableTask(codevspaper, Deno.args));
