/** The speed checks moved out of the suite into `deno task bench -- --only checks` (issue 25, item 16). */
import assert from "node:assert/strict";
import { BENCH_STEPS, SpeedCheckError } from "../bench/mod.ts";
import { describeCheck, type SpeedCheck } from "../bench/speed_checks.ts";
import { reportError } from "../main.ts";
import { cli } from "./cli_run.ts";

Deno.test("bench: the speed checks are a step of `bench --only`; a missed limit is a failure (exit 1), named", async () => {
  assert.ok(BENCH_STEPS.includes("checks"));
  const c: SpeedCheck = { name: "k-NN", value: 31.5, unit: "s", bound: "max", limit: 20, ok: false };
  assert.equal(describeCheck(c), "speed check FAILED: k-NN: 31.5 s (at most 20)");
  assert.equal(describeCheck({ ...c, ok: true, value: 2 }), "speed check ok: k-NN: 2 s (at most 20)");
  assert.match(describeCheck({ ...c, ok: true, skipped: "no PyTorch" }), /skipped: k-NN \(no PyTorch\)/);
  const quiet = console.error;
  console.error = () => {};
  try {
    assert.equal(reportError(new SpeedCheckError([c])), 1);
  } finally {
    console.error = quiet;
  }
  const bad = await cli(["bench", "--only", "nope"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /valid: .*checks/);
});

Deno.test("tests assert behaviour, not the machine's speed: no test file compares a measured duration", async () => {
  // A duration measured with performance.now() or Date.now() inside an assertion fails on a busy machine.
  const offenders: string[] = [];
  for (const dir of ["tests", "tests/slow"]) {
    for await (const e of Deno.readDir(new URL(`../${dir}/`, import.meta.url))) {
      if (!e.isFile || !e.name.endsWith(".ts") || e.name === "bench_checks_test.ts") continue;
      const text = await Deno.readTextFile(new URL(`../${dir}/${e.name}`, import.meta.url));
      text.split("\n").forEach((line, i) => {
        if (/assert[\w.]*\(.*(performance\.now|Date\.now)\(\)\s*-/.test(line) && !/>=/.test(line)) {
          offenders.push(`${dir}/${e.name}:${i + 1}: ${line.trim()}`);
        }
      });
    }
  }
  assert.deepEqual(offenders, []);
});
