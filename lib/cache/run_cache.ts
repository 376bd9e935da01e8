/**
 * The run cache as a whole: the root `<cacheDir>/runs/`, which maps a config to its run directory by
 * {@linkcode runHash}, lists the runs present, and sums them up for `doctor` ({@linkcode cacheSummary}).
 * What happens inside one run directory is `run_dir.ts`; this file only finds and counts them.
 * @module
 */
import { exists } from "../fsutil.ts";
import { RUN_HASH_PATTERN, runHash } from "./hash.ts";
import { type RunCacheOptions, RunDir } from "./run_dir.ts";

/** The root of the run cache: `<cacheDir>/runs/<hash>/`. */
export class RunCache {
  /** The cache root. */
  readonly cacheDir: string;
  /** `<cacheDir>/runs`. */
  readonly runsDir: string;
  readonly #options: RunCacheOptions;

  /** Opens (lazily; nothing is created until written) the cache rooted at `cacheDir`. */
  constructor(cacheDir: string, options: RunCacheOptions = {}) {
    this.cacheDir = cacheDir.replace(/\/+$/, "") || "/";
    this.runsDir = `${this.cacheDir}/runs`;
    this.#options = options;
  }

  /** The directory of the run with this hash (see {@linkcode runHash}); nothing is created yet. */
  runDir(hash: string): RunDir {
    if (!RUN_HASH_PATTERN.test(hash)) throw new TypeError(`invalid run hash "${hash}" (want 16 hex digits)`);
    return new RunDir(`${this.runsDir}/${hash}`, hash, this.#options);
  }

  /** Hashes `config`, creates its run directory if needed and records `config.json` there. */
  async openRun(config: unknown): Promise<RunDir> {
    const run = this.runDir(runHash(config));
    await run.writeConfig(config);
    return run;
  }

  /** Hashes of the runs present in the cache, sorted. */
  async listRuns(): Promise<string[]> {
    const hashes: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.runsDir)) {
        if (entry.isDirectory && RUN_HASH_PATTERN.test(entry.name)) hashes.push(entry.name);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    return hashes.sort();
  }
}

/** What {@linkcode cacheSummary} reports. */
export interface CacheSummary {
  /** Run directories. */
  runs: number;
  /** Runs whose final weights and metrics are present (sizes checked against the manifest). */
  completeRuns: number;
  /** Bytes of all files under `<cacheDir>/runs`. */
  bytes: number;
  /** Files that were moved aside as corrupt (`*.corrupt-*`, not counting their reason notes). */
  corruptFiles: number;
  /** Runs that currently have a lock file (running, or left by a crashed process). */
  lockedRuns: number;
}

/** Counts runs, finished runs and bytes of a cache, for `doctor`. Reads no file contents beyond manifests. */
export async function cacheSummary(cacheDir: string): Promise<CacheSummary> {
  const cache = new RunCache(cacheDir, { warn: () => {} });
  const summary: CacheSummary = { runs: 0, completeRuns: 0, bytes: 0, corruptFiles: 0, lockedRuns: 0 };
  for (const hash of await cache.listRuns()) {
    const run = cache.runDir(hash);
    summary.runs++;
    if (await run.isComplete()) summary.completeRuns++;
    if (await exists(run.lockPath)) summary.lockedRuns++;
  }
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) {
        summary.bytes += (await Deno.lstat(path)).size;
        if (/\.corrupt-[^/]*$/.test(entry.name) && !entry.name.endsWith(".reason.txt")) {
          summary.corruptFiles++;
        }
      }
    }
  };
  if (await exists(cache.runsDir)) await walk(cache.runsDir);
  return summary;
}
