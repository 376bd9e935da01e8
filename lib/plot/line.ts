/**
 * Line plots (learning curves) rendered to PNG through SVG, without a browser.
 * @module
 */
import { escapeXml, formatTick, niceTicks, PALETTE, svgHeader, svgToPng } from "./svg.ts";

/** One named curve. `x` and `y` have equal length; non-finite y values break the line. */
export interface LineSeries {
  name: string;
  x: readonly number[];
  y: readonly number[];
  /** CSS colour; defaults to the palette colour of the series' index. */
  color?: string;
  /** A shaded band around the curve (e.g. the min–max over seeds), same length as `x`. */
  band?: { lo: readonly number[]; hi: readonly number[] };
}

/** Options of {@link linePlotPng} and {@link linePlotSvg}. */
export interface LinePlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Image size in pixels (default 640 × 400). */
  width?: number;
  height?: number;
  /** Fixed y range; defaults to the data range with 5 % padding. */
  yRange?: readonly [number, number];
  /** Logarithmic y axis (values ≤ 0 are dropped). */
  logY?: boolean;
  /** Only whole-number x ticks (epochs). */
  integerX?: boolean;
}

function dataRange(values: number[], pad: number): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return [0, 1];
  let min = Math.min(...finite);
  let max = Math.max(...finite);
  if (min === max) {
    const spread = Math.abs(min) * 0.05 || 1;
    return [min - spread, max + spread];
  }
  const margin = (max - min) * pad;
  min -= margin;
  max += margin;
  return [min, max];
}

/** Renders the plot as an SVG document (exposed for debugging and tests). */
export function linePlotSvg(options: LinePlotOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  // The legend sits below the plot, one row per series, so it never covers data.
  const legendRows = options.series.length;
  const margin = { left: 68, right: 16, top: 34, bottom: 50 + (legendRows > 0 ? 8 + legendRows * 16 : 0) };
  const plotW = Math.max(10, width - margin.left - margin.right);
  const plotH = Math.max(10, height - margin.top - margin.bottom);
  for (const s of options.series) {
    if (s.x.length !== s.y.length) throw new RangeError(`series ${s.name}: x and y lengths differ`);
  }
  const transformY = (v: number) => (options.logY ? (v > 0 ? Math.log10(v) : NaN) : v);
  const xs = options.series.flatMap((s) => [...s.x]);
  const ys = options.series.flatMap((s) => [
    ...s.y.map(transformY),
    ...(s.band ? [...s.band.lo, ...s.band.hi].map(transformY) : []),
  ]);
  const [x0, x1] = dataRange(xs, 0);
  const [y0, y1] = options.yRange ? options.yRange.map(transformY) as [number, number] : dataRange(ys, 0.05);
  const px = (x: number) => margin.left + ((x - x0) / (x1 - x0)) * plotW;
  const py = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0)) * plotH;

  const parts: string[] = svgHeader(width, height, options.title);
  // Grid and ticks.
  for (const t of niceTicks(y0, y1, 5)) {
    const y = py(t).toFixed(1);
    const label = options.logY ? formatTick(10 ** t) : formatTick(t);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`,
      `<text x="${margin.left - 6}" y="${y}" font-size="11" text-anchor="end" dominant-baseline="middle" ` +
        `fill="#333">${escapeXml(label)}</text>`,
    );
  }
  const xTicks = niceTicks(x0, x1, 6).filter((t) => !options.integerX || Number.isInteger(t));
  if (options.integerX && xTicks.length < 2) {
    for (let t = Math.ceil(x0); t <= x1; t++) if (!xTicks.includes(t)) xTicks.push(t);
  }
  for (const t of xTicks) {
    const x = px(t).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#eeeeee"/>`,
      `<text x="${x}" y="${margin.top + plotH + 16}" font-size="11" text-anchor="middle" fill="#333">${
        escapeXml(formatTick(t))
      }</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
    `<text x="${margin.left + plotW / 2}" y="${
      margin.top + plotH + 36
    }" font-size="12" text-anchor="middle" fill="#111">${escapeXml(options.xLabel)}</text>`,
    `<text x="16" y="${margin.top + plotH / 2}" font-size="12" text-anchor="middle" fill="#111" ` +
      `transform="rotate(-90 16 ${margin.top + plotH / 2})">${escapeXml(options.yLabel)}</text>`,
  );
  // Curves, clipped to the plot area; a non-finite value starts a new segment.
  parts.push(
    `<clipPath id="plot"><rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}"/></clipPath>`,
    `<g clip-path="url(#plot)">`,
  );
  // Bands first, under every curve.
  options.series.forEach((s, index) => {
    if (!s.band) return;
    const color = s.color ?? PALETTE[index % PALETTE.length];
    const pts: string[] = [];
    const back: string[] = [];
    for (let i = 0; i < s.x.length; i++) {
      const lo = transformY(s.band.lo[i]), hi = transformY(s.band.hi[i]);
      if (!Number.isFinite(lo) || !Number.isFinite(hi) || !Number.isFinite(s.x[i])) continue;
      pts.push(`${px(s.x[i]).toFixed(2)},${py(hi).toFixed(2)}`);
      back.unshift(`${px(s.x[i]).toFixed(2)},${py(lo).toFixed(2)}`);
    }
    if (pts.length > 1) {
      parts.push(
        `<polygon points="${
          [...pts, ...back].join(" ")
        }" fill="${color}" fill-opacity="0.15" stroke="none"/>`,
      );
    }
  });
  options.series.forEach((s, index) => {
    const color = s.color ?? PALETTE[index % PALETTE.length];
    const segments: string[][] = [[]];
    for (let i = 0; i < s.x.length; i++) {
      const y = transformY(s.y[i]);
      if (!Number.isFinite(y) || !Number.isFinite(s.x[i])) {
        if (segments[segments.length - 1].length > 0) segments.push([]);
        continue;
      }
      segments[segments.length - 1].push(`${px(s.x[i]).toFixed(2)},${py(y).toFixed(2)}`);
    }
    for (const points of segments) {
      if (points.length === 1) {
        const [cx, cy] = points[0].split(",");
        parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color}"/>`);
      } else if (points.length > 1) {
        parts.push(`<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`);
      }
    }
  });
  parts.push("</g>");
  // Legend below the plot area.
  options.series.forEach((s, index) => {
    const color = s.color ?? PALETTE[index % PALETTE.length];
    const y = margin.top + plotH + 52 + index * 16;
    parts.push(
      `<line x1="${margin.left}" x2="${
        margin.left + 14
      }" y1="${y}" y2="${y}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${margin.left + 20}" y="${y}" font-size="11" dominant-baseline="middle" fill="#111">${
        escapeXml(s.name + (s.band ? " (band: min–max over seeds)" : ""))
      }</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Renders a line plot (e.g. learning curves) to PNG bytes of the requested size. */
export function linePlotPng(options: LinePlotOptions): Promise<Uint8Array> {
  return svgToPng(linePlotSvg(options));
}
