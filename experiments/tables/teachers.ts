/**
 * What the teacher must know — a table of this suite's own (not in the paper) that asks why GPA's masks help
 * or not at a profile's scale. One ladder of mask sources, all through GPA's soft-to-hard machinery (same
 * shares, schedule and rounding), between two floors:
 *
 *   random init     no pre-training (what pre-training itself is worth)
 *   MAE             random masking
 *   centre prior    patches ranked by closeness to the view's centre (position, no teacher)
 *   mean GPA map    the teacher's mean map over the training images (its position part, no content)
 *   GPA             the teacher's map of each view (position + content)
 *   oracle box      the annotated object box under the view's crop and flip (the best a teacher could do)
 *
 * Two arms: `teachers` (the profile's pre-training, read by fine-tuning; k-NN and a linear probe beside) and
 * `teachers-long` (4× the pre-training epochs, read by a linear probe and k-NN on the frozen encoder as
 * co-primary metrics: both read the encoder directly and cost a fraction of a fine-tuning).
 * @module
 */
import type { Claim } from "../paper_types.ts";
import type { Verdict } from "../../lib/report/verdict.ts";
import type { Profile } from "../profiles.ts";
import {
  DISCUSSION_PREFIX,
  gpaRequest,
  RANDOM_INIT_ROW,
  recipeDeviations,
  type TableModule,
  type TablePlan,
  type TableRowPlan,
} from "./common.ts";

/** Pre-training epochs of the long arm, as a multiple of the profile's. */
export const LONG_ARM_SCALE = 4;

function rows(epochsScale?: number): TableRowPlan[] {
  const scale = epochsScale ? { epochsScale } : {};
  return [
    RANDOM_INIT_ROW,
    { key: "mae", label: "MAE (random masking)", request: { name: "random" }, ...scale },
    { key: "centre", label: "centre-prior masking", request: { name: "centre" }, ...scale },
    { key: "mean-map", label: "mean-GPA-map masking", request: { name: "mean-map" }, ...scale },
    { key: "gpa", label: "GPA (shipped teacher)", request: gpaRequest(), ...scale },
    { key: "oracle-box", label: "oracle-box masking", request: { name: "oracle-box" }, ...scale },
  ];
}

/**
 * The ladder's claims on one metric; `reading` names the metric in each claim's text where a table judges
 * the same claims on two metrics (the long arm: linear probe and k-NN), so that no two claims read alike.
 */
export function ladderClaims(metric: string, arm: string, reading?: string): Claim[] {
  const claim = (id: string, a: string, b: string, text: string): Claim => ({
    kind: "greater",
    id: `${arm}-${id}`,
    text: reading ? `${text} (${reading})` : text,
    metric,
    a,
    b,
    source: "this suite (teacher ladder)",
  });
  return [
    claim("mae-beats-random", "mae", "random-init", "MAE pre-training beats a random initialisation"),
    claim("oracle-beats-mae", "oracle-box", "mae", "Masking the annotated object (oracle box) beats MAE"),
    claim("gpa-beats-mean", "gpa", "mean-map", "The teacher's content matters: GPA beats its own mean map"),
    claim("gpa-beats-centre", "gpa", "centre", "GPA beats a centre prior"),
    claim("gpa-beats-mae", "gpa", "mae", "GPA beats MAE (the paper's Table 1, +0.50)"),
    claim("centre-beats-mae", "centre", "mae", "A centre prior alone beats MAE"),
  ];
}

function deviations(profile: Profile, long: boolean): string[] {
  return [
    `${profile.dataset.name} at ${profile.dataset.resolution} px with ViT ${profile.model.dim}-d × ` +
    `${profile.model.depth}; pre-training ${profile.pretrain.epochs * (long ? LONG_ARM_SCALE : 1)} epochs`,
    "every masked row uses GPA's soft-to-hard shares and schedule (soft 0.5 → 0, hard 0 → 0.5 of the masked " +
    "patches at ratio 0.75); only the map that ranks the patches differs",
    "oracle box: patches the box covers by ≥ 50 % of their area rank first (ties by closeness to the box " +
    "centre), with the box moved by the view's crop and flip; views that miss the box rank by closeness to " +
    "where its centre would be",
    "mean GPA map: the teacher's min–max scaled maps of every training image (centre view) averaged once",
    ...recipeDeviations(profile),
  ];
}

