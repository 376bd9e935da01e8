/**
 * RandAugment (Cubuk et al. 2020) as timm implements it for MAE's fine-tuning recipe, configured by a timm
 * string such as `rand-m9-mstd0.5-inc1`: per image, `n` (default 2) operations drawn with replacement from
 * the op set, each applied with probability 0.5 at a magnitude drawn from N(m, mstd) clipped to [0, 10];
 * `inc1` takes the ops whose severity increases with the magnitude (timm's `_RAND_INCREASING_TRANSFORMS`).
 *
 * Images are the normalised NHWC batches of `augment.ts`; each image is turned back into 8-bit RGB (rounded,
 * as the PIL image timm works on), transformed with PIL's semantics, and normalised again. Geometric ops
 * fill uncovered pixels with the ImageNet mean colour (124, 116, 104), as MAE's `img_mean` hparam does, and
 * sample bilinearly (MAE asks PIL for bicubic; at 64 px the difference is sub-pixel smoothing).
 * Random draws per image, in order: the op indices, then per op its application (p = 0.5), its magnitude
 * and, for signed ops, its sign — the order timm draws them in.
 * @module
 */
import type { Rng } from "../rng.ts";
import { IMAGENET_MEAN, IMAGENET_STD } from "./resample.ts";

/** A parsed RandAugment configuration. */
export interface RandAugmentConfig {
  /** Operations per image (`n`, default 2). */
  ops: number;
  /** Magnitude on timm's 0–10 scale (`m`). */
  magnitude: number;
  /** Standard deviation of the per-op magnitude (`mstd`; 0: fixed). */
  magnitudeStd: number;
  /** Upper clip of the magnitude (`mmax`, default 10). */
  magnitudeMax: number;
  /** The increasing-severity op set (`inc1`). */
  increasing: boolean;
  /** Probability that each drawn op is applied (timm: 0.5). */
  prob: number;
}

/** Parses a timm RandAugment string (`rand-m9-mstd0.5-inc1`, `rand-n3-m5`); throws on anything else. */
export function parseRandAugment(spec: string): RandAugmentConfig {
  const parts = spec.split("-");
  if (parts[0] !== "rand" || parts.length < 2) {
    throw new RangeError(`RandAugment spec must look like 'rand-m9-mstd0.5-inc1', got '${spec}'`);
  }
  const cfg: RandAugmentConfig = {
    ops: 2,
    magnitude: NaN,
    magnitudeStd: 0,
    magnitudeMax: 10,
    increasing: false,
    prob: 0.5,
  };
  for (const part of parts.slice(1)) {
    const m = /^(mstd|mmax|inc|m|n|p)([0-9.]+)$/.exec(part);
    if (!m) throw new RangeError(`RandAugment spec '${spec}': unknown part '${part}'`);
    const v = Number(m[2]);
    if (!Number.isFinite(v)) throw new RangeError(`RandAugment spec '${spec}': '${part}' is not a number`);
    if (m[1] === "m") cfg.magnitude = v;
    else if (m[1] === "mstd") cfg.magnitudeStd = v;
    else if (m[1] === "mmax") cfg.magnitudeMax = v;
    else if (m[1] === "n") cfg.ops = v;
    else if (m[1] === "p") cfg.prob = v;
    else cfg.increasing = v !== 0;
  }
  if (!(cfg.magnitude >= 0)) throw new RangeError(`RandAugment spec '${spec}': needs a magnitude m ≥ 0`);
  if (!(Number.isInteger(cfg.ops) && cfg.ops >= 1)) {
    throw new RangeError(`RandAugment spec '${spec}': n must be a whole number ≥ 1`);
  }
  if (!(cfg.prob >= 0 && cfg.prob <= 1)) {
    throw new RangeError(`RandAugment spec '${spec}': p must be in [0, 1]`);
  }
  return cfg;
}

/** One 8-bit RGB image as floats holding whole numbers 0–255, HWC. */
export interface RgbImage {
  data: Float32Array;
  size: number;
}

/** The ImageNet mean colour as 8-bit values (timm's `img_mean` for MAE): the fill of geometric ops. */
export const FILL: readonly [number, number, number] = [
  Math.round(IMAGENET_MEAN[0] * 255),
  Math.round(IMAGENET_MEAN[1] * 255),
  Math.round(IMAGENET_MEAN[2] * 255),
];

const clip8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/** Maps every value through `f` (results rounded and clipped to 0–255). */
function pointwise(img: RgbImage, f: (v: number, channel: number) => number): RgbImage {
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = clip8(Math.round(f(img.data[i], i % 3)));
  return { data: out, size: img.size };
}

