/**
 * Image grids for qualitative figures: an input image, its GPA map (colour-mapped, nearest upsampling) and
 * its mask (masked patches greyed out), tile by tile, composed as raw pixels and encoded to PNG.
 * @module
 */
import { Buffer } from "node:buffer";
import sharp from "sharp";
import { colormap, type ColormapName, finiteRange, normalise } from "./colormap.ts";
import { escapeXml, FONT_FAMILY } from "./svg.ts";

/** An RGB image tile, interleaved `[H, W, 3]` bytes. */
export interface RgbTile {
  rgb: Uint8Array;
  height: number;
  width: number;
}

/** A scalar map tile `[H, W]` (e.g. GPA on the patch grid), shown through a colour map. */
export interface MapTile {
  map: Float32Array | readonly number[];
  height: number;
  width: number;
  /** Colour map (default viridis). */
  colormap?: ColormapName;
  /** Value range mapped to the colour map's ends; defaults to the tile's finite range. */
  range?: readonly [number, number];
}

/** One tile of a grid. */
export type GridTile = RgbTile | MapTile;

/** Options of {@link imageGridPng}. */
export interface ImageGridOptions {
  tiles: readonly GridTile[];
  /** Tiles per row. */
  columns: number;
  /**
   * Upscaling of the largest tile (default 1). Every tile is resized by nearest neighbour to the cell size
   * `max height · scale × max width · scale`, so a 14×14 map sits next to its 224×224 image.
   */
  scale?: number;
  /** Caption under each tile (same order as `tiles`). */
  labels?: readonly string[];
  /** Space between tiles in pixels (default 4). */
  gap?: number;
  /** A title above the grid. */
  title?: string;
  /** A colour bar below the grid for the map tiles: the colormap from low to high, with end labels. */
  colorbar?: { colormap: ColormapName; low: string; high: string; label: string };
}

const LABEL_HEIGHT = 16;

function isMapTile(tile: GridTile): tile is MapTile {
  return "map" in tile;
}

/** Colour-maps a map tile to RGB bytes of the same size. */
export function mapToRgb(tile: MapTile): Uint8Array {
  const { map, height, width } = tile;
  if (map.length !== height * width) {
    throw new RangeError(`map needs ${height * width} values, got ${map.length}`);
  }
  const range = tile.range ?? finiteRange(map);
  const out = new Uint8Array(height * width * 3);
  for (let i = 0; i < map.length; i++) {
    const [r, g, b] = colormap(Number.isFinite(map[i]) ? normalise(map[i], range) : NaN, tile.colormap);
    out[i * 3] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + 2] = b;
  }
  return out;
}

/**
 * Greys out the masked patches of an RGB image: each masked patch is blended 75 % towards mid grey, so the
 * kept patches stand out while the masked content stays faintly visible.
 * `mask` is row-major over the patch grid, 1 = masked (the project's convention); the image size must be a
 * multiple of the grid.
 */
export function maskOverlay(
  rgb: Uint8Array,
  height: number,
  width: number,
  mask: Uint8Array,
  grid: number | { rows: number; cols: number },
): Uint8Array {
  const rows = typeof grid === "number" ? grid : grid.rows;
  const cols = typeof grid === "number" ? grid : grid.cols;
  if (rgb.length !== height * width * 3) throw new RangeError(`expected ${height * width * 3} RGB bytes`);
  if (mask.length !== rows * cols) {
    throw new RangeError(`mask needs ${rows * cols} entries, got ${mask.length}`);
  }
  if (height % rows !== 0 || width % cols !== 0) {
    throw new RangeError(`image ${height}×${width} is not a multiple of the ${rows}×${cols} patch grid`);
  }
  const patchH = height / rows;
  const patchW = width / cols;
  const out = new Uint8Array(rgb);
  for (let y = 0; y < height; y++) {
    const patchRow = Math.floor(y / patchH);
    for (let x = 0; x < width; x++) {
      if (mask[patchRow * cols + Math.floor(x / patchW)] !== 1) continue;
      const i = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) out[i + ch] = Math.round(0.25 * rgb[i + ch] + 0.75 * 128);
    }
  }
  return out;
}

