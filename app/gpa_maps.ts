/**
 * `gpa-maps`: a teacher's GPA on one's own images — per image, the image as the teacher sees it, its GPA map
 * and the top-k mask GPA masking would hide first, as one PNG each, plus a contact sheet of them all and a JSON
 * with the maps. The paper's Figure 2 on any photo, with any encoder as teacher.
 * @module
 */
import { centerBatch } from "../lib/data/augment.ts";
import { decodeImageSquare } from "../lib/data/decode.ts";
import { IMAGE_EXTENSIONS, naturalCompare, readDirFollowingLinks } from "../lib/data/image_folder.ts";
import { DataError, type ImageSplit } from "../lib/data/types.ts";
import { atomicWriteFile, atomicWriteJson, ensureDir } from "../lib/fsutil.ts";
import type { Teacher } from "../lib/gpa.ts";
import { headLabel } from "../lib/head_selection.ts";
import { topKPerRow } from "../lib/masking/select.ts";
import { maskedCount } from "../lib/masking/types.ts";
import { type GridTile, imageGridPng, maskOverlay } from "../lib/plot/mod.ts";
import { gridOf } from "../lib/vit.ts";

/** Image files under `dir` (sub-folders included, symbolic links followed), in natural order of their paths. */
export async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    const entries = await readDirFollowingLinks(d);
    for (const e of entries) {
      if (e.isDirectory) await walk(`${d}/${e.name}`, `${rel}${e.name}/`);
      else if (e.isFile && IMAGE_EXTENSIONS.test(e.name)) out.push(`${rel}${e.name}`);
    }
  };
  const st = await Deno.stat(dir).catch(() => null);
  if (!st?.isDirectory) throw new DataError(`--images ${dir}: no such folder`);
  await walk(dir, "");
  if (out.length === 0) {
    throw new DataError(`--images ${dir}: no image files in it (${IMAGE_EXTENSIONS.source})`);
  }
  return out.sort(naturalCompare);
}

/** What `renderGpaMaps` wrote. */
export interface GpaMapsResult {
  teacher: Record<string, unknown>;
  head: string;
  maskRatio: number;
  /** Patches per image and how many the top-k mask hides. */
  patches: number;
  k: number;
  images: { file: string; png: string; topK: number[]; map: number[] }[];
  contactSheet: string;
  json: string;
}

/**
 * Decodes each image to the teacher's input size, computes its min–max scaled GPA map and top-k mask, and
 * writes `<out>/<image path with / as _>.png` (image | GPA | top-k), `<out>/contact_sheet.png` and
 * `<out>/gpa_maps.json`.
 */
export async function renderGpaMaps(
  teacher: Teacher,
  dir: string,
  files: string[],
  out: string,
  maskRatio: number,
  log: (line: string) => void = () => {},
): Promise<GpaMapsResult> {
  const cfg = teacher.cfg;
  const size = cfg.imageSize;
  const g = gridOf(cfg);
  const n = files.length;
  const images = new Uint8Array(n * size * size * 3);
  for (const [i, f] of files.entries()) {
    images.set((await decodeImageSquare(`${dir}/${f}`, size)).pixels, i * size * size * 3);
  }
  const split: ImageSplit = {
    name: dir,
    count: n,
    height: size,
    width: size,
    images,
    labels: new Int32Array(n),
    numClasses: 1,
    classNames: ["image"],
  };
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  const maps = await teacher.maps(centerBatch(split, indices, size), n);
  const k = maskedCount(g.count, maskRatio);
  const top = topKPerRow(maps, n, g.count, k);
  const scale = Math.max(1, Math.round(128 / size));
  const pct = Math.round(maskRatio * 100);
  const head = headLabel(teacher.head);
  await ensureDir(out);
  const sheetTiles: GridTile[] = [];
  const sheetLabels: string[] = [];
  const result: GpaMapsResult["images"] = [];
  for (let i = 0; i < n; i++) {
    const rgb = images.slice(i * size * size * 3, (i + 1) * size * size * 3);
    const mask = new Uint8Array(g.count);
    const topK = Array.from(top.subarray(i * k, (i + 1) * k));
    for (const j of topK) mask[j] = 1;
    const map = maps.subarray(i * g.count, (i + 1) * g.count);
    const tiles: GridTile[] = [
      { rgb, height: size, width: size },
      { map, height: g.rows, width: g.cols, range: [0, 1] },
      { rgb: maskOverlay(rgb, size, size, mask, g.rows), height: size, width: size },
    ];
    const labels = ["image", `GPA (${head})`, `top ${pct}%`];
    const png = `${out}/${files[i].replaceAll("/", "_").replace(/\.[^.]+$/, "")}.png`;
    await atomicWriteFile(png, await imageGridPng({ tiles, columns: 3, scale, labels, title: files[i] }));
    sheetTiles.push(...tiles);
    sheetLabels.push(files[i].length > 20 ? `…${files[i].slice(-19)}` : files[i], "GPA", `top ${pct}%`);
    result.push({ file: files[i], png, topK, map: Array.from(map, (v) => Math.round(v * 1e4) / 1e4) });
  }
  const contactSheet = `${out}/contact_sheet.png`;
  await atomicWriteFile(
    contactSheet,
    await imageGridPng({
      tiles: sheetTiles,
      columns: 6,
      scale,
      labels: sheetLabels,
      title: `GPA of ${head} on ${n} image${n === 1 ? "" : "s"} of ${dir}; grey: the top-${pct}% patches`,
      colorbar: { colormap: "viridis", low: "low", high: "high", label: "GPA, min–max scaled per image" },
    }),
  );
  const json = `${out}/gpa_maps.json`;
  const summary: GpaMapsResult = {
    teacher: teacher.describe(),
    head,
    maskRatio,
    patches: g.count,
    k,
    images: result,
    contactSheet,
    json,
  };
  await atomicWriteJson(json, summary);
  log(`gpa-maps: ${n} image${n === 1 ? "" : "s"} → ${out}`);
  return summary;
}
