/**
 * Figures of the paper from this profile's teacher: Figure 2 (val images, their GPA maps and the top-75 %
 * hard mask), Figure 4 (few-shot recall per block × head, the selected head outlined) and Figure 5 (GPA on
 * CamVid scenes, the unseen-dataset stand-in for COCO). PNGs rendered with sharp.
 * @module
 */
import { centerBatch } from "../lib/data/augment.ts";
import { loadDataset } from "../lib/data/mod.ts";
import type { ImageSplit } from "../lib/data/types.ts";
import { atomicWriteFile, ensureDir } from "../lib/fsutil.ts";
import { headLabel, recallMatrix, topKRecall } from "../lib/head_selection.ts";
import { maskedCount } from "../lib/masking/types.ts";
import { topKPerRow } from "../lib/masking/select.ts";
import { heatmapPng, imageGridPng, maskOverlay } from "../lib/plot/mod.ts";
import { profileData, type RunContext } from "./runner.ts";
import { annotatedSample, ensureTeacher } from "./teacher.ts";
import { GpaMapCache, splitMaps, type Teacher } from "../lib/gpa.ts";
import { meanMapOf, positionVsContent } from "../lib/gpa_math.ts";
import { boxInView, boxMap, centreMap } from "../lib/masking/control_maps.ts";
import type { CropParams } from "../lib/data/augment.ts";
import { ensureMeanMap } from "./controls.ts";
import { mean, meanConfidenceInterval, sampleStd } from "../lib/report/stats.ts";
import { recallClaims } from "../lib/report/recall_claims.ts";
import type { Verdict } from "../lib/report/verdict.ts";
import { Rng } from "../lib/rng.ts";
import { gridOf } from "../lib/vit.ts";
import type { HpmPredictor } from "./hpm_maps.ts";

function rgbOf(split: ImageSplit, index: number, size: number): Uint8Array {
  // Nearest resize of the stored image to the model's input size (figures only).
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const sy = Math.floor((y * split.height) / size);
      const sx = Math.floor((x * split.width) / size);
      const src = ((index * split.height + sy) * split.width + sx) * 3;
      out.set(split.images.subarray(src, src + 3), (y * size + x) * 3);
    }
  }
  return out;
}

async function mapsFigure(
  teacher: Teacher,
  split: ImageSplit,
  count: number,
  maskRatio: number,
  title: string,
) {
  const cfg = teacher.cfg;
  const g = gridOf(cfg);
  const n = Math.min(count, split.count);
  const indices = Int32Array.from({ length: n }, (_, i) => Math.floor((i * split.count) / n));
  const maps = await teacher.maps(centerBatch(split, indices, cfg.imageSize), n);
  const k = maskedCount(g.count, maskRatio);
  const top = topKPerRow(maps, n, g.count, k);
  const tiles = [];
  const labels = [];
  for (let i = 0; i < n; i++) {
    const rgb = rgbOf(split, indices[i], cfg.imageSize);
    const mask = new Uint8Array(g.count);
    for (let j = 0; j < k; j++) mask[top[i * k + j]] = 1;
    tiles.push({ rgb, height: cfg.imageSize, width: cfg.imageSize });
    tiles.push({ map: maps.subarray(i * g.count, (i + 1) * g.count), height: g.rows, width: g.cols });
    tiles.push({
      rgb: maskOverlay(rgb, cfg.imageSize, cfg.imageSize, mask, g.rows),
      height: cfg.imageSize,
      width: cfg.imageSize,
    });
    labels.push("image", "GPA", `top ${Math.round(maskRatio * 100)}%`);
  }
  const head = headLabel(teacher.head);
  return await imageGridPng({
    tiles,
    columns: 6,
    scale: Math.max(1, Math.round(96 / cfg.imageSize)),
    labels,
    title: `${title}: ${split.name}, the teacher's GPA (${head}) and its top-${
      Math.round(maskRatio * 100)
    }% mask`,
    colorbar: {
      colormap: "viridis",
      low: "low",
      high: "high",
      label: `GPA, min–max scaled per image; grey = the top-${
        Math.round(maskRatio * 100)
      }% patches (hard mask)`,
    },
  });
}

