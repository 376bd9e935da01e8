/**
 * Figures of the paper from this profile's teacher: Figure 2 (val images, their GPA maps and the top-75 %
 * hard mask), Figure 4 (few-shot recall per block × head, the selected head outlined) and Figure 5 (GPA on
 * CamVid scenes, the unseen-dataset stand-in for COCO). PNGs rendered with sharp.
 * @module
 */
import { centerBatch } from "./data/augment.ts";
import { loadDataset } from "./data/mod.ts";
import type { ImageSplit } from "./data/types.ts";
import { atomicWriteFile, ensureDir } from "./fsutil.ts";
import { headLabel, recallMatrix } from "./head_selection.ts";
import { maskedCount } from "./masking/types.ts";
import { topKPerRow } from "./masking/select.ts";
import { heatmapPng, imageGridPng, maskOverlay } from "./plot/mod.ts";
import { annotatedSample, ensureTeacher, profileData, type RunContext } from "./runner.ts";
import type { Teacher } from "./gpa.ts";
import { gridOf } from "./vit.ts";

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

async function mapsFigure(teacher: Teacher, split: ImageSplit, count: number, maskRatio: number, title: string) {
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
    tiles.push({ rgb: maskOverlay(rgb, cfg.imageSize, cfg.imageSize, mask, g.rows), height: cfg.imageSize, width: cfg.imageSize });
    labels.push("image", "GPA", `top ${Math.round(maskRatio * 100)}%`);
  }
  void title;
  return await imageGridPng({ tiles, columns: 6, scale: Math.max(1, Math.round(96 / cfg.imageSize)), labels });
}

/** Renders the figures into `<reportsDir>/<profile>/figures/`; returns name → path. */
export async function renderFigures(ctx: RunContext, reportsDir: string): Promise<Record<string, string>> {
  const dir = `${reportsDir}/${ctx.profile.name}/figures`;
  await ensureDir(dir);
  const out: Record<string, string> = {};
  const teacher = await ensureTeacher(ctx, ctx.profile.gpa.teacher);
  const { val, train } = await profileData(ctx);
  const ratio = ctx.profile.pretrain.maskRatio;

  // Figure 2: val images, GPA maps of the selected head, top-75 % hard masks.
  await atomicWriteFile(`${dir}/figure2.png`, await mapsFigure(teacher, val, 8, ratio, "Figure 2"));
  out.figure2 = `${dir}/figure2.png`;

  // Figure 4: recall of each head's top-|mask| patches on held-out annotated val images.
  const cfg = ctx.profile.model;
  const split = val.boxes || val.segmentation ? val : train;
  const n = Math.min(100, split.count);
  const { indices, gt } = annotatedSample(split, cfg, n, 1);
  const images = centerBatch(split, indices, cfg.imageSize);
  const rm = await recallMatrix({
    mapsForBlock: (block: number) => teacher.allHeads(images, n, block),
    blocks: cfg.depth,
    heads: cfg.heads,
    gt,
    numPatches: gridOf(cfg).count,
    maskRatio: ratio,
  });
  const head = teacher.head;
  await atomicWriteFile(
    `${dir}/figure4.png`,
    await heatmapPng({
      title: `Recall of top-${Math.round(ratio * 100)}% GPA patches vs object (${n} val images; teacher ${headLabel(head)})`,
      rows: cfg.depth,
      cols: rm.columns,
      values: rm.recall,
      rowLabels: Array.from({ length: cfg.depth }, (_, b) => `b${b}`),
      colLabels: [...Array.from({ length: cfg.heads }, (_, h) => `h${h}`), "all"].slice(0, rm.columns),
      rowTitle: "block",
      colTitle: "head",
      highlight: [head.block, head.head === -1 ? cfg.heads : head.head],
    }),
  );
  out.figure4 = `${dir}/figure4.png`;

  // Figure 5: GPA on CamVid scenes (a dataset the teacher never saw).
  try {
    const camvid = await loadDataset({ name: "camvid", resolution: cfg.imageSize, valLimit: 8, trainLimit: 1 }, {
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