/** Renders tiles into a grid PNG (white background, optional captions). */
export async function imageGridPng(options: ImageGridOptions): Promise<Uint8Array> {
  const { tiles, columns } = options;
  if (tiles.length === 0) throw new RangeError("image grid needs at least one tile");
  if (!(columns >= 1)) throw new RangeError(`columns must be ≥ 1, got ${columns}`);
  const scale = options.scale ?? 1;
  const gap = options.gap ?? 4;
  const labelH = options.labels && options.labels.length > 0 ? LABEL_HEIGHT : 0;
  const cellH = Math.max(1, Math.round(Math.max(...tiles.map((t) => t.height)) * scale));
  const cellW = Math.max(1, Math.round(Math.max(...tiles.map((t) => t.width)) * scale));
  const gridCols = Math.min(columns, tiles.length);
  const gridRows = Math.ceil(tiles.length / columns);
  const width = Math.max(gridCols * cellW + (gridCols + 1) * gap, options.title ? 420 : 0);
  const titleH = options.title ? 26 : 0;
  const barH = options.colorbar ? 40 : 0;
  const gridH = gridRows * (cellH + labelH) + (gridRows + 1) * gap;
  const height = titleH + gridH + barH;
  const canvas = new Uint8Array(width * height * 3).fill(255);

  tiles.forEach((tile, index) => {
    let pixels: Uint8Array;
    if (isMapTile(tile)) pixels = mapToRgb(tile);
    else {
      if (tile.rgb.length !== tile.height * tile.width * 3) {
        throw new RangeError(`tile ${index}: expected ${tile.height * tile.width * 3} RGB bytes`);
      }
      pixels = tile.rgb;
    }
    const left = gap + (index % columns) * (cellW + gap);
    const top = titleH + gap + Math.floor(index / columns) * (cellH + labelH + gap);
    // Nearest-neighbour resize of the tile to the cell.
    for (let y = 0; y < cellH; y++) {
      const sy = Math.min(tile.height - 1, Math.floor((y * tile.height) / cellH));
      for (let x = 0; x < cellW; x++) {
        const sx = Math.min(tile.width - 1, Math.floor((x * tile.width) / cellW));
        const src = (sy * tile.width + sx) * 3;
        const dst = ((top + y) * width + left + x) * 3;
        canvas[dst] = pixels[src];
        canvas[dst + 1] = pixels[src + 1];
        canvas[dst + 2] = pixels[src + 2];
      }
    }
  });

  let image = sharp(Buffer.from(canvas.buffer, canvas.byteOffset, canvas.byteLength), {
    raw: { width, height, channels: 3 },
  });
  // The colour bar's pixels go straight into the canvas; its labels join the captions below.
  const cb = options.colorbar;
  const barX0 = Math.round(width * 0.25), barW = Math.round(width * 0.5), barY = titleH + gridH + 4;
  if (cb) {
    for (let x = 0; x < barW; x++) {
      const rgb = colormap(x / Math.max(1, barW - 1), cb.colormap);
      for (let y = barY; y < barY + 12; y++) {
        const o = (y * width + barX0 + x) * 3;
        canvas[o] = rgb[0], canvas[o + 1] = rgb[1], canvas[o + 2] = rgb[2];
      }
    }
    image = sharp(Buffer.from(canvas.buffer, canvas.byteOffset, canvas.byteLength), {
      raw: { width, height, channels: 3 },
    });
  }
  if ((labelH > 0 && options.labels) || options.title || cb) {
    const texts = (options.labels ?? []).slice(0, tiles.length).map((label, index) => {
      const cx = gap + (index % columns) * (cellW + gap) + cellW / 2;
      const y = titleH + gap + Math.floor(index / columns) * (cellH + labelH + gap) + cellH + labelH - 4;
      return `<text x="${cx}" y="${y}" font-size="11" text-anchor="middle" fill="#111">${
        escapeXml(label)
      }</text>`;
    });
    if (options.title) {
      texts.push(
        `<text x="${width / 2}" y="18" font-size="13" text-anchor="middle" fill="#111">${
          escapeXml(options.title)
        }</text>`,
      );
    }
    if (cb) {
      texts.push(
        `<text x="${barX0 - 6}" y="${barY + 10}" font-size="10" text-anchor="end" fill="#333">${
          escapeXml(cb.low)
        }</text>`,
        `<text x="${barX0 + barW + 6}" y="${barY + 10}" font-size="10" fill="#333">${
          escapeXml(cb.high)
        }</text>`,
        `<text x="${width / 2}" y="${barY + 28}" font-size="11" text-anchor="middle" fill="#111">${
          escapeXml(cb.label)
        }</text>`,
      );
    }
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `font-family="${FONT_FAMILY}">${texts.join("")}</svg>`;
    try {
      image = sharp(await image.png().toBuffer()).composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
    } catch {
      // Captions are decoration: without usable fonts the grid is still returned.
    }
  }
  return new Uint8Array(await image.png().toBuffer());
}
