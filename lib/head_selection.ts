/**
 * Few-shot attention selection (paper Sec. 3.4, Table 5, Figure 4): which (block, head) of the teacher
 * gives the GPA map used for masking.
 *
 * A few annotated images give ground-truth object patches M_gt (`groundTruthPatches`). For every head of
 * every block, the head's mask M_h = the top-|mask| patches of its GPA map, |mask| = `maskedCount(L,
 * maskRatio)` (the paper says argsort(GPA); the number kept is the masked count of the run). Its recall is
 * |M_h ∩ M_gt| / |M_gt| per image, averaged over the images (`recallMatrix`); the k-shot choice is the
 * argmax over k images of a train split drawn from a seed (`selectHead`). Recall at a loose mask (75 %)
 * ties often with few images (a noise head masks all of a small object with probability ≈ 0.75^|M_gt|), so
 * ties in mean recall are broken by the mean R-precision (recall of the top-|M_gt| patches, `rPrecision`),
 * then by block-major order (first wins); the paper does not say how it breaks ties. The fixed choices of Table 5 are
 * "first" (b0h0), "last" (the last block's last head) and "all" (the last block, all heads summed;
 * head = −1).
 *
 * Labels: "b9h11" = block 9, head 11, 0-based; "b11h-1" = block 11, all heads summed.
 * @module
 */
import { maskedCount } from "./masking/types.ts";
import { topKPerRow } from "./masking/select.ts";
import { Rng } from "./rng.ts";

/** A teacher attention head: block and head, 0-based; head −1 = all heads of the block summed. */
export interface HeadRef {
  block: number;
  head: number;
}

/** A selected head, with its few-shot recall when it was chosen by recall. */
/** A selected head with the recall it was selected by. */
export interface SelectedHead extends HeadRef {
  recall?: number;
}

/** Options of `groundTruthPatches` / `patchCoverage`. Give exactly one of `box` and `mask`. */
export interface GroundTruthOptions {
  /**
   * Object box `[x0, y0, x1, y1]` in pixels of the (square, resized) image: the continuous region
   * x0 ≤ x ≤ x1 (columns), y0 ≤ y ≤ y1 (rows), e.g. [0, 0, 16, 16] is exactly the first 16×16 patch.
   */
  box?: readonly [number, number, number, number];
  /** Object mask `[H, W]` = `[imageSize, imageSize]`, row-major, nonzero = object pixel. */
  mask?: Uint8Array;
  /** Side of the square image in pixels. */
  imageSize: number;
  /** Side of a square patch in pixels; must divide `imageSize`. */
  patchSize: number;
  /** Least fraction of a patch's area the object must cover. Default 0.5. */
  minOverlap?: number;
}

/**
 * Fraction of each patch's area covered by the object, `[L]` (L = (imageSize / patchSize)², row-major).
 * Throws a RangeError on bad geometry or when neither or both of `box` and `mask` are given.
 */
