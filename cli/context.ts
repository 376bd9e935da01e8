/**
 * Run context, output and signals shared by every command: global options → profile, cache, data and backend; one result printer; SIGINT/SIGTERM handling that --jobs workers share.
 * @module
 */
import { fileURLToPath } from "node:url";
import { BACKEND_NAMES, type BackendName, engineLabel, selectBackend } from "../lib/backend.ts";
import { int, oneOf, pathOption, str, UsageError, type Values } from "../lib/cli.ts";
import { getProfile, UnknownProfileError } from "../experiments/profiles.ts";
import type { RunContext } from "../app/runner.ts";

// fileURLToPath, not URL.pathname: a checkout under a path with a space must not become "%20".
export const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/** GPA_MICRO_BATCH, when set, must be a positive integer (checked before any work). */
export function checkMicroBatchEnv(): void {
  const v = Deno.env.get("GPA_MICRO_BATCH");
  if (v !== undefined && v !== "" && !/^[1-9]\d*$/.test(v.trim())) {
    throw new UsageError(`GPA_MICRO_BATCH must be a positive integer, got '${v}'`);
  }
}

/** GPA_DEFER_READS, when set, must be 0 or 1 (checked before any work, not once a run directory exists). */
export function checkDeferReadsEnv(): void {
  const v = Deno.env.get("GPA_DEFER_READS");
  if (v !== undefined && v !== "" && v !== "0" && v !== "1") {
    throw new UsageError(`GPA_DEFER_READS must be 0 or 1, got '${v}'`);
  }
}

/** A directory from `--name` (empty: usage error) or the environment variable `env` (empty: unset). */
export function dirOption(values: Values, name: string, env?: string): string | undefined {
  const flag = pathOption(values, name);
  if (flag !== undefined) return flag;
  const fromEnv = env ? Deno.env.get(env) : undefined;
  return fromEnv && fromEnv.trim() !== "" ? fromEnv : undefined;
}

/**
 * Checks, before any work, that `path` can become an output folder (`kind: "dir"`) or file (`"file"`): not
 * an existing entry of the other kind, and below a folder, not a file. Writes nothing. A missing parent of a
 * file is an error when `parentMustExist` (nothing creates it); folders are created by the command.
 */
export async function checkOutputPath(
  flag: string,
  path: string,
  kind: "dir" | "file",
  o: { parentMustExist?: boolean } = {},
): Promise<void> {
  const st = await Deno.stat(path).catch(() => null);
  if (st) {
    if (kind === "dir" && !st.isDirectory) throw new UsageError(`--${flag} ${path} is a file, not a folder`);
    if (kind === "file" && st.isDirectory) throw new UsageError(`--${flag} ${path} is a folder, not a file`);
    return;
  }
  const { dirname, resolve } = await import("node:path");
  let parent = dirname(resolve(path));
  for (let first = true;; first = false) {
    const p = await Deno.stat(parent).catch(() => null);
    if (p) {
      if (!p.isDirectory) throw new UsageError(`--${flag} ${path}: ${parent} is a file, not a folder`);
      return;
    }
    if (first && o.parentMustExist) {
      throw new UsageError(`--${flag} ${path}: the folder ${parent} does not exist (create it first)`);
    }
    if (dirname(parent) === parent) return;
    parent = dirname(parent);
  }
}

/**
 * The image folder a command trains and evaluates on: `--data-path DIR`, or `--data-dir DIR` where DIR has
 * the layout (`train/<class>/*`, `val/<class>/*`); otherwise `--data-dir` keeps its meaning of a place where
 * datasets are searched for. `--data-path` without that layout is a usage error that shows it.
 */