function note(long: boolean): string {
  return (long
    ? `The long arm: ${LONG_ARM_SCALE}× the profile's pre-training epochs, read by two co-primary metrics on ` +
      "the frozen encoder: linear-probe top-1 and k-NN top-1 (k = 20, CLS token); Holm's correction runs over " +
      "both metrics' claims. "
    : "The table arm: the profile's pre-training, read by fine-tuning (k-NN and linear-probe top-1 of each " +
      "encoder beside, not judged). ") +
    "A table of this suite's own: no paper numbers. It separates three explanations of a null result — the " +
    "teacher does not localise objects (GPA ≈ centre ≈ mean map, oracle > MAE), the pre-training is too " +
    "short for masks to matter (every masked row ≈ MAE, MAE ≈ random init), or object-aware masking gives " +
    "nothing at this scale (oracle ≈ MAE with pre-training clearly above random init).";
}

/** The table arm: the profile's pre-training, fine-tuned. */
export function plan(profile: Profile): TablePlan {
  return {
    id: "teachers",
    title: "What the teacher must know — mask sources from a centre prior to an oracle box (fine-tuning)",
    own: {
      baseline: "mae",
      claims: ladderClaims("finetune", "tt"),
      note: note(false),
      discuss: (v, readings) =>
        [
          ladderDiscussion(v, "tt"),
          // The same encoders read directly (beside fine-tuning, not judged): their paired intervals.
          ...(["linprobe", "knn"] as const).filter((m) => readings?.[m]?.length).map((m) =>
            ladderDiscussion(readings![m], "tt", `${SIDE_NAMES[m]}, beside (not judged)`, { short: true })
          ),
        ].join(" "),
    },
    fileNotes: [{ file: "figures/gpa_recall.json", note: mapSourcesNote }],
    metric: { key: "finetune", label: "fine-tune top-1", evaluation: "finetune" },
    sideMetrics: ["knn", "linprobe"],
    rows: rows(),
    deviations: deviations(profile, false),
  };
}

/** The long arm: 4× the pre-training, read by a linear probe and k-NN (co-primary). */
export function planLong(profile: Profile): TablePlan {
  return {
    id: "teachers-long",
    title: `What the teacher must know — ${LONG_ARM_SCALE}× pre-training, read by linear probe and k-NN`,
    own: {
      baseline: "mae",
      claims: [...ladderClaims("linprobe", "tl", "linear probe"), ...ladderClaims("knn", "tlk", "k-NN")],
      note: note(true),
      discuss: (v) =>
        `${ladderDiscussion(v, "tl", "linear probe", { long: true })} ${
          ladderDiscussion(v, "tlk", "k-NN", { short: true })
        }`,
    },
    fileNotes: [{ file: "figures/gpa_recall.json", note: mapSourcesNote }],
    metric: { key: "linprobe", label: "linear-probe top-1", evaluation: "linprobe" },
    sideMetrics: ["knn"],
    rows: rows(LONG_ARM_SCALE),
    deviations: deviations(profile, true),
  };
}

/**
 * The ladder's mask sources on held-out images, from `gpa-recall`'s JSON (`positionVsContent`): each source's
 * recall of the object's patches and how much of its map is position (correlation with its mean map, top-k
 * overlap with the mean's top-k, against chance k / L). Null when the file predates those measures.
 */
