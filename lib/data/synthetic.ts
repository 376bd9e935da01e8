/**
 * Procedural synthetic dataset: one filled shape per image on a random textured background.
 *
 * The class is the shape type; the colour hue also depends on the class (jittered), so the task is easy and
 * a small model learns it in seconds. Every image comes with its exact box (the tight box of the object's
 * pixels) and a per-pixel mask, so tests and the `smoke` profile can check attention/object agreement
 * without any files. Generation is deterministic in the seed (via `Rng`).
 * @module
 */
import { Rng } from "../rng.ts";
import type { ImageSplit } from "./types.ts";

/** Names of the synthetic shape classes, in class-id order. */
export const SYNTHETIC_CLASS_NAMES: readonly string[] = [
  "disc",
  "rectangle",
  "triangle",
  "diamond",
  "cross",
  "ring",
  "half-disc",
  "frame",
  "striped-block",
  "hexagon",
];

/** Options of `generateSyntheticSplit`. */
export interface SyntheticSplitOptions {
  /** Generation seed; the same seed, split and sizes give byte-identical output. */
  seed: number;
  /** "train" or "val": each draws from its own random stream. */
  split: "train" | "val";
  /** Images per class. */
  perClass: number;
  /** Image side length in pixels. */
  size: number;
  /** Number of classes, 2..10 (default 10). */
  numClasses?: number;
}

/** Is the local point (u, v) ∈ [-1, 1]² inside the shape of class `shape`? */
function insideShape(shape: number, u: number, v: number): boolean {
  const au = Math.abs(u);
  const av = Math.abs(v);
  switch (shape) {
    case 0: // disc
      return u * u + v * v <= 1;
    case 1: // rectangle filling its box
      return au <= 1 && av <= 1;
    case 2: // triangle, apex up, base at the bottom
      return v >= -1 && v <= 1 && au <= (v + 1) / 2;
    case 3: // diamond
      return au + av <= 1;
    case 4: // plus-shaped cross
      return (au <= 0.3 && av <= 1) || (av <= 0.3 && au <= 1);
    case 5: { // ring
      const r2 = u * u + v * v;
      return r2 <= 1 && r2 >= 0.3;
    }
    case 6: // lower half-disc
      return v >= 0 && u * u + v * v <= 1;
    case 7: // hollow square frame
      return au <= 1 && av <= 1 && !(au < 0.5 && av < 0.5);
    case 8: // block of three horizontal stripes
      return au <= 1 && av <= 1 && Math.floor((v + 1) * 2.5) % 2 === 0;
    default: // hexagon with vertices at u = ±1
      return av <= 1 && au + 0.5 * av <= 1;
  }
}

/** HSV (h in [0, 1)) to RGB bytes. */
function hsvToRgb(h: number, s: number, v: number, out: Float32Array): void {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const table = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][((i % 6) + 6) % 6];
  out[0] = table[0] * 255;
  out[1] = table[1] * 255;
  out[2] = table[2] * 255;
}

/**
 * Generates one synthetic split: `perClass × numClasses` images, classes interleaved (image i has class
 * `i % numClasses`), with boxes `[N, 4]` and segmentation (0 = background, 1 + class on the object).
 */