/** Renders the figures into `<reportsDir>/<profile>/figures/`; returns name → path. */
export async function renderFigures(ctx: RunContext, reportsDir: string): Promise<Record<string, string>> {
  const dir = `${reportsDir}/${ctx.profile.name}/figures`;
  await ensureDir(dir);
  const out: Record<string, string> = {};
  const teacher = await ensureTeacher(ctx, ctx.profile.gpa.teacher);
  const { val } = await profileData(ctx);
  const ratio = ctx.profile.pretrain.maskRatio;

  // Figure 2: val images, GPA maps of the selected head, top-75 % hard masks.
  await atomicWriteFile(`${dir}/figure2.png`, await mapsFigure(teacher, val, 8, ratio, "Figure 2"));
  out.figure2 = `${dir}/figure2.png`;

  // Figure 4: recall of each head's top-|mask| patches on held-out annotated val images.
  const recall = await gpaRecall(ctx, teacher);
  await atomicWriteFile(`${dir}/figure4.png`, recall.png);
  out.figure4 = `${dir}/figure4.png`;

  // Figure 5: GPA on CamVid scenes (a dataset the teacher never saw).
  try {
    const camvid = await loadDataset({
      name: "camvid",
      resolution: ctx.profile.model.imageSize,
      // All val scenes, so that the figure spreads over the sequences instead of showing consecutive frames.
      trainLimit: 1,
    }, {
      cacheDir: ctx.cacheDir,
      dataDir: ctx.dataDir,
      log: ctx.log,
    });
    await atomicWriteFile(`${dir}/figure5.png`, await mapsFigure(teacher, camvid.val, 6, ratio, "Figure 5"));
    out.figure5 = `${dir}/figure5.png`;
  } catch (e) {
    out.figure5 = `not rendered: ${e instanceof Error ? e.message : e}`;
  }
  teacher.dispose();
  return out;
}

/** The selected head's recall at one top-k share, against random patches and the centre prior. */
export interface RecallAtShare {
  /** Share of the patches taken (top-k, k = share · L rounded as masks are). */
  share: number;
  k: number;
  recall: number;
  recallStdErr: number;
  randomRecall: number;
  centerRecall: number;
  centerStdErr: number;
  /** Mean per-image recall difference head − centre prior, and its paired 95 % interval. */
  minusCenter: number;
  minusCenterCi: [number, number];
  verdict: "beats the centre prior" | "ties the centre prior" | "below the centre prior";
}

/** Result of `gpaRecall`: the JSON of `main.ts gpa-recall` plus the heatmap. */
export interface GpaRecallResult {
  teacher: Record<string, unknown>;
  selectedHead: string;
  /** Recall of the selected head's top-|mask| GPA patches against the objects (held-out images). */
  recall: number;
  /** Expected recall of the same number of random patches (k / L). */
  randomRecall: number;
  recallRatio: number;
  /** Standard error of the selected head's mean recall over the images (per-image spread / √n). */
  recallStdErr: number;
  /** (recall − randomRecall) / recallStdErr: how many standard errors the head is above random patches. */
  zScore: number;
  /** The held-out best head (for contrast with the few-shot choice) and its recall. */
  bestHead: string;
  bestRecall: number;
  /**
   * Recall of the k patches nearest the image centre: a GPA-free control for the centre bias of photos
   * (Tiny-ImageNet objects are mostly centred), so a head is only informative if it also beats this.
   */
  centerRecall: number;
  /** The selected head vs random and the centre prior at the profile's share and at top-25 %. */
  shares: RecallAtShare[];
  images: number;
  maskRatio: number;
  /** `[blocks][heads + 1]` recall (last column: all heads summed). */
  matrix: number[][];
  /** How closely cached maps (one pass per image, cropped like the view) track per-step maps. */
  cachedMapAgreement: { spearman: number; topKOverlap: number; views: number };
  /** The teacher ladder's mask sources on the same images: recall, and how much of each map is position. */
  positionVsContent: MapSourceMeasures[];
  /** Recall of the teacher's CLS-to-patch attention (last block, heads averaged) at the profile's share. */
  clsAttentionRecall: number;
  /** Recall of HPM's highest predicted losses at the profile's share, and the HPM run (null: none given). */
  hpmLoss: { recall: number; run: string } | null;
  /**
   * The paper's claims on these images (§1 / Figure 1: GPA beats CLS attention and HPM's predicted loss;
   * Figure 4: recall rises with depth), paired over images; HPM's is not run without a trained HPM run.
   */
  claims: Verdict[];
  png: Uint8Array;
}

