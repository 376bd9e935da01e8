/**
 * What every table module shares: the shape of a table's plan (for every paper row, the pre-training it stands
 * for — strategy, teacher head, shares, mask ratio, schedule — and how it is evaluated, or why it is not run),
 * the helpers that build rows, the deviations every report lists, and the builders of a paper table
 * (`paperTable`) and of a table's plan (`tablePlan`).
 * @module
 */
import type { StrategyRequest } from "../strategy_request.ts";
import type { Claim, PaperColumn, PaperTable, RowGroup, TableId } from "../paper_types.ts";
import type { Verdict } from "../../lib/report/verdict.ts";
import { type Profile, PROFILES } from "../profiles.ts";
import { SEGMENTATION_SETUPS } from "../segmentation.ts";

/**
 * How a row's encoder is evaluated: fine-tuning, a linear probe, segmentation, or k-NN on its frozen features
 * (the k-NN every pre-training run records at its end: no run of its own).
 */
export type Evaluation = "finetune" | "linprobe" | "segment" | "knn";

export { DISCUSSION_PREFIX } from "../../lib/report/report_model.ts";

/** One row: a run recipe, or the reason it is not run. */
export interface TableRowPlan {
  key: string;
  label: string;
  /** Pre-training strategy of the row. */
  request?: StrategyRequest;
  /**
   * No pre-training: the table's evaluation of a randomly initialised encoder (seeded like the other rows'
   * evaluations), the floor that shows what pre-training itself is worth.
   */
  randomInit?: true;
  /** Multiplies the profile's pre-training epochs (e.g. 300 vs 200 epochs → 1.5). */
  epochsScale?: number;
  /** Why the row is not run (method not implemented here, or out of reach at this scale). */
  notRun?: string;
  /**
   * A row of another paper table that a claim of this one reads (Table 4's text compares with Table 3): its
   * runs are that row's own (same request, same hashes) and its paper value is read from that table.
   */
  paperRow?: { table: TableId; key: string };
}

/** A table's plan. */
export interface TablePlan {
  id: string;
  title: string;
  /**
   * Notes written from measurement files beside the report (`reports/<profile>/<file>`, e.g. the teacher's
   * recall JSON that `gpa-recall` writes): each `note` returns a line, or null when the file lacks it.
   */
  fileNotes?: { file: string; note: (json: unknown) => string | null }[];
  /**
   * Tables of this suite's own (not in the paper): their claims and baseline row. Paper tables take both from
   * experiments/paper.ts.
   */
  own?: {
    claims: Claim[];
    baseline: string;
    note: string;
    /**
     * A discussion written from the verdicts (added to the report's notes; begins with `DISCUSSION_PREFIX`);
     * `readings` are the same claims judged on each side metric (lib/report/readings.ts), by metric key.
     */
    discuss?: (
      verdicts: readonly Verdict[],
      readings?: Readonly<Record<string, readonly Verdict[]>>,
    ) => string;
  };
  /**
   * Metric key of the paper module that our runs fill, and how it is produced; `measuredAs` says what stands
   * in for the paper's metric when the data differ (shown beside every claim on it).
   */
  metric: { key: string; label: string; evaluation: Evaluation; measuredAs?: string };
  rows: TableRowPlan[];
  /** Paper metrics of this table that are not reproduced, with the reason. */
  unreproducedMetrics?: Record<string, string>;
  deviations: string[];
  /**
   * Metrics the table measures without seed noise (Table 9: FLOPs and parameters from the cost model), with
   * how each is shown: one value per row, compared exactly.
   */
  exactMetrics?: ExactMetric[];
  /** The paper's figures this table's report links (rendered by `figures` from the profile's teacher). */
  figures?: { title: string; path: string }[];
  /**
   * Deterministic metrics read from each run's recorded metadata (Table 5: the teacher head a row's runs
   * used), compared exactly like `exactMetrics`; a row whose runs disagree, or that did not run, has none.
   */
  recordedMetrics?: RecordedMetric[];
  /**
   * Further measures of every unit, shown beside the main metric with their per-seed values and paired like it
   * (claims may name them): k-NN and the step time cost nothing (every pre-training run records them), a linear
   * probe costs one cached run per unit (on frozen features, a fraction of a fine-tuning).
   */
  sideMetrics?: SideMetric[];
}

/** A measure reported beside a table's main metric. */
export type SideMetric = "knn" | "linprobe" | "stepMs";