export function patchCoverage(opts: GroundTruthOptions): Float64Array {
  const { imageSize, patchSize, box, mask } = opts;
  if (!(Number.isInteger(imageSize) && Number.isInteger(patchSize) && patchSize >= 1 && imageSize >= 1)) {
    throw new RangeError(`imageSize and patchSize must be positive integers, got ${imageSize}, ${patchSize}`);
  }
  if (imageSize % patchSize !== 0) {
    throw new RangeError(`patchSize ${patchSize} does not divide imageSize ${imageSize}`);
  }
  if ((box === undefined) === (mask === undefined)) {
    throw new RangeError("give exactly one of box and mask");
  }
  const g = imageSize / patchSize;
  const coverage = new Float64Array(g * g);
  const area = patchSize * patchSize;
  if (box !== undefined) {
    if (box.length !== 4 || !box.every(Number.isFinite)) {
      throw new RangeError(`box must be 4 finite numbers [x0, y0, x1, y1], got ${JSON.stringify(box)}`);
    }
    const [x0, y0, x1, y1] = box;
    if (!(x1 >= x0 && y1 >= y0)) {
      throw new RangeError(`box needs x0 ≤ x1 and y0 ≤ y1, got [${box.join(", ")}]`);
    }
    const overlap = (lo: number, hi: number, start: number) =>
      Math.max(0, Math.min(hi, start + patchSize) - Math.max(lo, start));
    for (let r = 0; r < g; r++) {
      const oy = overlap(y0, y1, r * patchSize);
      for (let c = 0; c < g; c++) coverage[r * g + c] = (oy * overlap(x0, x1, c * patchSize)) / area;
    }
  } else {
    if (mask!.length !== imageSize * imageSize) {
      throw new RangeError(`mask has length ${mask!.length}, expected imageSize² = ${imageSize * imageSize}`);
    }
    for (let y = 0; y < imageSize; y++) {
      const rowBase = Math.floor(y / patchSize) * g;
      for (let x = 0; x < imageSize; x++) {
        if (mask![y * imageSize + x] !== 0) coverage[rowBase + Math.floor(x / patchSize)] += 1;
      }
    }
    for (let i = 0; i < coverage.length; i++) coverage[i] /= area;
  }
  return coverage;
}

/**
 * Ground-truth object patches `[L]` (1 = object): the patches whose area the object covers by at least
 * `minOverlap` (default 0.5). When no patch reaches it (an object smaller than half a patch, or one split
 * across patches), the single patch with the largest coverage is taken (ties: lowest index), so that every
 * annotated image has at least one ground-truth patch. Throws a RangeError when the object covers nothing.
 */
export function groundTruthPatches(opts: GroundTruthOptions): Uint8Array {
  const minOverlap = opts.minOverlap ?? 0.5;
  if (!(minOverlap > 0 && minOverlap <= 1)) {
    throw new RangeError(`minOverlap must be in (0, 1], got ${minOverlap}`);
  }
  const coverage = patchCoverage(opts);
  const gt = new Uint8Array(coverage.length);
  let best = 0;
  let count = 0;
  for (let i = 0; i < coverage.length; i++) {
    if (coverage[i] >= minOverlap - 1e-12) {
      gt[i] = 1;
      count++;
    }
    if (coverage[i] > coverage[best]) best = i;
  }
  if (count === 0) {
    if (!(coverage[best] > 0)) throw new RangeError("the object covers no patch of the image");
    gt[best] = 1;
  }
  return gt;
}

/** GPA maps of one (block, head) for the listed images, `[n, L]` in the order of `images`; head −1 = all. */
export type HeadMapSource = (
  block: number,
  head: number,
  images: Int32Array,
) => Float32Array | Promise<Float32Array>;

/**
 * GPA maps of all heads of one block for the listed images (one teacher forward pass), `[C, n, L]` with
 * C = heads, plus a last slice for all heads summed (head −1) when the recall matrix includes it.
 */
export type BlockMapSource = (block: number, images: Int32Array) => Float32Array | Promise<Float32Array>;

/** Options of `recallMatrix`. Give exactly one of `maps` and `mapsForBlock`. */
export interface RecallMatrixOptions {
  /** Maps per (block, head). */
  maps?: HeadMapSource;
  /** Maps per block, all heads at once (preferred: one forward pass per block). */
  mapsForBlock?: BlockMapSource;
  /** Number of blocks (depth) and heads per block of the teacher. */
  blocks: number;
  heads: number;
  /** Ground-truth patches of the annotated images, `[N, L]`. */
  gt: Uint8Array;
  /** L, patches per image. */
  numPatches: number;
  /** Mask ratio that sets |M_h| = maskedCount(L, maskRatio). Default 0.75. */
  maskRatio?: number;
  /** Add a column for all heads summed (head −1). Default true. */
  includeAllHeads?: boolean;
  /** Let the all-heads column compete in `best`. Default false (the paper ranks single heads). */
  allHeadsCanWin?: boolean;
  /** Rows of `gt` to use (the images the sources are asked for). Default: all N. */
  images?: Int32Array;
  /** Also return every image's recall. Default false. */
  perImage?: boolean;
}