/** PIL `ImageOps.invert`. */
export const invert = (img: RgbImage): RgbImage => pointwise(img, (v) => 255 - v);

/** PIL `ImageOps.posterize`: keep the `bits` most significant bits (8 or more: unchanged). */
export function posterize(img: RgbImage, bits: number): RgbImage {
  if (bits >= 8) return img;
  const mask = ~(2 ** (8 - bits) - 1) & 0xff;
  return pointwise(img, (v) => v & mask);
}

/** PIL `ImageOps.solarize`: values ≥ `threshold` are inverted. */
export const solarize = (img: RgbImage, threshold: number): RgbImage =>
  pointwise(img, (v) => (v >= threshold ? 255 - v : v));

/** timm's `solarize_add`: `add` is added to values below `threshold` (clipped at 255). */
export const solarizeAdd = (img: RgbImage, add: number, threshold = 128): RgbImage =>
  pointwise(img, (v) => (v < threshold ? v + add : v));

/** PIL `ImageOps.autocontrast` (no cutoff): each channel stretched so its min is 0 and its max 255. */
export function autoContrast(img: RgbImage): RgbImage {
  const lo = [255, 255, 255], hi = [0, 0, 0];
  for (let i = 0; i < img.data.length; i++) {
    const c = i % 3;
    if (img.data[i] < lo[c]) lo[c] = img.data[i];
    if (img.data[i] > hi[c]) hi[c] = img.data[i];
  }
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = i % 3;
    if (hi[c] <= lo[c]) {
      out[i] = img.data[i];
      continue;
    }
    const scale = 255 / (hi[c] - lo[c]);
    // PIL's lookup table: int(v · scale + offset), clipped.
    out[i] = clip8(Math.trunc(img.data[i] * scale - lo[c] * scale));
  }
  return { data: out, size: img.size };
}

/** PIL `ImageOps.equalize`: per channel, the histogram's cumulative lookup table (PIL's exact rule). */
export function equalize(img: RgbImage): RgbImage {
  const out = new Float32Array(img.data.length);
  for (let c = 0; c < 3; c++) {
    const h = new Array<number>(256).fill(0);
    for (let i = c; i < img.data.length; i += 3) h[img.data[i]]++;
    const nonzero = h.filter((x) => x > 0);
    const step = Math.floor((nonzero.reduce((a, b) => a + b, 0) - nonzero[nonzero.length - 1]) / 255);
    const lut = new Array<number>(256);
    if (!step) { for (let i = 0; i < 256; i++) lut[i] = i; }
    else {
      let n = Math.floor(step / 2);
      for (let i = 0; i < 256; i++) {
        lut[i] = Math.min(255, Math.floor(n / step));
        n += h[i];
      }
    }
    for (let i = c; i < img.data.length; i += 3) out[i] = lut[img.data[i]];
  }
  return { data: out, size: img.size };
}

/** PIL's `Image.blend(degenerate, img, factor)`: degenerate + factor · (img − degenerate), clipped. */
function blend(img: RgbImage, degenerate: Float32Array, factor: number): RgbImage {
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = clip8(Math.round(degenerate[i] + factor * (img.data[i] - degenerate[i])));
  }
  return { data: out, size: img.size };
}

/** ITU-R 601-2 luma, as PIL's conversion to "L" (rounded). */
function luma(img: RgbImage): Float32Array {
  const n = img.size * img.size;
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const d = img.data;
    out[p] = Math.round((d[3 * p] * 299 + d[3 * p + 1] * 587 + d[3 * p + 2] * 114) / 1000);
  }
  return out;
}

/** PIL `ImageEnhance.Color`: blend with the grey image (0: grey, 1: unchanged). */
export function color(img: RgbImage, factor: number): RgbImage {
  const l = luma(img);
  const grey = new Float32Array(img.data.length);
  for (let i = 0; i < grey.length; i++) grey[i] = l[Math.floor(i / 3)];
  return blend(img, grey, factor);
}

/** PIL `ImageEnhance.Contrast`: blend with the mean grey level (0: flat grey, 1: unchanged). */
export function contrast(img: RgbImage, factor: number): RgbImage {
  const l = luma(img);
  const m = Math.trunc(l.reduce((a, b) => a + b, 0) / l.length + 0.5);
  return blend(img, new Float32Array(img.data.length).fill(m), factor);
}

/** PIL `ImageEnhance.Brightness`: blend with black (0: black, 1: unchanged). */
export const brightness = (img: RgbImage, factor: number): RgbImage =>
  blend(img, new Float32Array(img.data.length), factor);