/** Key, label and unit of each side metric (its per-unit value lives in the unit's metadata under `metaKey`). */
export const SIDE_METRICS: Record<SideMetric, { label: string; metaKey: string; unit: string }> = {
  knn: { label: "k-NN top-1 (frozen encoder, CLS, k = 20)", metaKey: "knnTop1", unit: "%" },
  linprobe: { label: "linear-probe top-1 (frozen encoder)", metaKey: "linprobeTop1", unit: "%" },
  stepMs: {
    label: "pre-training time per step, measured (median over epochs; with --jobs 2, beside another run)",
    metaKey: "pretrainStepMs",
    unit: "ms",
  },
};

/** A deterministic metric read from the metadata of a row's runs. */
export interface RecordedMetric {
  key: string;
  label: string;
  /** The value of one run (its unit's metadata: the pre-training strategy's identity …), or null. */
  read: (meta: Record<string, unknown>) => number | null;
}

/** A deterministic metric of a table: one value per row, its label, and labels of rows it adds. */
export interface ExactMetric {
  key: string;
  label: string;
  unit?: string;
  /** Row key → the measured value. */
  values: Record<string, number>;
  /** Labels of rows (defaults: the plan's labels). */
  rowLabels?: Record<string, string>;
}

/** A GPA row's request: GPA masking with `o` over the profile's defaults. */
export const gpaRequest = (o: Partial<StrategyRequest> = {}): StrategyRequest => ({ name: "gpa", ...o });

/**
 * The random-init row of a classification table: its evaluation of an encoder that was never pre-trained,
 * so that every report shows what pre-training itself is worth (and each Δ as a share of that gain). Its
 * runs are shared by every table with the same evaluation (same seed, same identity).
 */
export const RANDOM_INIT_ROW: TableRowPlan = {
  key: "random-init",
  label: "random init (no pre-training)",
  randomInit: true,
};
/** The reason a row cannot run: the method it needs is not implemented. */
export const notImplemented = (what: string) => `${what} is not implemented in this suite`;

/**
 * The recipe differences from the paper's that can move results, in words: schedule lengths, batch sizes,
 * learning rates, warm-up, and fine-tuning's regularisers (mixup, cutmix, random erasing, drop path).
 */
export function recipeDeviations(profile: Profile): string[] {
  const p = PROFILES.paper;
  if (profile.name === p.name) return [];
  const pre = profile.pretrain, ft = profile.finetune;
  const out = [
    `pre-training ${pre.epochs} epochs (paper: ${p.pretrain.epochs}), batch ${pre.batchSize} ` +
    `(paper: ${p.pretrain.batchSize}), base lr ${pre.blr} (paper: ${p.pretrain.blr}), warm-up ` +
    `${pre.warmupEpochs} epoch(s) (paper: ${p.pretrain.warmupEpochs})`,
    `fine-tuning ${ft.epochs} epochs (paper: ${p.finetune.epochs}), batch ${ft.batchSize} (paper: ` +
    `${p.finetune.batchSize}), base lr ${ft.blr} (paper: ${p.finetune.blr}), layer decay ${ft.layerDecay} ` +
    `(paper: ${p.finetune.layerDecay}), crop scale ${ft.cropScale[0]}–${ft.cropScale[1]} (paper: ` +
    `${p.finetune.cropScale[0]}–${p.finetune.cropScale[1]})`,
  ];
  const off = [
    ["mixup", ft.mixup, p.finetune.mixup],
    ["cutmix", ft.cutmix, p.finetune.cutmix],
    ["random erasing", ft.reprob, p.finetune.reprob],
    ["drop path", ft.dropPath, p.finetune.dropPath],
  ].filter(([, ours, paper]) => ours !== paper).map(([name, ours, paper]) =>
    `${name} ${ours} (paper: ${paper})`
  );
  if (off.length > 0) out.push(`fine-tuning regularisers: ${off.join(", ")}`);
  return [...out, ...recipeScaleDeviations(profile)];
}

/**
 * Recipe differences a report lists on lines of their own (added after the first reports were written, so a
 * re-judged report can gain them without its other lines changing): RandAugment, the fine-tuning warm-up,
 * the decoder's width against the encoder's, the warm-up's share of pre-training, and what layer decay does
 * at this depth.
 */