/** Few-shot recall of every (block, head). */
export interface RecallMatrix {
  /** `[blocks, columns]` mean recall; column `heads` (if present) = all heads summed. */
  recall: Float32Array;
  /** heads + 1 with the all-heads column, else heads. */
  columns: number;
  /** `[blocks, columns]` mean R-precision, the tie-break of `best`. */
  rPrecision: Float32Array;
  /** Highest mean recall (ties: higher mean R-precision, then first in block-major order). */
  best: SelectedHead & { recall: number; rPrecision: number };
  /** Images used (rows of `gt`). */
  images: Int32Array;
  /** |M_h|, patches per head mask. */
  k: number;
  /** `[blocks, columns, n]` per-image recall, with `perImage: true`. */
  perImage?: Float32Array;
}

/**
 * Recall of the top-`k` patches of each map row against the ground truth: `[n]` with
 * |top_k(map_i) ∩ gt_i| / |gt_i|. `map` and `gt` are `[n, L]`; ties in the map go to the lower index.
 */
export function topKRecall(map: Float32Array, gt: Uint8Array, n: number, L: number, k: number): Float64Array {
  if (gt.length !== n * L) throw new RangeError(`gt has length ${gt.length}, expected n·L = ${n * L}`);
  const top = topKPerRow(map, n, L, k);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let positives = 0;
    for (let j = 0; j < L; j++) positives += gt[i * L + j] === 0 ? 0 : 1;
    if (positives === 0) throw new RangeError(`image ${i} has no ground-truth patch`);
    let hits = 0;
    for (let r = 0; r < k; r++) hits += gt[i * L + top[i * k + r]] === 0 ? 0 : 1;
    out[i] = hits / positives;
  }
  return out;
}

/**
 * R-precision of each map row against the ground truth: `[n]` with |top_{|gt_i|}(map_i) ∩ gt_i| / |gt_i|,
 * i.e. the recall when exactly as many patches are taken as the object has. Ties go to the lower index.
 */
export function rPrecision(map: Float32Array, gt: Uint8Array, n: number, L: number): Float64Array {
  if (gt.length !== n * L) throw new RangeError(`gt has length ${gt.length}, expected n·L = ${n * L}`);
  const sizes = new Int32Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < L; j++) sizes[i] += gt[i * L + j] === 0 ? 0 : 1;
  const kMax = Math.max(0, ...sizes);
  const top = topKPerRow(map, n, L, kMax); // largest first, so each row's first |gt_i| are its top-|gt_i|
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (sizes[i] === 0) throw new RangeError(`image ${i} has no ground-truth patch`);
    let hits = 0;
    for (let r = 0; r < sizes[i]; r++) hits += gt[i * L + top[i * kMax + r]] === 0 ? 0 : 1;
    out[i] = hits / sizes[i];
  }
  return out;
}