export async function imageFolderOption(values: Values): Promise<string | undefined> {
  const { isImageFolderLayout } = await import("../lib/data/image_folder.ts");
  const path = pathOption(values, "data-path");
  const dir = pathOption(values, "data-dir");
  if (path !== undefined && dir !== undefined) {
    throw new UsageError("--data-path and --data-dir name the same thing here: give one of them");
  }
  if (path !== undefined) {
    if (!(await isImageFolderLayout(path))) {
      throw new UsageError(
        `--data-path ${path} is not an image folder: it needs train/<class>/<image> and val/<class>/<image> ` +
          "(class folders named alike in both; .jpg, .png, .webp, …)",
      );
    }
    return path;
  }
  return dir !== undefined && (await isImageFolderLayout(dir)) ? dir : undefined;
}

/** Builds the run context from the global options (validating them) and activates the backend. */
export async function context(values: Values): Promise<RunContext & { backendReasons: string[] }> {
  const profileName = str(values, "profile", "smoke")!;
  let profile;
  try {
    profile = getProfile(profileName);
  } catch (e) {
    if (e instanceof UnknownProfileError) throw new UsageError(e.message);
    throw e;
  }
  // The profile's teacher weights: --teacher-weights (table, pretrain, figures, ...) or GPA_TEACHER_WEIGHTS.
  const weightsFlag = pathOption(values, "teacher-weights");
  const teacherWeights = weightsFlag ?? (Deno.env.get("GPA_TEACHER_WEIGHTS") || undefined);
  checkMicroBatchEnv();
  checkDeferReadsEnv();
  if (teacherWeights !== undefined) profile.gpa.teacher.weightsPath = teacherWeights;
  const backend = oneOf(values, "backend", BACKEND_NAMES, "auto") as BackendName;
  const seed = int(values, "seed", undefined, 0, 2 ** 31 - 1);
  if (seed !== undefined) profile.seeds = [seed];
  // An empty flag is a usage error; an empty environment variable counts as unset (never "the root").
  const cacheDir = dirOption(values, "cache-dir", "GPA_CACHE_DIR") ?? `${PROJECT_ROOT}/data/cache`;
  const dataDir = dirOption(values, "data-dir", "GPA_DATA_DIR");
  const dataPath = await imageFolderOption(values);
  if (dataPath !== undefined) {
    // Any profile trains and evaluates on an image folder: its classes, its images at the profile's size.
    profile.dataset = { name: "imagefolder", resolution: profile.dataset.resolution, root: dataPath };
  } else if (profile.dataset.name === "imagefolder" && dataDir !== undefined) {
    // An image-folder profile (paper: ImageNet-1K) reads its train/ and val/ class folders from --data-dir.
    profile.dataset.root = dataDir;
  }
  const quiet = values.quiet === true;
  const choice = await selectBackend(backend);
  const stopSignal = { stopped: false };
  return {
    profile,
    cacheDir,
    dataDir,
    ...(dataPath !== undefined ? { dataPath } : {}),
    // Reports name what ran the matrix products on wasm (OpenBLAS or XNNPACK).
    backend: engineLabel(),
    backendReasons: choice.reasons,
    log: quiet ? () => {} : (l: string) => console.error(l),
    stopSignal,
  };
}

/** `--jobs` worker processes of this invocation; a stop signal is passed on to them. */
export const workers = new Set<Deno.ChildProcess>();

export function installSignalHandlers(stop: { stopped: boolean }): void {
  let first = 0;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(sig, () => {
        // A Ctrl-C reaches the workers directly and again through us: signals within 2 s count as one.
        if (stop.stopped && performance.now() - first > 2000) Deno.exit(130); // a second signal: leave now
        if (stop.stopped) return;
        stop.stopped = true;
        first = performance.now();
        for (const w of workers) {
          try {
            w.kill("SIGTERM");
          } catch {
            // already gone
          }
        }
        console.error(
          `\n${sig}: finishing the current step and writing a checkpoint (again to quit at once)`,
        );
      });
    } catch {
      // Signals are not available on every platform.
    }
  }
}

export function print(values: Values, data: unknown, text: string): void {
  if (values.json) console.log(JSON.stringify(data, null, 2));
  else console.log(text);
}
