/**
 * The paper's text against the authors' public code: GPA + MAM with each of the code's choices switched, one
 * per row, and all together (a table of this suite's own; not in the paper).
 * @module
 */
import type { Profile } from "../profiles.ts";
import {
  gpaRequest,
  recipeDeviations,
  type TableModule,
  type TablePlan,
  type TableRowPlan,
} from "./common.ts";

/**
 * The authors' public code differs from the paper's text in several choices (README, "Paper vs authors'
 * code"); this table runs the profile's full GPA (teacher + MAM, paper defaults) once with each choice
 * switched to the code's, and once with all of them, and asks of each whether it moves fine-tune top-1 by
 * more than `CODE_VS_PAPER_TOLERANCE` points.
 */
export function plan(profile: Profile): TablePlan {
  const def = profile.gpa;
  const teacher = (variant: "paper" | "official") => ({ ...def.teacher, variant });
  const rows: TableRowPlan[] = [
    { key: "paper", label: "paper's text (all defaults)", request: gpaRequest({ mam: true }) },
    {
      key: "gpa-official",
      label: "GPA sums all queries incl. CLS and the diagonal",
      request: gpaRequest({ mam: true, teacher: teacher("official") }),
    },
    {
      key: "overlap-official",
      label: "soft draw over all patches, collisions refilled at random",
      request: gpaRequest({ mam: true, overlap: "official" }),
    },
    { key: "mam-all", label: "MAM loss over all patches", request: gpaRequest({ mam: { lossOn: "all" } }) },
    {
      key: "mam-late",
      label: "MAM decoder only after 75 % of training (channel mean before), loss on all patches as the code",
      // With the paper's masked-only loss the stand-in sees only mask tokens before 75 %, so the encoder would
      // get no MAM gradient at all there; the code's loss on all patches trains it through the visible
      // tokens. The row runs what the code runs (mam-all isolates the loss alone).
      request: gpaRequest({ mam: { activeFrom: 0.75, lossOn: "all" } }),
    },
    {
      key: "soft-0.3",
      label: "soft share 0.3 → 0 (code default)",
      request: gpaRequest({ mam: true, soft: [0.3, 0] }),
    },
    {
      key: "soft-fixed-0.3",
      label: "soft share fixed at 0.3 (the code's MAM variant)",
      request: gpaRequest({ mam: true, soft: [0.3, 0.3] }),
    },
    {
      key: "progress-epoch",
      label: "schedules step per epoch (t = epoch / epochs)",
      request: gpaRequest({ mam: true, progress: "epoch" }),
    },
    {
      key: "rounding-floor",
      label: "share counts rounded down",
      request: gpaRequest({ mam: true, rounding: "floor" }),
    },
    {
      key: "code",
      label: "all of the code's choices together",
      request: gpaRequest({
        mam: { lossOn: "all", activeFrom: 0.75 },
        teacher: teacher("official"),
        overlap: "official",
        soft: [0.3, 0.3],
        progress: "epoch",
        rounding: "floor",
      }),
    },
  ];
  const tol = CODE_VS_PAPER_TOLERANCE;
  return {
    id: "codevspaper",
    title: "Paper vs authors' code — does each discrepancy change the result?",
    own: {
      baseline: "paper",
      note:
        `Each row switches one choice of GPA + MAM from the paper's text to the authors' code. "reproduced" ` +
        `here means the choice is shown not to matter (the 95 % CI of its difference to the paper row lies ` +
        `within ±${tol} points), "not reproduced" that it does (the CI lies wholly outside), "inconclusive" ` +
        "that the seeds cannot tell.",
      claims: rows.filter((r) => r.key !== "paper").map((r) => ({
        kind: "equal" as const,
        id: `code-${r.key}`,
        text: `${r.label}: fine-tune top-1 within ±${tol} of the paper's choices`,
        metric: "finetune",
        a: r.key,
        b: "paper",
        tolerance: tol,
        source: "README, Paper vs authors' code",
      })),
    },
    metric: { key: "finetune", label: "fine-tune top-1", evaluation: "finetune" },
    rows,
    deviations: [
      `${profile.dataset.name} at ${profile.dataset.resolution} px with ViT ${profile.model.dim}-d × ` +
      `${profile.model.depth}; the authors' code runs ViT-B/16 on ImageNet-1K`,
      ...perEpochDeviations(profile.pretrain.epochs, profile.gpa.hard),
      ...recipeDeviations(profile),
      "\"mam-late\" runs the code's late MAM with the code's loss on all patches: with the paper's " +
      "masked-only loss, the channel-mean stand-in before 75 % of training reads only mask tokens and gives " +
      "the encoder no MAM gradient, while the code's loss trains the encoder through the visible tokens for " +
      'that 75 %; the row switches two choices, and "mam-all" isolates the loss',
      ...CODE_DIFFERENCES_NOT_SWITCHED,
    ],
  };
}

/**
 * Where the paper's text and the code differ and neither the suite nor any row switches it (so every row of
 * the table, the `paper` row included, carries it).
 */
export const CODE_DIFFERENCES_NOT_SWITCHED: readonly string[] = [
  '§3.3 says the RGB and attention decoders work "in an alternating way"; neither the authors\' code nor ' +
  "the suite alternates: both decoders run on every step and their losses are added (Eq. 8)",
  "MAM head: the code's attention decoder outputs p²·3 values per patch (a copy of the pixel head) and " +
  "averages them into one prediction; the suite's outputs one value per patch — the same family of linear " +
  "maps, with a different initial scale and gradient per weight",
];

/**
 * With the code's per-epoch progress, t takes the values e / E for epochs e < E only: at a few epochs the
 * schedules never reach their end, and MAM (active once t > 0.75) may never run at all. Said in the report,
 * since the authors' 200-epoch runs barely have this artefact (t ends at 199/200).
 */
export function perEpochDeviations(epochs: number, hard: readonly [number, number]): string[] {
  const active = Array.from({ length: epochs }, (_, e) => e / epochs).filter((t) => t > 0.75).length;
  const lastT = (epochs - 1) / epochs;
  const out = [
    `per-epoch progress ("progress-epoch", "code"): t ends at ${+lastT.toFixed(3)} after ${epochs} epochs, ` +
    `so the soft-to-hard schedule stops short of its end (hard share ${+(hard[0] +
      (hard[1] - hard[0]) * lastT).toFixed(3)} of the masked patches at the end instead of ${
      hard[1]
    }; the shares are linear in t)`,
  ];
  out.push(
    active === 0
      ? `"code" row: with MAM active only once t > 0.75, its decoder never runs at ${epochs} epochs — only the ` +
        "channel-mean stand-in trains; the authors' runs have it active for the last quarter"
      : `"code" row: MAM (active once t > 0.75) runs in ${active} of ${epochs} epochs`,
  );
  return out;
}

/** Points of fine-tune top-1 within which a code choice counts as not changing the result. */
export const CODE_VS_PAPER_TOLERANCE = 0.5;

/** The paper-vs-code table. */
export const codevspaper: TableModule = { id: "codevspaper", plan };