/** Mean few-shot recall of every (block, head) of the teacher, and the best head. */
export async function recallMatrix(opts: RecallMatrixOptions): Promise<RecallMatrix> {
  const { blocks, heads, gt, numPatches: L } = opts;
  if ((opts.maps === undefined) === (opts.mapsForBlock === undefined)) {
    throw new RangeError("give exactly one of maps and mapsForBlock");
  }
  if (!(Number.isInteger(blocks) && blocks >= 1 && Number.isInteger(heads) && heads >= 1)) {
    throw new RangeError(`blocks and heads must be positive integers, got ${blocks}, ${heads}`);
  }
  if (!(Number.isInteger(L) && L >= 1) || gt.length % L !== 0) {
    throw new RangeError(`gt length ${gt.length} is not a multiple of numPatches ${L}`);
  }
  const N = gt.length / L;
  const images = opts.images ?? Int32Array.from({ length: N }, (_, i) => i);
  for (const i of images) if (!(i >= 0 && i < N)) throw new RangeError(`image index ${i} out of [0, ${N})`);
  const n = images.length;
  if (n === 0) throw new RangeError("no images to compute recall on");
  const gtRows = new Uint8Array(n * L);
  images.forEach((img, r) => gtRows.set(gt.subarray(img * L, (img + 1) * L), r * L));
  const k = maskedCount(L, opts.maskRatio ?? 0.75);
  const includeAll = opts.includeAllHeads ?? true;
  const columns = heads + (includeAll ? 1 : 0);
  const recall = new Float32Array(blocks * columns);
  const precision = new Float32Array(blocks * columns);
  const perImage = opts.perImage ? new Float32Array(blocks * columns * n) : undefined;
  let best: SelectedHead & { recall: number; rPrecision: number } = {
    block: 0,
    head: 0,
    recall: -1,
    rPrecision: -1,
  };
  const canWin = (col: number) => col < heads || (opts.allHeadsCanWin ?? false);

  for (let block = 0; block < blocks; block++) {
    let blockMaps: Float32Array | undefined;
    if (opts.mapsForBlock) {
      blockMaps = await opts.mapsForBlock(block, images);
      if (blockMaps.length !== columns * n * L) {
        throw new RangeError(
          `mapsForBlock(${block}) returned ${blockMaps.length} values, expected ${columns}·${n}·${L}`,
        );
      }
    }
    for (let col = 0; col < columns; col++) {
      const head = col < heads ? col : -1;
      let map: Float32Array;
      if (blockMaps) {
        map = blockMaps.subarray(col * n * L, (col + 1) * n * L);
      } else {
        map = await opts.maps!(block, head, images);
        if (map.length !== n * L) {
          throw new RangeError(`maps(${block}, ${head}) returned ${map.length} values, expected ${n}·${L}`);
        }
      }
      const perRow = topKRecall(map, gtRows, n, L, k);
      const mean = average(perRow);
      const meanPrecision = average(rPrecision(map, gtRows, n, L));
      recall[block * columns + col] = mean;
      precision[block * columns + col] = meanPrecision;
      if (perImage) perImage.set(perRow, (block * columns + col) * n);
      const better = mean > best.recall + 1e-12 ||
        (Math.abs(mean - best.recall) <= 1e-12 && meanPrecision > best.rPrecision + 1e-12);
      if (canWin(col) && better) best = { block, head, recall: mean, rPrecision: meanPrecision };
    }
  }
  return { recall, rPrecision: precision, columns, best, images, k, ...(perImage ? { perImage } : {}) };
}