/** `[n, L]` maps of the centre prior (`centreMap`, the same map the `centre` strategy masks with). */
export function centerPriorMaps(cfg: { imageSize: number; patchSize: number }, n: number): Float32Array {
  const map = centreMap(cfg);
  const out = new Float32Array(n * map.length);
  for (let i = 0; i < n; i++) out.set(map, i * map.length);
  return out;
}

/**
 * Evaluates a teacher's GPA against object annotations on held-out images (the val split when it has boxes or
 * masks): recall of every head's top-|mask| patches, the selected head's recall and its ratio to random.
 */
export async function gpaRecall(
  ctx: RunContext,
  teacher: Teacher,
  count = 200,
  options: { hpm?: HpmPredictor } = {},
): Promise<GpaRecallResult> {
  const cfg = ctx.profile.model;
  const hpm = options.hpm;
  if (hpm && (hpm.cfg.imageSize !== cfg.imageSize || hpm.cfg.patchSize !== cfg.patchSize)) {
    throw new RangeError(
      `the HPM run ${hpm.hash} sees ${hpm.cfg.imageSize} px in ${hpm.cfg.patchSize}-px patches; the ` +
        `profile's teacher ${cfg.imageSize} px in ${cfg.patchSize}-px patches`,
    );
  }
  const ratio = ctx.profile.pretrain.maskRatio;
  const { val, train } = await profileData(ctx);
  const split = val.boxes || val.segmentation ? val : train;
  const n = Math.min(count, split.count);
  const { indices, gt } = annotatedSample(split, cfg, n, 1);
  const images = centerBatch(split, indices, cfg.imageSize);
  const L = gridOf(cfg).count;
  const maps = new Map<number, Float32Array>();
  const mapsForBlock = async (block: number) => {
    let m = maps.get(block);
    if (!m) maps.set(block, m = await teacher.allHeads(images, n, block));
    return m;
  };
  const head = teacher.head;
  const col = head.head === -1 ? cfg.heads : head.head;
  // The profile's share (top-75 %) and a strict one (top-25 %), each against random and a centre prior.
  const shares: RecallAtShare[] = [];
  let rm: Awaited<ReturnType<typeof recallMatrix>> | undefined;
  let gpaPerImage: number[] | undefined;
  for (const share of ratio === 0.25 ? [ratio] : [ratio, 0.25]) {
    const m = await recallMatrix({
      mapsForBlock,
      blocks: cfg.depth,
      heads: cfg.heads,
      gt,
      numPatches: L,
      maskRatio: share,
      perImage: true,
    });
    rm ??= m;
    const cell = head.block * m.columns + col;
    const perImage = Array.from(m.perImage!.subarray(cell * n, (cell + 1) * n));
    gpaPerImage ??= perImage;
    const center = Array.from(topKRecall(centerPriorMaps(cfg, n), gt, n, L, m.k));
    shares.push(compareWithCentre(share, m.k, L, perImage, center));
  }
  const main = shares[0];
  // §1 / Figure 1 and Figure 4 as claims: the selected head against CLS attention on the same images, and
  // each block's recall (its heads averaged) from the first block to the last.
  const clsPerImage = Array.from(topKRecall(await teacher.clsAttention(images, n), gt, n, L, rm!.k));
  const perBlock = Array.from({ length: cfg.depth }, (_, b) =>
    Array.from({ length: n }, (_, i) => {
      let sum = 0;
      for (let h = 0; h < cfg.heads; h++) sum += rm!.perImage![(b * rm!.columns + h) * n + i];
      return sum / cfg.heads;
    }));
  // HPM's highest predicted losses, where an HPM run is given (its claim is "not run" otherwise).
  const hpmPerImage = hpm ? Array.from(topKRecall(await hpm.predict(images, n), gt, n, L, rm!.k)) : undefined;
  const claims = recallClaims({
    perImage: {
      gpa: gpaPerImage!,
      "cls-attention": clsPerImage,
      ...(hpmPerImage ? { "hpm-loss": hpmPerImage } : {}),
    },
    perBlock,
  });
  const clsAttentionRecall = mean(clsPerImage);
  const recall = main.recall;
  const randomRecall = main.randomRecall;
  const matrix = Array.from(
    { length: cfg.depth },
    (_, b) => Array.from(rm!.recall.subarray(b * rm!.columns, (b + 1) * rm!.columns)),
  );
  const png = await heatmapPng({
    // Random, the centre prior, CLS attention and HPM are marked on the bar; only a value below the bar's
    // range (random) is named in the title, which must fit the figure's width.
    title: `GPA top-${Math.round(ratio * 100)}% recall, ${n} images` +
      (clsAttentionRecall < randomRecall
        ? `; CLS attention ${clsAttentionRecall.toFixed(2)}, below random`
        : ""),
    rows: cfg.depth,
    cols: rm!.columns,
    values: rm!.recall,
    rowLabels: Array.from({ length: cfg.depth }, (_, b) => `b${b}`),
    colLabels: [...Array.from({ length: cfg.heads }, (_, h) => `h${h}`), "all"].slice(0, rm!.columns),
    rowTitle: "block",
    colTitle: "head",
    highlight: [head.block, col],
    // One fixed scale for every teacher and profile: from the random-patch level (k / L) to perfect recall,
    // with random and the centre prior marked on the bar.
    range: [randomRecall, 1],
    marks: [
      { value: randomRecall, label: "random" },
      { value: main.centerRecall, label: "centre prior" },
      { value: clsAttentionRecall, label: "CLS attention" },
      ...(hpmPerImage ? [{ value: mean(hpmPerImage), label: "HPM loss" }] : []),
    ],
    width: Math.max(640, 90 * rm!.columns + 300),
    height: Math.max(240, 44 * cfg.depth + 110),
  });
  const positionVsContent = await mapSources(ctx, teacher, split, indices, gt, shares.map((x) => x.k));
  const views = Math.min(200, split.count);
  const cache = await GpaMapCache.build(teacher, split);
  const agreement = await cache.agreement(split, views, ratio, new Rng(11));
  return {
    cachedMapAgreement: { ...agreement, views },
    positionVsContent,
    clsAttentionRecall,
    hpmLoss: hpmPerImage ? { recall: mean(hpmPerImage), run: hpm!.hash } : null,
    claims,
    teacher: teacher.describe(),
    selectedHead: headLabel(head),
    recall,
    randomRecall,
    recallRatio: recall / randomRecall,
    recallStdErr: main.recallStdErr,
    zScore: (recall - randomRecall) / main.recallStdErr,
    bestHead: headLabel(rm!.best),
    bestRecall: rm!.best.recall,
    centerRecall: main.centerRecall,
    shares,
    images: n,
    maskRatio: ratio,
    matrix,
    png,
  };
}