export function recipeScaleDeviations(profile: Profile): string[] {
  const p = PROFILES.paper;
  if (profile.name === p.name) return [];
  const pre = profile.pretrain, ft = profile.finetune, m = profile.model, pm = p.model;
  const out: string[] = [];
  if (!pre.decayTokens && p.pretrain.decayTokens) {
    out.push(
      "pre-training exempts cls_token and the decoder's mask_token from weight decay (paper profile: decayed, " +
        "as MAE's and the authors' main_pretrain.py do with timm's add_weight_decay); kept so that this " +
        "profile's recorded runs keep their identity",
    );
  }
  if (ft.randAugment !== p.finetune.randAugment) {
    out.push(
      `fine-tuning RandAugment: ${ft.randAugment ?? "none"} (paper: ${p.finetune.randAugment}, as in MAE's ` +
        "and the authors' main_finetune.py)",
    );
  }
  if (ft.warmupEpochs !== p.finetune.warmupEpochs || ft.epochs !== p.finetune.epochs) {
    out.push(
      `fine-tuning warm-up ${ft.warmupEpochs} of ${ft.epochs} epochs (paper: ${p.finetune.warmupEpochs} of ` +
        `${p.finetune.epochs})`,
    );
  }
  const wide = (dec: number, enc: number) =>
    dec === enc
      ? "as wide as the encoder"
      : dec < enc
      ? "narrower than the encoder"
      : "wider than the encoder";
  if (m.decoderDim / m.dim !== pm.decoderDim / pm.dim || m.decoderDepth !== pm.decoderDepth) {
    out.push(
      `pre-training decoder ${m.decoderDim}-d × ${m.decoderDepth} blocks, ${wide(m.decoderDim, m.dim)} ` +
        `(${m.dim}-d) (paper: ${pm.decoderDim}-d × ${pm.decoderDepth}, ${wide(pm.decoderDim, pm.dim)}, ` +
        `${pm.dim}-d)`,
    );
  }
  const share = (w: number, e: number) => `${+(100 * w / e).toFixed(1)} %`;
  if (pre.warmupEpochs / pre.epochs !== p.pretrain.warmupEpochs / p.pretrain.epochs) {
    out.push(
      `pre-training warm-up is ${
        share(pre.warmupEpochs, pre.epochs)
      } of the schedule (${pre.warmupEpochs} of ` +
        `${pre.epochs} epochs; paper: ${share(p.pretrain.warmupEpochs, p.pretrain.epochs)}, ` +
        `${p.pretrain.warmupEpochs} of ${p.pretrain.epochs})`,
    );
  }
  // MAE's layer decay scales block i's lr by ld^(depth − i) and the patch embedding's by ld^(depth + 1).
  const embed = (ld: number, depth: number) => +(ld ** (depth + 1)).toPrecision(2);
  if (ft.layerDecay ** (m.depth + 1) !== p.finetune.layerDecay ** (pm.depth + 1)) {
    out.push(
      `layer decay ${ft.layerDecay} over ${m.depth} blocks scales the patch embedding's learning rate by ` +
        `${embed(ft.layerDecay, m.depth)} (paper: ${p.finetune.layerDecay} over ${pm.depth} blocks, ` +
        `${embed(p.finetune.layerDecay, pm.depth)}): the decay is not rescaled for the shallower model, so ` +
        "early blocks move far more than in the paper's recipe",
    );
  }
  return out;
}

/** The paper's fine-tune top-1 column (a metric, %, higher is better): most tables report it. */
export const FINETUNE_COLUMN: PaperColumn = {
  key: "finetune",
  label: "fine-tune top-1",
  type: "number",
  metric: true,
  unit: "%",
  higherIsBetter: true,
};

/** The paper's linear-probe top-1 column. */
export const LINPROBE_COLUMN: PaperColumn = {
  ...FINETUNE_COLUMN,
  key: "linprobe",
  label: "linear-probe top-1",
};

/** A single group spanning every row, with one baseline (the tables without sub-groups). */
export function oneGroup(rows: string[], baseline: string): RowGroup[] {
  return [{ key: "all", label: "all", rows, baseline }];
}

/**
 * A segmentation table's metric and rows as the profile can run them: the paper's ADE20K mIoU, measured on
 * the profile's segmentation data; where the profile has no runnable segmentation data (the paper profile:
 * ADE20K is not wired in), every row is marked not run with the reason, so neither `plan` nor `table`
 * pre-trains encoders that could not be evaluated.
 */