export function mapSourcesNote(json: unknown): string | null {
  const r = json as {
    images?: number;
    positionVsContent?: {
      source: string;
      k: number;
      recall: number;
      correlationWithMean: number;
      topKOverlapWithMean: number;
      chance: number;
    }[];
  };
  const m = r?.positionVsContent;
  if (!Array.isArray(m) || m.length === 0) return null;
  const ks = [...new Set(m.map((x) => x.k))];
  const parts = ks.map((k) => {
    const at = m.filter((x) => x.k === k);
    return `top-${k} (chance ${at[0].chance.toFixed(2)}): ` +
      at.map((x) =>
        `${x.source} recall ${x.recall.toFixed(3)}, correlation with its mean map ${
          x.correlationWithMean.toFixed(2)
        }, top-k overlap with it ${x.topKOverlapWithMean.toFixed(2)}`
      ).join("; ");
  });
  return `Mask sources on ${r.images ?? "the"} held-out images (figures/gpa_recall.json, \`gpa-recall\`): ` +
    `${parts.join(". ")}. A map that is pure position has correlation 1 and overlap 1.`;
}

const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(2)}`;
const interval = (v: Verdict) => `${signed(v.delta)} [${signed(v.ci![0])}, ${signed(v.ci![1])}]`;

/**
 * The discussion under the ladder's report, written from its verdicts (numbers never typed): what
 * pre-training is worth, what a perfect teacher (the oracle box) adds, whether the shipped teacher's content
 * matters, and which of the three explanations of a null result the intervals support — read at 95 %, each
 * bound stated, with what the seeds could detect (the MDE at 80 % power).
 */
export function ladderDiscussion(
  verdicts: readonly Verdict[],
  arm: string,
  reading?: string,
  options: { short?: boolean; long?: boolean } = {},
): string {
  const v = (id: string) => verdicts.find((x) => x.claimId === `${arm}-${id}`);
  const pre = v("mae-beats-random"), oracle = v("oracle-beats-mae"), gpaMean = v("gpa-beats-mean");
  const gpaCentre = v("gpa-beats-centre"), gpaMae = v("gpa-beats-mae");
  const by = reading ? ` (${reading})` : "";
  const missing = [pre, oracle].some((x) => !x?.ci);
  if (options.short) {
    // A second reading of the same encoders: its intervals, for the reader to set beside the first.
    const parts = [
      ["MAE − random init", pre],
      ["oracle − MAE", oracle],
      ["GPA − mean map", gpaMean],
      ["GPA − centre prior", gpaCentre],
      ["GPA − MAE", gpaMae],
    ].filter(([, x]) => (x as Verdict | undefined)?.ci)
      .map(([name, x]) => {
        const v = x as Verdict;
        // The oracle's upper bound as a share of what pre-training is worth on this same reading.
        const bound = v === oracle && pre?.ci && pre.delta > 0
          ? ` (at most ${Math.round((100 * v.ci![1]) / pre.delta)} % of pre-training's gain on this reading)`
          : "";
        return `${name} ${interval(v)}${bound}`;
      });
    return parts.length
      ? `Read by ${reading ?? arm}: ${parts.join("; ")}.`
      : `Read by ${reading ?? arm}: not enough paired seeds have run.`;
  }
  if (missing) {
    return `${DISCUSSION_PREFIX}${by}: the random-init, MAE and oracle-box rows need at least 2 paired seeds ` +
      "each before an explanation can be picked; not enough have run.";
  }
  const out: string[] = [];
  const gain = pre!.delta;
  const share = (x: number) => gain > 0 ? ` (${Math.round((100 * x) / gain)} % of pre-training's gain)` : "";
  const preHelps = pre!.ci![0] > 0;
  out.push(
    preHelps
      ? `Pre-training is worth ${
        interval(pre!)
      } points over a random initialisation here (an interval that ` +
        "excludes 0 before Holm's correction)."
      : `Pre-training shows no gain over a random initialisation that these seeds detect (${
        interval(pre!)
      }).`,
  );
  const [lo, hi] = oracle!.ci!;
  if (lo > 0) {
    out.push(
      heldByHolm(oracle!)
        ? `Masking the annotated object helps: the oracle box beats MAE by ${interval(oracle!)}${
          share(oracle!.delta)
        }.`
        : `A hint that masking the annotated object helps: oracle − MAE ${interval(oracle!)}${
          share(oracle!.delta)
        }${afterHolm(oracle!)}.`,
    );
    const teacherGets = gpaMae?.ci && gpaMae.ci[0] > 0;
    out.push(
      teacherGets
        ? heldByHolm(gpaMae!)
          ? `The shipped teacher gets a measurable part of it (GPA − MAE ${interval(gpaMae!)}).`
          : `The shipped teacher may get part of it (GPA − MAE ${interval(gpaMae!)}${afterHolm(gpaMae!)}).`
        : "The shipped teacher shows no gain these seeds detect" +
          (gpaMae?.ci ? ` (GPA − MAE ${interval(gpaMae)})` : "") +
          " — consistent with explanation 1, the teacher as the bottleneck: a teacher that localises objects " +
          "would be the next thing to try.",
    );
  } else if (hi < 0) {
    out.push(
      `Masking the annotated object hurts at this scale: oracle − MAE ${interval(oracle!)}; the mechanism ` +
        '"mask the patches that matter" does not hold here.',
    );
  } else {
    out.push(
      `Even a perfect teacher gives no gain these seeds detect: oracle − MAE ${interval(oracle!)}, at most ` +
        `${signed(hi)} points${share(hi)} at 95 % (MDE at 80 % power ${oracle!.mde.toFixed(2)}).`,
    );
    const wide = preHelps && hi >= gain / 2;
    out.push(
      wide
        ? "That bound is too wide to tell the explanations apart: an oracle gain of half or more of what " +
          "pre-training itself is worth is not ruled out. More seeds (or the long arm) are the next step."
        : preHelps
        ? "With pre-training measurably above random init, this is consistent with explanation 3: object-aware " +
          "masking gives no gain at this scale beyond the bound above, so a better teacher could gain at most " +
          "that much here."
        : options.long
        ? `With pre-training itself not measurably above random init even at ${LONG_ARM_SCALE}× the epochs, ` +
          "this is consistent with explanation 2: the pre-training is too short for any masking strategy to " +
          "matter at this scale."
        : "With pre-training itself not measurably above random init, this is consistent with explanation 2: " +
          "the pre-training is too short for any masking strategy to matter (see the long arm).",
    );
  }
  if (gpaMean?.ci) {
    out.push(
      `Content versus position: GPA − its own mean map ${interval(gpaMean)}` +
        (gpaCentre?.ci ? `, GPA − centre prior ${interval(gpaCentre)}` : "") +
        (gpaMean.ci[0] > 0
          ? !heldByHolm(gpaMean)
            ? " — a hint that the teacher's per-image content adds something beyond its positional prior: the " +
              "interval excludes 0, but not after Holm's correction over the table's claims, so it is not " +
              "established by these seeds."
            : " — the teacher's per-image content adds something beyond its positional prior."
          : " — no measurable value of the teacher's per-image content beyond its positional prior."),
    );
  }
  return `${DISCUSSION_PREFIX}${by} (written from the verdicts above; unadjusted 95 % paired intervals, ` +
    `Holm's outcomes are in the verdict table): ${out.join(" ")}`;
}

/** Whether a claim's outcome survives Holm's correction (true where no correction was recorded). */
function heldByHolm(v: Verdict): boolean {
  return !v.holm || v.holm.outcome !== "inconclusive";
}

/** ", not after Holm's correction" where a claim's interval excludes 0 but its Holm outcome does not hold. */
function afterHolm(v: Verdict): string {
  return v.holm && v.holm.outcome === "inconclusive"
    ? " (before Holm's correction over the table's claims; after it, inconclusive)"
    : "";
}

/** How the discussion names a side reading. */
const SIDE_NAMES = { linprobe: "linear probe", knn: "k-NN" } as const;

/** The table arm. */
export const teachers: TableModule = { id: "teachers", plan };
/** The long arm. */
export const teachersLong: TableModule = { id: "teachers-long", plan: planLong };