function average(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * The `shots` images (rows of an N-image train split) used by k-shot selection: the first `shots` of a
 * permutation drawn from `seed`, sorted ascending. The same (N, shots, seed) always gives the same images.
 */
export function chooseShots(numImages: number, shots: number, seed: number): Int32Array {
  if (!(Number.isInteger(shots) && shots >= 1 && shots <= numImages)) {
    throw new RangeError(`shots must be an integer in [1, ${numImages}], got ${shots}`);
  }
  const order = new Rng(seed).fork("head-selection-shots").permutation(numImages);
  return order.slice(0, shots).sort();
}

/** A head-selection method of Table 5. */
export type HeadSelectionMethod = "first" | "last" | "all" | { shots: number };

/** Options of `selectHead`. `fewShot` is required for `{ shots }`. */
export interface SelectHeadOptions {
  /** Teacher depth and heads per block. */
  blocks: number;
  heads: number;
  /** Annotated train split and map source for k-shot selection. */
  fewShot?: Omit<RecallMatrixOptions, "blocks" | "heads" | "images"> & {
    /** Seed that picks which k images of the split are used. */
    seed: number;
  };
}

/**
 * Chooses the teacher head by a Table 5 method: "first" → b0h0, "last" → last block's last head,
 * "all" → last block with all heads summed (head −1), `{ shots: k }` → the best recall over k images of
 * `fewShot.gt` chosen by `chooseShots(N, k, fewShot.seed)`. The k-shot result carries its recall matrix.
 */
export async function selectHead(
  method: HeadSelectionMethod,
  opts: SelectHeadOptions,
): Promise<SelectedHead & { matrix?: RecallMatrix }> {
  const { blocks, heads } = opts;
  if (!(Number.isInteger(blocks) && blocks >= 1 && Number.isInteger(heads) && heads >= 1)) {
    throw new RangeError(`blocks and heads must be positive integers, got ${blocks}, ${heads}`);
  }
  if (method === "first") return { block: 0, head: 0 };
  if (method === "last") return { block: blocks - 1, head: heads - 1 };
  if (method === "all") return { block: blocks - 1, head: -1 };
  if (typeof method !== "object" || method === null || !("shots" in method)) {
    throw new RangeError(`unknown head-selection method ${JSON.stringify(method)}`);
  }
  const fewShot = opts.fewShot;
  if (!fewShot) throw new RangeError("k-shot head selection needs fewShot (ground truth and maps)");
  const N = fewShot.gt.length / fewShot.numPatches;
  const images = chooseShots(N, method.shots, fewShot.seed);
  const matrix = await recallMatrix({ ...fewShot, blocks, heads, images });
  return { block: matrix.best.block, head: matrix.best.head, recall: matrix.best.recall, matrix };
}

/** Expected recall of `k` patches drawn uniformly without replacement out of L: k / L (any ground truth). */
export function randomRecall(numPatches: number, k: number): number {
  if (
    !(Number.isInteger(numPatches) && numPatches >= 1 && Number.isInteger(k) && k >= 0 && k <= numPatches)
  ) {
    throw new RangeError(`need integers 0 ≤ k ≤ L, got k = ${k}, L = ${numPatches}`);
  }
  return k / numPatches;
}

/**
 * Empirical recall of `k` uniformly random patches against `gt` (`[N, L]`): mean over images and
 * `trials` independent draws per image (default 1).
 */
export function empiricalRandomRecall(
  opts: { gt: Uint8Array; numPatches: number; k: number; rng: Rng; trials?: number },
): number {
  const { gt, numPatches: L, k, rng } = opts;
  const trials = opts.trials ?? 1;
  randomRecall(L, k); // validates k and L
  if (gt.length % L !== 0 || gt.length === 0) throw new RangeError(`gt length ${gt.length} is not N·${L}`);
  if (!(Number.isInteger(trials) && trials >= 1)) throw new RangeError(`trials must be ≥ 1, got ${trials}`);
  const N = gt.length / L;
  let sum = 0;
  for (let t = 0; t < trials; t++) {
    const noise = new Float32Array(N * L);
    for (let i = 0; i < noise.length; i++) noise[i] = rng.next();
    const perImage = topKRecall(noise, gt, N, L, k);
    for (const r of perImage) sum += r;
  }
  return sum / (N * trials);
}

/** "b9h11" for block 9, head 11; "b11h-1" for block 11, all heads. */
export function headLabel(ref: HeadRef): string {
  return `b${ref.block}h${ref.head}`;
}

/**
 * Parses a label such as "b9h11" or "b11h-1" (canonical: no signs but h-1, no leading zeros) for a teacher
 * with `depth` blocks and `heads` heads. Throws a RangeError for a malformed or out-of-range label.
 */
export function parseHeadSelector(label: string, teacher: { depth: number; heads: number }): HeadRef {
  const match = /^b(0|[1-9]\d*)h(-1|0|[1-9]\d*)$/.exec(label);
  if (!match) throw new RangeError(`malformed head selector "${label}" (expected e.g. "b9h11" or "b11h-1")`);
  const block = Number(match[1]);
  const head = Number(match[2]);
  if (block >= teacher.depth) {
    throw new RangeError(`head selector "${label}": block ${block} out of [0, ${teacher.depth})`);
  }
  if (head >= teacher.heads) {
    throw new RangeError(`head selector "${label}": head ${head} out of [0, ${teacher.heads}) or -1`);
  }
  return { block, head };
}
