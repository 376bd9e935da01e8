/**
 * Heatmaps (e.g. GPA recall per block × head, the paper's Figure 4) rendered to PNG through SVG.
 * @module
 */
import { colormap, type ColormapName, finiteRange, normalise, toHex } from "./colormap.ts";
import { escapeXml, formatTick, svgHeader, svgToPng } from "./svg.ts";

/** Options of {@link heatmapPng} and {@link heatmapSvg}. */
export interface HeatmapOptions {
  title: string;
  rows: number;
  cols: number;
  /** Row-major `[rows, cols]` values; non-finite values are drawn grey. */
  values: Float32Array | readonly number[];
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** Axis titles, e.g. "block" and "head". */
  rowTitle?: string;
  colTitle?: string;
  /** Cell `[row, col]` to outline (e.g. the selected teacher head). */
  highlight?: readonly [number, number];
  /** Colour range; defaults to the finite data range. */
  range?: readonly [number, number];
  colormap?: ColormapName;
  /** Print each value in its cell (default: when cells are at least 30 px wide). */
  showValues?: boolean;
  /** Reference levels marked on the colour bar (e.g. random patches, a centre prior). */
  marks?: readonly { value: number; label: string }[];
  /** Image size in pixels; defaults leave 32 px per cell. */
  width?: number;
  height?: number;
}

/** Renders the heatmap as an SVG document. */
export function heatmapSvg(options: HeatmapOptions): string {
  const { rows, cols, values } = options;
  if (!(rows > 0 && cols > 0) || values.length !== rows * cols) {
    throw new RangeError(`heatmap needs rows·cols = ${rows * cols} values, got ${values.length}`);
  }
  const margin = { left: 56, right: options.marks?.length ? 150 : 70, top: 34, bottom: 44 };
  const width = options.width ?? margin.left + margin.right + cols * 32;
  const height = options.height ?? margin.top + margin.bottom + rows * 32;
  const plotW = Math.max(cols, width - margin.left - margin.right);
  const plotH = Math.max(rows, height - margin.top - margin.bottom);
  const cellW = plotW / cols;
  const cellH = plotH / rows;
  const range = options.range ?? finiteRange(values);
  const cmap = options.colormap ?? "viridis";
  const showValues = options.showValues ?? cellW >= 30;

  const parts: string[] = svgHeader(width, height, options.title);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c];
      const rgb = colormap(Number.isFinite(v) ? normalise(v, range) : NaN, cmap);
      const x = margin.left + c * cellW;
      const y = margin.top + r * cellH;
      parts.push(
        `<rect x="${x.toFixed(2)}" y="${y.toFixed(2)}" width="${(cellW + 0.5).toFixed(2)}" ` +
          `height="${(cellH + 0.5).toFixed(2)}" fill="${toHex(rgb)}"/>`,
      );
      if (showValues && Number.isFinite(v)) {
        const light = rgb[0] * 0.299 + rgb[1] * 0.587 + rgb[2] * 0.114 > 140;
        parts.push(
          `<text x="${(x + cellW / 2).toFixed(1)}" y="${(y + cellH / 2).toFixed(1)}" font-size="${
            Math.min(11, cellH * 0.4).toFixed(1)
          }" text-anchor="middle" dominant-baseline="middle" fill="${light ? "#000" : "#fff"}">${
            escapeXml(formatCellValue(v))
          }</text>`,
        );
      }
    }
  }
  // Axis labels: every label when they fit, otherwise a subset.
  const rowStep = Math.max(1, Math.ceil(12 / cellH));
  for (let r = 0; r < rows; r += rowStep) {
    const label = options.rowLabels?.[r] ?? String(r);
    parts.push(
      `<text x="${margin.left - 5}" y="${(margin.top + (r + 0.5) * cellH).toFixed(1)}" font-size="10" ` +
        `text-anchor="end" dominant-baseline="middle" fill="#333">${escapeXml(label)}</text>`,
    );
  }
  const colStep = Math.max(1, Math.ceil(16 / cellW));
  for (let c = 0; c < cols; c += colStep) {
    const label = options.colLabels?.[c] ?? String(c);
    parts.push(
      `<text x="${(margin.left + (c + 0.5) * cellW).toFixed(1)}" y="${margin.top + plotH + 13}" ` +
        `font-size="10" text-anchor="middle" fill="#333">${escapeXml(label)}</text>`,
    );
  }
  if (options.colTitle) {
    parts.push(
      `<text x="${margin.left + plotW / 2}" y="${height - 8}" font-size="12" text-anchor="middle" ` +
        `fill="#111">${escapeXml(options.colTitle)}</text>`,
    );
  }
  if (options.rowTitle) {
    const cy = margin.top + plotH / 2;
    parts.push(
      `<text x="14" y="${cy}" font-size="12" text-anchor="middle" fill="#111" transform="rotate(-90 14 ${cy})">${
        escapeXml(options.rowTitle)
      }</text>`,
    );
  }
  if (options.highlight) {
    const [hr, hc] = options.highlight;
    if (hr < 0 || hr >= rows || hc < 0 || hc >= cols) {
      throw new RangeError(`highlight ${hr},${hc} is outside`);
    }
    const stroke = Math.max(2, Math.min(cellW, cellH) / 6);
    parts.push(
      `<rect x="${(margin.left + hc * cellW + stroke / 2).toFixed(2)}" ` +
        `y="${(margin.top + hr * cellH + stroke / 2).toFixed(2)}" width="${(cellW - stroke).toFixed(2)}" ` +
        `height="${(cellH - stroke).toFixed(2)}" fill="none" stroke="#ff2020" stroke-width="${
          stroke.toFixed(2)
        }"/>`,
    );
  }
  // Colour bar with its range.
  const barX = margin.left + plotW + 14;
  const steps = 32;
  for (let i = 0; i < steps; i++) {
    const t = 1 - (i + 0.5) / steps;
    parts.push(
      `<rect x="${barX}" y="${(margin.top + (i * plotH) / steps).toFixed(2)}" width="12" ` +
        `height="${(plotH / steps + 0.5).toFixed(2)}" fill="${toHex(colormap(t, cmap))}"/>`,
    );
  }
  parts.push(
    `<text x="${barX + 16}" y="${margin.top + 8}" font-size="10" fill="#333">${
      escapeXml(formatTick(Number(range[1].toPrecision(3))))
    }</text>`,
    `<text x="${barX + 16}" y="${margin.top + plotH}" font-size="10" fill="#333">${
      escapeXml(formatTick(Number(range[0].toPrecision(3))))
    }</text>`,
  );
  for (const m of options.marks ?? []) {
    if (!(m.value >= range[0] && m.value <= range[1])) continue;
    const y = margin.top + plotH * (1 - normalise(m.value, range));
    parts.push(
      `<line x1="${barX - 3}" x2="${barX + 15}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#d00000" ` +
        `stroke-width="2"/>`,
      `<text x="${barX + 18}" y="${(y + 12).toFixed(1)}" font-size="10" fill="#d00000">${
        escapeXml(`${m.label} ${formatCellValue(m.value)}`)
      }</text>`,
    );
  }
  parts.push("</svg>");
  return parts.join("\n");
}

function formatCellValue(v: number): string {
  const abs = Math.abs(v);
  return abs >= 100 ? v.toFixed(0) : abs >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Renders a heatmap to PNG bytes. */
export function heatmapPng(options: HeatmapOptions): Promise<Uint8Array> {
  return svgToPng(heatmapSvg(options));
}
