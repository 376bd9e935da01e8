import assert from "node:assert/strict";
import { STRATEGY_NAMES, STRATEGY_REGISTRY, strategyEntry, strategyNeedsTeacher } from "../app/strategies.ts";
import { STRATEGIES, strategyFlagScopes } from "../cli/flags.ts";
import { HELP } from "../cli/help.ts";
import { getProfile } from "../experiments/profiles.ts";

Deno.test("strategy registry: one entry per name; the CLI, help and estimates read it", () => {
  assert.equal(new Set(STRATEGY_NAMES).size, STRATEGY_NAMES.length, "names are unique");
  assert.deepEqual([...STRATEGIES], [...STRATEGY_NAMES]);
  for (const name of STRATEGY_NAMES) assert.ok(HELP.includes(name), `help lists ${name}`);
  const rates = getProfile("cpu").throughput!.pretrain;
  for (const e of STRATEGY_REGISTRY) {
    assert.ok(rates[e.throughputKey] > 0, `${e.name}: a measured throughput`);
  }
  assert.throws(
    () => strategyEntry("bogus"),
    (e: unknown) => e instanceof RangeError && /valid: random/.test(String(e)),
  );
});

Deno.test("strategy registry: who needs the teacher, and which flags change whom", () => {
  assert.deepEqual(STRATEGY_NAMES.filter(strategyNeedsTeacher), ["gpa", "cls-attention", "mean-map"]);
  const scope = (flag: string) => strategyFlagScopes().find((g) => g.flags.includes(flag))?.strategies;
  assert.deepEqual(scope("teacher-weights"), ["gpa", "cls-attention", "mean-map"]);
  assert.deepEqual(scope("teacher-head"), ["gpa", "mean-map"]);
  assert.deepEqual(scope("soft"), ["gpa", "centre", "mean-map", "oracle-box"]);
  assert.deepEqual(scope("mam"), ["gpa"]);
  // Every flag belongs to exactly one group.
  const flags = strategyFlagScopes().flatMap((g) => g.flags);
  assert.equal(new Set(flags).size, flags.length);
});