/** One mask source of the teacher ladder at one top-k share, on the held-out images of `gpaRecall`. */
export interface MapSourceMeasures {
  source: "gpa" | "mean-map" | "centre" | "oracle-box";
  k: number;
  /** Mean recall of the source's top-k patches against the object's patches. */
  recall: number;
  /** Mean Pearson correlation of each image's map with the source's mean map (1: pure position). */
  correlationWithMean: number;
  /** Mean share of each image's top-k patches inside the mean map's top-k (chance: k / L). */
  topKOverlapWithMean: number;
  chance: number;
}

/**
 * The ladder's mask sources on held-out images, at each top-k: the teacher's GPA (the selected head), its mean
 * map over the training images (what `mean-map` masks with), the centre prior, and the oracle box (centre
 * views): recall against the objects and the position-vs-content measures against each source's own mean.
 * GPA's mean is the training-set mean map; the others' are their means over these images.
 */
async function mapSources(
  ctx: RunContext,
  teacher: Teacher,
  split: ImageSplit,
  indices: Int32Array,
  gt: Uint8Array,
  ks: number[],
): Promise<MapSourceMeasures[]> {
  const cfg = ctx.profile.model;
  const n = indices.length;
  const L = gridOf(cfg).count;
  const { train } = await profileData(ctx);
  const trainMean = (await ensureMeanMap(ctx.cacheDir, teacher, train)).map;
  const tile = (m: Float32Array) => {
    const out = new Float32Array(n * L);
    for (let i = 0; i < n; i++) out.set(m, i * L);
    return out;
  };
  const whole: CropParams = {
    x: 0,
    y: 0,
    w: split.width,
    h: split.height,
    flipped: false,
    sourceWidth: split.width,
    sourceHeight: split.height,
  };
  const boxes = split.boxes
    ? (() => {
      const out = new Float32Array(n * L);
      indices.forEach((id, i) => {
        const b = split.boxes!.subarray(id * 4, id * 4 + 4);
        out.set(boxMap(cfg, boxInView([b[0], b[1], b[2], b[3]], whole, cfg.imageSize)), i * L);
      });
      return out;
    })()
    : undefined;
  const sources: [MapSourceMeasures["source"], Float32Array, Float32Array][] = [
    ["gpa", await splitMaps(teacher, split, indices), trainMean],
    ["mean-map", tile(trainMean), trainMean],
    ["centre", centerPriorMaps(cfg, n), centreMap(cfg)],
  ];
  if (boxes) sources.push(["oracle-box", boxes, meanMapOf(boxes, n, L)]);
  const out: MapSourceMeasures[] = [];
  for (const k of ks) {
    for (const [source, maps, meanMap] of sources) {
      const pvc = positionVsContent(maps, n, L, meanMap, k);
      out.push({
        source,
        k,
        recall: mean(Array.from(topKRecall(maps, gt, n, L, k))),
        correlationWithMean: pvc.correlation,
        topKOverlapWithMean: pvc.topKOverlap,
        chance: pvc.chance,
      });
    }
  }
  return out;
}

/**
 * The selected head against the centre prior at one share, per image (both rank the same images): mean
 * recalls with standard errors, the paired difference with its 95 % interval, and the verdict "beats" (interval
 * above 0), "below" (under 0) or "ties".
 */
export function compareWithCentre(
  share: number,
  k: number,
  L: number,
  head: readonly number[],
  center: readonly number[],
): RecallAtShare {
  const n = head.length;
  const se = (v: readonly number[]) => (n > 1 ? sampleStd(v) / Math.sqrt(n) : NaN);
  const diff = head.map((v, i) => v - center[i]);
  const ci = meanConfidenceInterval(diff);
  return {
    share,
    k,
    recall: mean(head),
    recallStdErr: se(head),
    randomRecall: k / L,
    centerRecall: mean(center),
    centerStdErr: se(center),
    minusCenter: ci.estimate,
    minusCenterCi: [ci.lower, ci.upper],
    verdict: ci.lower > 0
      ? "beats the centre prior"
      : ci.upper < 0
      ? "below the centre prior"
      : "ties the centre prior",
  };
}