/** PIL `ImageEnhance.Sharpness`: blend with the SMOOTH-filtered image (border pixels kept). */
export function sharpness(img: RgbImage, factor: number): RgbImage {
  const s = img.size;
  const smooth = Float32Array.from(img.data);
  for (let y = 1; y < s - 1; y++) {
    for (let x = 1; x < s - 1; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            sum += img.data[((y + dy) * s + x + dx) * 3 + c] * (dx === 0 && dy === 0 ? 5 : 1);
          }
        }
        smooth[(y * s + x) * 3 + c] = Math.round(sum / 13);
      }
    }
  }
  return blend(img, smooth, factor);
}

/**
 * PIL's `Image.transform(AFFINE, (a, b, c, d, e, f))`: output pixel (x, y) (its centre) reads the input at
 * (a·x + b·y + c, d·x + e·y + f), bilinearly; outside the image, `FILL`.
 */
export function affine(
  img: RgbImage,
  m: readonly [number, number, number, number, number, number],
): RgbImage {
  const s = img.size;
  const out = new Float32Array(img.data.length);
  const [a, b, c, d, e, f] = m;
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      // Pixel centres: output (x + 0.5, y + 0.5) maps to an input position; grid index = position − 0.5.
      const u = a * (x + 0.5) + b * (y + 0.5) + c - 0.5;
      const v = d * (x + 0.5) + e * (y + 0.5) + f - 0.5;
      const o = (y * s + x) * 3;
      // Within half a pixel of the border the edge pixel is read (PIL samples up to the image's edge).
      if (u < -0.5 || v < -0.5 || u > s - 0.5 || v > s - 0.5) {
        out[o] = FILL[0];
        out[o + 1] = FILL[1];
        out[o + 2] = FILL[2];
        continue;
      }
      const uc = Math.min(Math.max(u, 0), s - 1), vc = Math.min(Math.max(v, 0), s - 1);
      const x0 = Math.floor(uc), y0 = Math.floor(vc);
      const x1 = Math.min(x0 + 1, s - 1), y1 = Math.min(y0 + 1, s - 1);
      const fx = uc - x0, fy = vc - y0;
      for (let ch = 0; ch < 3; ch++) {
        const p = (yy: number, xx: number) => img.data[(yy * s + xx) * 3 + ch];
        const top = p(y0, x0) * (1 - fx) + p(y0, x1) * fx;
        const bottom = p(y1, x0) * (1 - fx) + p(y1, x1) * fx;
        out[o + ch] = clip8(Math.round(top + (bottom - top) * fy));
      }
    }
  }
  return { data: out, size: s };
}

/** PIL `rotate(degrees)` about the centre: counter-clockwise for positive degrees, same size, filled. */
export function rotate(img: RgbImage, degrees: number): RgbImage {
  const t = -degrees * Math.PI / 180;
  const cos = Math.cos(t), sin = Math.sin(t);
  const cx = img.size / 2, cy = img.size / 2;
  // Input = R · (output − centre) + centre, R = [[cos, sin], [−sin, cos]] (PIL's matrix).
  return affine(img, [cos, sin, cx - cos * cx - sin * cy, -sin, cos, cy + sin * cx - cos * cy]);
}

export const shearX = (img: RgbImage, f: number) => affine(img, [1, f, 0, 0, 1, 0]);
export const shearY = (img: RgbImage, f: number) => affine(img, [1, 0, 0, f, 1, 0]);
/** timm's `translate_x_rel`: the content moves left by `pct` of the width for positive `pct`. */
export const translateXRel = (img: RgbImage, pct: number) => affine(img, [1, 0, pct * img.size, 0, 1, 0]);
export const translateYRel = (img: RgbImage, pct: number) => affine(img, [1, 0, 0, 0, 1, pct * img.size]);

/** An op of the set: its name and how a magnitude (0–10) becomes its effect (`sign`: a random ±). */
interface Op {
  name: string;
  signed: boolean;
  apply: (img: RgbImage, level: number, sign: number) => RgbImage;
}

const L = (m: number) => m / 10;
const enhance = (f: (img: RgbImage, k: number) => RgbImage, increasing: boolean): Op["apply"] =>
  increasing ? (img, m, sign) => f(img, 1 + sign * L(m) * 0.9) : (img, m) => f(img, L(m) * 1.8 + 0.1);

