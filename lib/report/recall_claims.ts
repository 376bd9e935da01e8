/**
 * The paper's claims about where GPA's patches fall, judged on held-out annotated images (the data of
 * `gpa-recall` and Figure 4): §1 / Figure 1 — GPA finds the object's patches better than CLS-to-patch
 * attention and better than HPM's predicted reconstruction loss; Figure 4 — recall rises with depth (the last
 * block's heads above the first block's). Each is a paired comparison over the same images (image i of one
 * source against image i of the other), so the verdict machinery of `verdict.ts` applies with images in the
 * place of seeds; Holm's correction runs over these claims. A source with no maps (HPM needs a trained HPM
 * run) leaves its claim "not run", never "not reproduced".
 * @module
 */
import { holmVerdicts, judgeClaim, type Verdict } from "./verdict.ts";

/** The mask sources compared: the teacher's GPA (selected head), its CLS-to-patch attention, HPM's predictor. */
export type RecallSource = "gpa" | "cls-attention" | "hpm-loss";

/** Per-image recalls of one top-k share, every array over the same images in the same order. */
export interface RecallClaimsInput {
  /** Recall of each source's top-k patches against the object's patches, per image (absent: not run). */
  perImage: Partial<Record<RecallSource, readonly number[]>>;
  /** Per block (first to last), each image's recall averaged over the block's heads. */
  perBlock?: readonly (readonly number[])[];
}

/** The claims, in report order. */
export const RECALL_CLAIMS = [
  {
    kind: "greater" as const,
    id: "fig1-gpa-beats-cls-attention",
    text: "GPA's top patches cover the object better than CLS-to-patch attention's (recall against boxes)",
    metric: "recall",
    a: "gpa",
    b: "cls-attention",
    source: "§1, Figure 1(b)",
  },
  {
    kind: "greater" as const,
    id: "fig1-gpa-beats-hpm-loss",
    text: "GPA's top patches cover the object better than HPM's highest predicted reconstruction losses",
    metric: "recall",
    a: "gpa",
    b: "hpm-loss",
    source: "§1, Figure 1(a)",
  },
  {
    kind: "greater" as const,
    id: "fig4-recall-rises-with-depth",
    text: "Recall rises with depth: the last block's heads find the object better than the first block's",
    metric: "recall",
    a: "last-block",
    b: "first-block",
    source: "§3.4, Figure 4",
  },
];

/** Verdicts on the recall claims (paired over images, Holm over the claims). */
export function recallClaims(input: RecallClaimsInput): Verdict[] {
  const results: Record<string, number[]> = {};
  for (const [source, values] of Object.entries(input.perImage)) if (values) results[source] = [...values];
  const blocks = input.perBlock ?? [];
  if (blocks.length >= 2) {
    results["first-block"] = [...blocks[0]];
    results["last-block"] = [...blocks[blocks.length - 1]];
  }
  const images = Object.fromEntries(
    Object.entries(results).map(([k, v]) => [k, v.map((_, i) => i)]),
  );
  const verdicts = RECALL_CLAIMS.map((claim) =>
    judgeClaim(claim, results, { seeds: images, paired: true, paperEffect: null })
  );
  // Recall by block, as a detail of the depth claim: does it rise at every step?
  const means = blocks.map((b) => b.reduce((s, x) => s + x, 0) / Math.max(1, b.length));
  const monotone = means.every((m, i) => i === 0 || m >= means[i - 1]);
  // The pairs are images, not seeds: say so where the shared wording says "per seed".
  const perImage = (text: string) =>
    text.replace("per-seed differences", "per-image differences").replace(
      "paired per seed",
      "paired per image",
    );
  return holmVerdicts(verdicts).map((v) => ({ ...v, detail: perImage(v.detail), rule: perImage(v.rule) }))
    .map((v) =>
      v.claimId === "fig4-recall-rises-with-depth" && means.length >= 2
        ? {
          ...v,
          detail: `${v.detail}; block means ${means.map((m) => m.toFixed(3)).join(" → ")}` +
            ` (${monotone ? "rising at every block" : "not rising at every block"})`,
        }
        : v
    );
}
