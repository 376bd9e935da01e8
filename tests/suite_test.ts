/**
 * Rules the test suite itself must keep, checked on its source:
 * - no test changes the process environment: `deno test --parallel` runs test files side by side in one
 *   process, so a variable set by one file (GPA_MICRO_BATCH, GPA_BLAS_LIB, …) silently changes how another
 *   file's runs train and which engine its subprocesses pick — the cause of bit-identity failures seen on
 *   machines without OpenBLAS. Pass options instead (`microBatch`, `blasLib`, a child's `env`).
 * @module
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const TESTS = fileURLToPath(new URL(".", import.meta.url));

Deno.test("suite: no test file sets or deletes process environment variables", async () => {
  const offenders: string[] = [];
  for await (const e of Deno.readDir(TESTS)) {
    if (!e.isFile || !e.name.endsWith(".ts") || e.name === "suite_test.ts") continue;
    const text = await Deno.readTextFile(`${TESTS}/${e.name}`);
    text.split("\n").forEach((line, i) => {
      if (/Deno\.env\.(set|delete)\s*\(/.test(line)) offenders.push(`${e.name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(
    offenders,
    [],
    `tests must not mutate the shared process environment:\n${offenders.join("\n")}`,
  );
});