/** The op set, in timm's order (`_RAND_TRANSFORMS`, or `_RAND_INCREASING_TRANSFORMS` when increasing). */
export function opSet(increasing: boolean): Op[] {
  const posterizeBits = (m: number) => Math.trunc(L(m) * 4);
  const solarizeThreshold = (m: number) => Math.min(256, Math.trunc(L(m) * 256));
  return [
    { name: "AutoContrast", signed: false, apply: (img) => autoContrast(img) },
    { name: "Equalize", signed: false, apply: (img) => equalize(img) },
    { name: "Invert", signed: false, apply: (img) => invert(img) },
    { name: "Rotate", signed: true, apply: (img, m, s) => rotate(img, s * L(m) * 30) },
    increasing
      ? {
        name: "PosterizeIncreasing",
        signed: false,
        apply: (img, m) => posterize(img, 4 - posterizeBits(m)),
      }
      : { name: "Posterize", signed: false, apply: (img, m) => posterize(img, posterizeBits(m)) },
    increasing
      ? {
        name: "SolarizeIncreasing",
        signed: false,
        apply: (img, m) => solarize(img, 256 - solarizeThreshold(m)),
      }
      : { name: "Solarize", signed: false, apply: (img, m) => solarize(img, solarizeThreshold(m)) },
    {
      name: "SolarizeAdd",
      signed: false,
      apply: (img, m) => solarizeAdd(img, Math.min(128, Math.trunc(L(m) * 110))),
    },
    { name: increasing ? "ColorIncreasing" : "Color", signed: increasing, apply: enhance(color, increasing) },
    {
      name: increasing ? "ContrastIncreasing" : "Contrast",
      signed: increasing,
      apply: enhance(contrast, increasing),
    },
    {
      name: increasing ? "BrightnessIncreasing" : "Brightness",
      signed: increasing,
      apply: enhance(brightness, increasing),
    },
    {
      name: increasing ? "SharpnessIncreasing" : "Sharpness",
      signed: increasing,
      apply: enhance(sharpness, increasing),
    },
    { name: "ShearX", signed: true, apply: (img, m, s) => shearX(img, s * L(m) * 0.3) },
    { name: "ShearY", signed: true, apply: (img, m, s) => shearY(img, s * L(m) * 0.3) },
    { name: "TranslateXRel", signed: true, apply: (img, m, s) => translateXRel(img, s * L(m) * 0.45) },
    { name: "TranslateYRel", signed: true, apply: (img, m, s) => translateYRel(img, s * L(m) * 0.45) },
  ];
}

/** What RandAugment did to one image (for tests and logs): each drawn op, whether it ran, at what magnitude. */
export interface AppliedOp {
  name: string;
  applied: boolean;
  magnitude?: number;
  sign?: number;
}

/** RandAugment of one 8-bit image; returns the result and the ops drawn. */
export function randAugmentImage(
  img: RgbImage,
  cfg: RandAugmentConfig,
  rng: Rng,
): { image: RgbImage; ops: AppliedOp[] } {
  const ops = opSet(cfg.increasing);
  const chosen = Array.from({ length: cfg.ops }, () => ops[rng.int(ops.length)]);
  const log: AppliedOp[] = [];
  let out = img;
  for (const op of chosen) {
    if (cfg.prob < 1 && rng.next() > cfg.prob) {
      log.push({ name: op.name, applied: false });
      continue;
    }
    let m = cfg.magnitude;
    if (cfg.magnitudeStd > 0) m = m + cfg.magnitudeStd * rng.normal();
    m = Math.max(0, Math.min(m, cfg.magnitudeMax));
    const sign = op.signed ? (rng.next() > 0.5 ? -1 : 1) : 1;
    out = op.apply(out, m, sign);
    log.push({ name: op.name, applied: true, magnitude: m, ...(op.signed ? { sign } : {}) });
  }
  return { image: out, ops: log };
}

/**
 * RandAugment of a normalised NHWC batch `[B, S, S, 3]` in place: each image to 8-bit RGB (rounded), through
 * `randAugmentImage`, and normalised again. Returns the ops drawn per image.
 */
export function randAugmentBatch(
  images: Float32Array,
  batch: number,
  size: number,
  cfg: RandAugmentConfig,
  rng: Rng,
): AppliedOp[][] {
  const px = size * size * 3;
  if (images.length !== batch * px) {
    throw new RangeError(`randAugmentBatch: ${images.length} values for ${batch} images of ${size} px`);
  }
  const out: AppliedOp[][] = [];
  for (let b = 0; b < batch; b++) {
    const view = images.subarray(b * px, (b + 1) * px);
    const data = new Float32Array(px);
    for (let i = 0; i < px; i++) {
      const c = i % 3;
      data[i] = clip8(Math.round((view[i] * IMAGENET_STD[c] + IMAGENET_MEAN[c]) * 255));
    }
    const r = randAugmentImage({ data, size }, cfg, rng);
    for (let i = 0; i < px; i++) {
      const c = i % 3;
      view[i] = (r.image.data[i] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
    }
    out.push(r.ops);
  }
  return out;
}