export function segmentationPlan(profile: Profile, rows: TableRowPlan[]): Pick<TablePlan, "metric" | "rows"> {
  const segData = segmentationDataName(profile);
  const metric: TablePlan["metric"] = {
    key: "miou",
    label: `segmentation mIoU (${segData} for ADE20K)`,
    evaluation: "segment",
    measuredAs: `measured here as ${segData} mIoU`,
  };
  const setup = SEGMENTATION_SETUPS[profile.name];
  if (setup?.dataset) return { metric, rows };
  const reason = `no runnable segmentation data for profile '${profile.name}'` +
    (setup ? `: ${setup.description}` : "");
  return { metric, rows: rows.map((r) => (r.notRun ? r : { ...r, notRun: reason })) };
}

/** How plans name the profile's segmentation data (the stand-in for ADE20K). */
function segmentationDataName(profile: Profile): string {
  const segSet = SEGMENTATION_SETUPS[profile.name]?.dataset?.name;
  return segSet === "camvid"
    ? "CamVid"
    : segSet === "synthetic"
    ? "synthetic shapes"
    : "no segmentation data";
}

/** A plan's fine-tuning metric: the paper's fine-tune top-1, produced by fine-tuning each encoder. */
export const FINETUNE_METRIC: TablePlan["metric"] = {
  key: "finetune",
  label: "fine-tune top-1",
  evaluation: "finetune",
};

/** One table: the paper's numbers and claims, and the runs that reproduce its rows at a profile's scale. */
export interface TableModule {
  id: string;
  /** The paper's rows, columns and claims (absent for the suite's own tables, whose plan carries claims). */
  paper?: PaperTable;
  plan(profile: Profile): TablePlan;
}

/** What the plans of one profile share: its model's shape, GPA defaults, segmentation data, deviations. */
export function planContext(profile: Profile) {
  const { depth, heads } = profile.model;
  const def = profile.gpa;
  const segData = segmentationDataName(profile);
  const scaleNote =
    `${profile.dataset.name}${
      profile.dataset.classes ? ` (first ${profile.dataset.classes} classes)` : ""
    } at ` +
    `${profile.dataset.resolution} px with ViT ${profile.model.dim}-d × ${depth} (patch ` +
    `${profile.model.patchSize}) instead of ImageNet-1K at 224 px with ViT-B/16`;
  const t = def.teacher;
  const teacherNote = t.weightsPath
    ? `teacher: the timm/MAE weights file ${t.weightsPath.split("/").pop()} (identified by its SHA-256)` +
      (t.weightsPath.includes("/zoo/")
        ? ` — this profile's own MAE trained ${
          t.teacherEpochs ?? "?"
        } epochs, shipped in zoo/ (the paper's is the ` +
          "MAE authors' 1600-epoch ViT-B/16)"
        : "") +
      `; head by ${"shots" in t.head ? `${t.head.shots}-shot selection` : "explicit choice"}`
    : `teacher: this profile's MAE baseline (seed ${t.teacherSeed}, ${
      t.teacherEpochs === undefined || t.teacherEpochs === profile.pretrain.epochs
        ? "same schedule"
        : `${t.teacherEpochs} epochs`
    }) instead of the MAE authors' 1600-epoch ViT-B/16; head by ${
      "shots" in t.head ? `${t.head.shots}-shot selection` : "explicit choice"
    }`;
  const common = [scaleNote, ...recipeDeviations(profile), teacherNote];
  const withTeacherHead = (head: { block: number; head: number } | { shots: number }) =>
    gpaRequest({ teacher: { ...def.teacher, head } });
  return { depth, heads, def, segData, common, withTeacherHead };
}

/** What the plans of one profile share (`planContext`'s result), handed to every table's plan builder. */
export type PlanContext = ReturnType<typeof planContext>;

/** A table's plan without its id and title, which `tablePlan` adds. */
export type PlanBody = Omit<TablePlan, "id" | "title">;

/**
 * A table's `plan`: the rows, metric and deviations that `build` writes from the profile's shared context,
 * under the table's id and title — so that a table module states only what its own plan adds.
 */
export function tablePlan(
  id: string,
  title: string,
  build: (ctx: PlanContext, profile: Profile) => PlanBody,
): (profile: Profile) => TablePlan {
  return (profile) => ({ id, title, ...build(planContext(profile), profile) });
}

/** The numbers of the paper's tables (Table N has the id `tableN`). */
export type TableNumber = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

/** Paper table `number` with its id `table<number>` derived from the number, so the two cannot disagree. */
export function paperTable(number: TableNumber, table: Omit<PaperTable, "id" | "number">): PaperTable {
  return { id: `table${number}`, number, ...table };
}
