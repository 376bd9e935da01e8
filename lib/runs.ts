/**
 * The cached runs at a glance (`main.ts runs`): kind, strategy, seed, epochs, status and the key metrics of
 * every run directory, read from its `config.json` and (when finished) `metrics.json`; nothing is loaded or
 * verified beyond the manifest's sizes.
 * @module
 */
import { RUN_HASH_PATTERN, RunCache } from "./cache/mod.ts";

/** One cached run. */
export interface RunSummary {
  hash: string;
  kind: string;
  profile?: string;
  strategy?: string;
  seed?: number;
  epochs?: number;
  /** complete (final weights and metrics), partial (checkpoints only: resumable), or empty. */
  status: "complete" | "partial" | "empty";
  /** The few numbers that say how the run went (loss, k-NN, top-1, mIoU). */
  keyMetrics: Record<string, number>;
  /** Last modification of the run directory. */
  modified: string | null;
  identity: Record<string, unknown>;
  metrics: Record<string, unknown> | null;
}

const KEYS = ["loss", "knnTop1", "top1", "miou"];

/** Summaries of every run under `<cacheDir>/runs`, newest first. */
export async function listRuns(cacheDir: string): Promise<RunSummary[]> {
  const cache = new RunCache(cacheDir);
  const out: RunSummary[] = [];
  let entries: Deno.DirEntry[] = [];
  try {
    entries = [...Deno.readDirSync(cache.runsDir)].filter((e) =>
      e.isDirectory && RUN_HASH_PATTERN.test(e.name)
    );
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  for (const e of entries) {
    const run = cache.runDir(e.name);
    const recorded = await run.readConfig().catch(() => null);
    const identity = (recorded ?? {}) as Record<string, unknown>;
    const complete = await run.isComplete();
    let metrics: Record<string, unknown> | null = null;
    if (complete) {
      try {
        metrics = JSON.parse(await Deno.readTextFile(run.metricsPath));
      } catch {
        metrics = null;
      }
    }
    const files = [...Deno.readDirSync(run.path)].map((f) => f.name);
    const strategy = identity.strategy as { name?: string } | undefined;
    const recipe = identity.recipe as { epochs?: number } | undefined;
    const keyMetrics: Record<string, number> = {};
    for (const k of KEYS) {
      const v = metrics?.[k];
      if (typeof v === "number" && Number.isFinite(v)) keyMetrics[k] = Math.round(v * 1000) / 1000;
    }
    const stat = await Deno.stat(run.path);
    out.push({
      hash: e.name,
      // Without a readable config.json nothing is known of the run: not "random init".
      kind: recorded === null ? "unknown (no readable config.json)" : String(identity.kind ?? "unknown"),
      profile: identity.profile as string | undefined,
      strategy: strategy?.name ??
        (recorded === null || identity.kind === "pretrain"
          ? undefined
          : (identity.from ? "from run" : "random init")),
      seed: identity.seed as number | undefined,
      epochs: recipe?.epochs,
      status: complete
        ? "complete"
        : files.some((f) => /^ckpt-\d+\.safetensors$/.test(f))
        ? "partial"
        : "empty",
      keyMetrics,
      modified: stat.mtime?.toISOString() ?? null,
      identity,
      metrics,
    });
  }
  return out.sort((a, b) => (b.modified ?? "").localeCompare(a.modified ?? ""));
}
