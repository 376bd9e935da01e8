/**
 * Fixtures shared by the run-cache tests (`cache_*_test.ts`; helper for tests, not a test file): a throwaway
 * cache, a toy config and toy tensors, and small file helpers.
 * @module
 */
import { RunCache } from "../lib/cache/run_cache.ts";
import type { NamedTensors } from "../lib/safetensors.ts";

/** Runs `fn` on a fresh cache in a temp directory (removed afterwards), collecting its warnings. */
export async function withCache(
  fn: (cache: RunCache, warnings: string[], dir: string) => Promise<void>,
  keepCheckpoints?: number,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cache_test_" });
  const warnings: string[] = [];
  try {
    await fn(new RunCache(dir, { warn: (m) => warnings.push(m), keepCheckpoints }), warnings, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The names in `dir`, sorted. */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Weights and Adam moments of a toy model; `seed` makes each epoch's values distinct. */
export function toyTensors(seed: number): NamedTensors {
  const w = new Float32Array(64).map((_, i) => Math.sin(seed * 100 + i));
  return {
    "blocks.0.attn.qkv.weight": { shape: [8, 8], data: w },
    "opt.m.blocks.0.attn.qkv.weight": { shape: [8, 8], data: w.map((v) => v * 0.1) },
    "opt.v.blocks.0.attn.qkv.weight": { shape: [8, 8], data: w.map((v) => v * v) },
    "pos_embed": { shape: [1, 2, 4], data: new Float32Array([seed, 1, 2, 3, 4, 5, 6, 7]) },
    "step_counter": { shape: [1], data: new Int32Array([seed * 10]) },
  };
}

/** A run config of the usual shape. */
export const CONFIG = { model: "vit-tiny", maskRatio: 0.75, mask: { kind: "gpa", alpha: [0, 0.5] }, seed: 1 };

/** Flips one bit of a file in place (`index < 0` counts from the end). */
export async function flipBit(path: string, index: number, bit: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[index < 0 ? bytes.length + index : index] ^= 1 << bit;
  await Deno.writeFile(path, bytes);
}
