/**
 * Control maps for GPA's soft-to-hard masking: maps that rank patches without a teacher's content, so that a
 * table can ask what the teacher must know for GPA's masks to help.
 *
 * - `centreMap`: closeness of each patch centre to the view's centre (a position prior, no content);
 * - `boxMap`: the annotated object box, as the student's view sees it (`boxInView` applies the view's crop
 *   and flip): patches the box covers rank first, ties by closeness to the box centre (an oracle teacher);
 * - `fixedMapProvider`: one map for every view (the centre prior, or a teacher's mean GPA map).
 *
 * Each map is `[L]` (row-major patch grid), min–max scaled to [0, 1] as GPA maps are, so the same shares,
 * schedule and rounding of `GpaMasking` apply unchanged. Soft draws are ∝ the map, as for GPA.
 * @module
 */
import type { CropParams } from "../data/augment.ts";
import { minMaxScale } from "../gpa_math.ts";
import type { GpaMapProvider } from "./gpa.ts";
import type { MaskContext } from "./types.ts";

/** The least share of a patch's area a box must cover for the patch to count as inside (as recall's ground truth). */
export const BOX_INSIDE_COVERAGE = 0.5;

/** An axis-aligned box `[x0, y0, x1, y1]` in pixels (x1, y1 exclusive). */
export type Box = readonly [number, number, number, number];

/** Geometry of the student's view: `imageSize` px square, `patchSize` px patches. */
export interface ViewGeometry {
  imageSize: number;
  patchSize: number;
}

function gridSide({ imageSize, patchSize }: ViewGeometry): number {
  if (
    !(Number.isInteger(imageSize) && Number.isInteger(patchSize) && patchSize >= 1 &&
      imageSize % patchSize === 0)
  ) {
    throw new RangeError(`patchSize ${patchSize} must be a positive integer dividing imageSize ${imageSize}`);
  }
  return imageSize / patchSize;
}

/**
 * Closeness of every patch centre to the point (cx, cy) in view pixels, `[L]`: 1 − d / dMax with dMax the
 * view's diagonal, so values lie in (0, 1] and order patches by distance.
 */
function closeness(geom: ViewGeometry, cx: number, cy: number): Float64Array {
  const g = gridSide(geom);
  const p = geom.patchSize;
  const dMax = Math.SQRT2 * geom.imageSize;
  const out = new Float64Array(g * g);
  for (let r = 0; r < g; r++) {
    for (let c = 0; c < g; c++) {
      out[r * g + c] = 1 - Math.hypot((c + 0.5) * p - cx, (r + 0.5) * p - cy) / dMax;
    }
  }
  return out;
}

/**
 * The centre prior `[L]`: minus the squared distance of each patch centre to the view's centre, in patch units
 * (exact in floating point, so patches at equal distance tie exactly and rank by index), min–max scaled to
 * [0, 1].
 */
export function centreMap(geom: ViewGeometry): Float32Array {
  const g = gridSide(geom);
  const mid = (g - 1) / 2;
  const out = new Float32Array(g * g);
  for (let r = 0; r < g; r++) for (let c = 0; c < g; c++) out[r * g + c] = -((r - mid) ** 2 + (c - mid) ** 2);
  return minMaxScale(out, 1, out.length);
}

/**
 * A box given in the source image's pixels, as the view made by `crop` (cropped, resized to `outSize` and
 * possibly mirrored) sees it; clipped to the view. `null` when the crop leaves none of the box, with the
 * box's centre in view coordinates (it can lie outside the view) so a ranking can still use it.
 */
export function boxInView(
  box: Box,
  crop: CropParams,
  outSize: number,
): { box: Box | null; centre: [number, number] } {
  const sx = outSize / crop.w;
  const sy = outSize / crop.h;
  let x0 = (box[0] - crop.x) * sx;
  let x1 = (box[2] - crop.x) * sx;
  const y0 = (box[1] - crop.y) * sy;
  const y1 = (box[3] - crop.y) * sy;
  if (crop.flipped) [x0, x1] = [outSize - x1, outSize - x0];
  const centre: [number, number] = [(x0 + x1) / 2, (y0 + y1) / 2];
  const cx0 = Math.max(0, x0), cx1 = Math.min(outSize, x1);
  const cy0 = Math.max(0, y0), cy1 = Math.min(outSize, y1);
  return { box: cx1 > cx0 && cy1 > cy0 ? [cx0, cy0, cx1, cy1] : null, centre };
}

/**
 * The oracle map `[L]` of one view: a patch the box covers by at least `BOX_INSIDE_COVERAGE` of its area
 * scores 1 + ½·closeness to the box centre, any other patch ½·closeness, so every inside patch outranks
 * every outside one and ties break towards the box centre; then min–max scaled to [0, 1]. A view that shows
 * none of the box (`box` null) ranks by closeness to where its centre would be.
 */
export function boxMap(
  geom: ViewGeometry,
  view: { box: Box | null; centre: [number, number] },
): Float32Array {
  const g = gridSide(geom);
  const p = geom.patchSize;
  const near = closeness(geom, view.centre[0], view.centre[1]);
  const out = new Float32Array(g * g);
  const b = view.box;
  const overlap = (lo: number, hi: number, start: number) =>
    Math.max(0, Math.min(hi, start + p) - Math.max(lo, start));
  for (let r = 0; r < g; r++) {
    for (let c = 0; c < g; c++) {
      const i = r * g + c;
      const covered = b ? (overlap(b[1], b[3], r * p) * overlap(b[0], b[2], c * p)) / (p * p) : 0;
      out[i] = (covered >= BOX_INSIDE_COVERAGE - 1e-12 ? 1 : 0) + 0.5 * near[i];
    }
  }
  return minMaxScale(out, 1, out.length);
}

/** A provider that gives every view of a batch the same `[L]` map. */
export function fixedMapProvider(map: Float32Array): GpaMapProvider {
  return (ctx: MaskContext) => {
    const L = ctx.grid.rows * ctx.grid.cols;
    if (map.length !== L) throw new RangeError(`fixed map has ${map.length} patches, the batch's grid ${L}`);
    const out = new Float32Array(ctx.batchSize * L);
    for (let b = 0; b < ctx.batchSize; b++) out.set(map, b * L);
    return Promise.resolve(out);
  };
}

/** Boxes of a split, `[N, 4]` in its pixels, and the size of the view the student sees. */
export interface OracleBoxes {
  boxes: Float32Array;
  imageSize: number;
  patchSize: number;
}

/** A provider of every view's `boxMap`, from the batch's dataset indices and crops. */
export function oracleBoxProvider(o: OracleBoxes): GpaMapProvider {
  return (ctx: MaskContext) => {
    if (!ctx.sampleIds || !ctx.crops) {
      throw new Error("oracle-box masking needs the batch's indices and crops");
    }
    const L = ctx.grid.rows * ctx.grid.cols;
    const out = new Float32Array(ctx.batchSize * L);
    for (let b = 0; b < ctx.batchSize; b++) {
      const id = ctx.sampleIds[b];
      if (!((id + 1) * 4 <= o.boxes.length)) throw new RangeError(`image ${id} has no box`);
      const box = o.boxes.subarray(id * 4, id * 4 + 4);
      const view = boxInView([box[0], box[1], box[2], box[3]], ctx.crops[b], o.imageSize);
      const m = boxMap(o, view);
      if (m.length !== L) throw new RangeError(`box map has ${m.length} patches, the batch's grid ${L}`);
      out.set(m, b * L);
    }
    return Promise.resolve(out);
  };
}
