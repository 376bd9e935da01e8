/**
 * Shared pieces of the PNG plotters: SVG rasterisation through sharp (librsvg), XML escaping, tick choice and
 * a colour palette. If text cannot be rendered (no usable fonts), rasterisation falls back to the same
 * picture without its text elements rather than failing.
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";

/** Font stack used for all text; DejaVu Sans is the common default on Linux. */
export const FONT_FAMILY = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";

/** Ten distinguishable line colours (the usual categorical palette). */
export const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/** Escapes text for use inside SVG elements and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** A figure's opening: the `<svg>` element, a white background and the title centred at the top. */
export function svgHeader(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="22" font-size="15" text-anchor="middle" fill="#111">${
      escapeXml(title)
    }</text>`,
  ];
}

/** Removes all `<text>` elements from an SVG document. */
export function stripText(svg: string): string {
  return svg.replace(/<text\b[^>]*>[\s\S]*?<\/text>/g, "");
}

/** Rasterises an SVG document to PNG bytes; retries without text if rendering with text fails. */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
  } catch {
    return new Uint8Array(await sharp(Buffer.from(stripText(svg))).png().toBuffer());
  }
}

let textProbe: Promise<boolean> | undefined;

/** Whether SVG text renders on this machine (some dark pixels appear); cached after the first call. */
export function canRenderText(): Promise<boolean> {
  textProbe ??= (async () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="80" height="30">` +
      `<rect width="80" height="30" fill="#fff"/>` +
      `<text x="4" y="22" font-family="${FONT_FAMILY}" font-size="18" fill="#000">Ag8</text></svg>`;
    try {
      const { data, info } = await sharp(Buffer.from(svg)).raw().toBuffer({ resolveWithObject: true });
      for (let i = 0; i < data.length; i += info.channels) if (data[i] < 128) return true;
      return false;
    } catch {
      return false;
    }
  })();
  return textProbe;
}

/** Builds PNG bytes from raw interleaved RGB pixels `[H, W, 3]`. */
export async function rgbToPng(rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  if (rgb.length !== width * height * 3) {
    throw new RangeError(`expected ${width * height * 3} RGB bytes, got ${rgb.length}`);
  }
  const buffer = await sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), {
    raw: { width, height, channels: 3 },
  }).png().toBuffer();
  return new Uint8Array(buffer);
}

/** Evenly spaced "nice" tick values (steps of 1, 2, 2.5 or 5 × 10^k) covering [min, max]. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  if (min > max) [min, max] = [max, min];
  const rough = (max - min) / Math.max(1, target);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const first = Math.ceil(min / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Short label for a tick value. */
export function formatTick(value: number): string {
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) return value.toExponential(1);
  return String(Number(value.toPrecision(6)));
}
