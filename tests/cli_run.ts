/** Runs this suite's CLI in a child process (helper for tests; not a test file). */
import { fileURLToPath } from "node:url";
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/**
 * The caller's variables a test's child may inherit among the `GPA_*` ones: those that only choose what runs
 * the arithmetic (OpenBLAS or XNNPACK, the fused kernels; `.ci/run`'s newcomer pass sets `GPA_BLAS=off`).
 * Every other `GPA_*` variable (data, cache, teacher, micro-batch, deferred reads, downloads, debug) changes
 * what a command reads, writes or does, so a test that wants one passes it explicitly.
 */
const INHERITED_GPA_VARIABLES = new Set([
  "GPA_BLAS",
  "GPA_BLAS_THREADS",
  "GPA_BLAS_LIB",
  "GPA_BLAS_CORE",
  "GPA_NATIVE",
  "GPA_NATIVE_LIB",
  "GPA_CC",
  "GPA_TEST_WEBGPU",
]);

let scratchCache: string | undefined;

/**
 * The environment of a test's child process (pass it with `clearEnv: true`): the caller's environment without
 * its `GPA_*` settings (except the engine choice), `NO_COLOR=1`, a cache of this test process's own in place of
 * `data/cache` (removed when the process ends), then `extra`. A test never depends on, nor writes into, what
 * the person running the suite has set up.
 */
export function childEnv(
  extra: Record<string, string> = {},
  parent: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) {
    if (!k.startsWith("GPA_") || INHERITED_GPA_VARIABLES.has(k)) env[k] = v;
  }
  if (scratchCache === undefined) {
    scratchCache = Deno.makeTempDirSync({ prefix: "gpa-test-cache-" });
    const dir = scratchCache;
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    });
  }
  return { ...env, NO_COLOR: "1", GPA_OFFLINE: "1", GPA_CACHE_DIR: scratchCache, ...extra };
}

/** `deno run -A main.ts ...args` with `env` added to {@linkcode childEnv}; its exit code and decoded output. */
export async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
