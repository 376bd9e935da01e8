/**
 * The control strategies of the teacher ladder (`centre`, `mean-map`, `oracle-box`): GPA's soft-to-hard
 * masking driven by a centre prior, by the teacher's mean GPA map, or by the annotated object box. This file
 * resolves their requests into strategies and keeps the one thing they compute: the teacher's mean map,
 * cached on disk with the teacher's and the data's identity.
 * @module
 */
import { UsageError } from "../lib/cli.ts";
import { atomicWriteJson, ensureDir } from "../lib/fsutil.ts";
import { runHash } from "../lib/cache/mod.ts";
import { splitMaps, type Teacher } from "../lib/gpa.ts";
import { meanMapOf } from "../lib/gpa_math.ts";
import { createMaskStrategy } from "../lib/masking/mod.ts";
import type { MaskStrategy } from "../lib/masking/types.ts";
import type { ImageSplit } from "../lib/data/types.ts";

/** A control strategy's name (each an entry of the strategy registry, app/strategies.ts). */
export type ControlStrategy = "centre" | "mean-map" | "oracle-box";

/** GPA's shares, schedule and rounding as a control takes them. */
export interface ControlShares {
  maskRatio: number;
  soft: [number, number];
  hard: [number, number];
  overlap?: "paper" | "official";
  rounding?: "nearest" | "floor";
  clipSoft?: boolean;
}

/** A teacher's mean GPA map over a split's images, and what it is the mean of. */
export interface MeanMap {
  map: Float32Array;
  images: number;
  /** Hash of the teacher's identity and the data's fingerprint: the file it is cached in. */
  key: string;
}

const meanMemo = new Map<string, Promise<MeanMap>>();

/**
 * The teacher's mean GPA map over every image of `split` (each image's map min–max scaled, then averaged and
 * scaled again): computed once per teacher and data, and cached as `<cacheDir>/maps/mean-<key>.json`.
 */
export function ensureMeanMap(cacheDir: string, teacher: Teacher, split: ImageSplit): Promise<MeanMap> {
  const key = runHash({
    kind: "mean-gpa-map",
    teacher: teacher.describe(),
    data: split.fingerprint ?? split.name,
  });
  let p = meanMemo.get(key);
  if (!p) {
    p = loadOrComputeMean(cacheDir, key, teacher, split);
    meanMemo.set(key, p);
    p.catch(() => meanMemo.delete(key));
  }
  return p;
}

async function loadOrComputeMean(
  cacheDir: string,
  key: string,
  teacher: Teacher,
  split: ImageSplit,
): Promise<MeanMap> {
  const dir = `${cacheDir}/maps`;
  const path = `${dir}/mean-${key}.json`;
  const L = (teacher.cfg.imageSize / teacher.cfg.patchSize) ** 2;
  try {
    const saved = JSON.parse(await Deno.readTextFile(path));
    if (Array.isArray(saved.map) && saved.map.length === L && saved.images === split.count) {
      return { map: Float32Array.from(saved.map), images: saved.images, key };
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound || e instanceof SyntaxError)) throw e;
  }
  const indices = Int32Array.from({ length: split.count }, (_, i) => i);
  const map = meanMapOf(await splitMaps(teacher, split, indices), split.count, L);
  await ensureDir(dir);
  await atomicWriteJson(path, { teacher: teacher.describe(), images: split.count, map: [...map] });
  return { map, images: split.count, key };
}

/** What a control needs that the request does not carry. */
export interface ControlInputs {
  imageSize: number;
  patchSize: number;
  train: ImageSplit;
  cacheDir: string;
  /** The teacher (only `mean-map` uses it). */
  teacher?: () => Promise<Teacher>;
}

/**
 * Builds a control strategy: its map, then GPA's masking on it. `dependsOn` (mean-map only) adds the
 * teacher's identity to the run's, as a GPA run's does.
 */
export async function controlStrategy(
  name: ControlStrategy,
  shares: ControlShares,
  inputs: ControlInputs,
): Promise<{ strategy: MaskStrategy; dependsOn?: Record<string, unknown> }> {
  const geom = { imageSize: inputs.imageSize, patchSize: inputs.patchSize };
  switch (name) {
    case "centre":
      return { strategy: createMaskStrategy("centre", { ...shares, ...geom }) };
    case "oracle-box": {
      const boxes = inputs.train.boxes;
      if (!boxes) {
        throw new UsageError(`strategy oracle-box needs object boxes; ${inputs.train.name} has none`);
      }
      return { strategy: createMaskStrategy("oracle-box", { ...shares, ...geom, boxes }) };
    }
    case "mean-map": {
      const teacher = await inputs.teacher!();
      const mean = await ensureMeanMap(inputs.cacheDir, teacher, inputs.train);
      const strategy = createMaskStrategy("mean-map", {
        ...shares,
        map: mean.map,
        describeMap: { teacher: teacher.describe(), images: mean.images },
      });
      return { strategy, dependsOn: { teacher: teacher.describe() } };
    }
  }
}