export function generateSyntheticSplit(options: SyntheticSplitOptions): ImageSplit {
  const numClasses = options.numClasses ?? 10;
  if (!(numClasses >= 2 && numClasses <= SYNTHETIC_CLASS_NAMES.length)) {
    throw new RangeError(`synthetic numClasses must be in 2..${SYNTHETIC_CLASS_NAMES.length}`);
  }
  const size = options.size;
  if (!(Number.isInteger(size) && size >= 8)) {
    throw new RangeError(`synthetic size must be >= 8, got ${size}`);
  }
  const count = options.perClass * numClasses;
  const rng = new Rng(options.seed).fork(`synthetic/${options.split}`);
  const pixels = size * size;
  const images = new Uint8Array(count * pixels * 3); // [N, H, W, 3]
  const writable = new Uint8ClampedArray(images.buffer); // rounds and clamps float stores
  const segmentation = new Uint8Array(count * pixels); // [N, H, W]
  const labels = new Int32Array(count);
  const boxes = new Float32Array(count * 4);

  const grid = 5; // background value-noise control points per side
  const control = new Float32Array(grid * grid * 3);
  const colour = new Float32Array(3);
  // Bilinear interpolation tables from pixel to control grid, shared by all images.
  const cell = new Int32Array(size);
  const frac = new Float32Array(size);
  for (let p = 0; p < size; p++) {
    const g = ((p + 0.5) / size) * (grid - 1);
    cell[p] = Math.min(grid - 2, Math.floor(g));
    frac[p] = g - cell[p];
  }

  for (let n = 0; n < count; n++) {
    const cls = n % numClasses;
    labels[n] = cls;
    const imageBase = n * pixels * 3;
    const segBase = n * pixels;

    // Background: muted random colours at the control points, bilinear, plus per-pixel grain.
    for (let k = 0; k < grid * grid; k++) {
      hsvToRgb(rng.next(), 0.15 + 0.35 * rng.next(), 0.25 + 0.6 * rng.next(), colour);
      control[k * 3] = colour[0];
      control[k * 3 + 1] = colour[1];
      control[k * 3 + 2] = colour[2];
    }
    for (let y = 0; y < size; y++) {
      const cy = cell[y];
      const fy = frac[y];
      for (let x = 0; x < size; x++) {
        const cx = cell[x];
        const fx = frac[x];
        const grain = (rng.next() - 0.5) * 24;
        const k00 = (cy * grid + cx) * 3;
        const k01 = k00 + 3;
        const k10 = k00 + grid * 3;
        const k11 = k10 + 3;
        const o = imageBase + (y * size + x) * 3;
        for (let c = 0; c < 3; c++) {
          const top = control[k00 + c] + (control[k01 + c] - control[k00 + c]) * fx;
          const bottom = control[k10 + c] + (control[k11 + c] - control[k10 + c]) * fx;
          writable[o + c] = top + (bottom - top) * fy + grain;
        }
      }
    }

    // Object: class hue ± jitter, bright and saturated; size 36..80 % of the image per axis.
    const hue = (cls / numClasses + (rng.next() - 0.5) * 0.06 + 1) % 1;
    hsvToRgb(hue, 0.75 + 0.25 * rng.next(), 0.75 + 0.25 * rng.next(), colour);
    const rx = size * (0.18 + 0.22 * rng.next());
    const ry = size * (0.18 + 0.22 * rng.next());
    const centreX = rx + (size - 2 * rx) * rng.next();
    const centreY = ry + (size - 2 * ry) * rng.next();
    const xStart = Math.max(0, Math.floor(centreX - rx));
    const xEnd = Math.min(size, Math.ceil(centreX + rx));
    const yStart = Math.max(0, Math.floor(centreY - ry));
    const yEnd = Math.min(size, Math.ceil(centreY + ry));
    let minX = size, minY = size, maxX = -1, maxY = -1;
    for (let y = yStart; y < yEnd; y++) {
      const v = (y + 0.5 - centreY) / ry;
      for (let x = xStart; x < xEnd; x++) {
        const u = (x + 0.5 - centreX) / rx;
        if (!insideShape(cls, u, v)) continue;
        const shade = 0.85 + 0.15 * rng.next();
        const o = imageBase + (y * size + x) * 3;
        writable[o] = colour[0] * shade;
        writable[o + 1] = colour[1] * shade;
        writable[o + 2] = colour[2] * shade;
        segmentation[segBase + y * size + x] = cls + 1;
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
    if (maxX < 0) { // degenerate draw (cannot happen at size >= 8, kept as a guard): mark the centre pixel
      const x = Math.min(size - 1, Math.floor(centreX));
      const y = Math.min(size - 1, Math.floor(centreY));
      segmentation[segBase + y * size + x] = cls + 1;
      minX = maxX = x;
      minY = maxY = y;
    }
    boxes[n * 4] = minX;
    boxes[n * 4 + 1] = minY;
    boxes[n * 4 + 2] = maxX + 1;
    boxes[n * 4 + 3] = maxY + 1;
  }
  return {
    name: `synthetic/${options.split}@${size}`,
    count,
    height: size,
    width: size,
    images,
    labels,
    numClasses,
    classNames: SYNTHETIC_CLASS_NAMES.slice(0, numClasses),
    boxes,
    segmentation,
  };
}

/** Generates the synthetic train and val splits (defaults: 200 and 50 images per class). */
export function generateSynthetic(
  options: { seed?: number; size: number; trainPerClass?: number; valPerClass?: number; numClasses?: number },
): { train: ImageSplit; val: ImageSplit } {
  const common = { seed: options.seed ?? 0, size: options.size, numClasses: options.numClasses };
  return {
    train: generateSyntheticSplit({ ...common, split: "train", perClass: options.trainPerClass ?? 200 }),
    val: generateSyntheticSplit({ ...common, split: "val", perClass: options.valPerClass ?? 50 }),
  };
}
