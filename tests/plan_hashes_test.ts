/**
 * Refactors keep run identities: the pre-training and evaluation hashes of every (row × seed) unit of every
 * table on the smoke profile are pinned here (tests/fixtures/plan_hashes_smoke.json), and the hashes `plan`
 * predicts are those the runs get. A deliberate change of a run's meaning
 * updates the fixture in its own commit, saying so (`GPA_PIN_HASHES=write deno test -A tests/plan_hashes_test.ts`).
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { selectBackend } from "../lib/backend.ts";
import { allPlans, TABLE_IDS } from "../experiments/tables/mod.ts";
import { getProfile } from "../experiments/profiles.ts";
import type { RunContext } from "../app/runner.ts";
import { ensureTeacher } from "../app/teacher.ts";
import { planTable } from "../app/tables/plan.ts";
import { runUnit, tableUnits } from "../app/tables/mod.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/plan_hashes_smoke.json", import.meta.url));

Deno.test("plan hashes of every table on the smoke profile are as pinned", async () => {
  await selectBackend("wasm", { blas: "off" });
  const dir = await Deno.makeTempDir();
  try {
    const profile = getProfile("smoke");
    const ctx: RunContext = {
      profile,
      cacheDir: dir,
      backend: "wasm",
      log: () => {},
      stopSignal: { stopped: false },
      progress: false,
    };
    (await ensureTeacher(ctx, profile.gpa.teacher)).dispose(); // GPA rows' hashes include the teacher's
    const got: Record<string, string> = {};
    for (const id of TABLE_IDS) {
      for (const u of await planTable(ctx, allPlans(profile)[id], [0, 1])) {
        if (u.pretrainHash) got[`${id}/${u.row}/s${u.seed}`] = u.pretrainHash;
        if (u.evalHash) got[`${id}/${u.row}/s${u.seed}/eval`] = u.evalHash;
        if (u.sideHash) got[`${id}/${u.row}/s${u.seed}/side`] = u.sideHash;
      }
    }
    // What plan predicts is what a run gets: a fine-tuned, a linear-probed and a segmentation unit, run for real.
    for (const id of ["table1", "table7", "table2"]) {
      const plan = allPlans(profile)[id];
      const unit = tableUnits(plan, [0]).find((u) => !u.row.randomInit)!;
      const ran = await runUnit(ctx, plan, unit);
      assert.equal(ran.pretrainHash, got[`${id}/${unit.row.key}/s0`], `${id} pre-training hash`);
      assert.equal(ran.evalHash, got[`${id}/${unit.row.key}/s0/eval`], `${id} evaluation hash`);
    }
    // A random-init unit: no pre-training, and the evaluation plan predicted.
    const plan1 = allPlans(profile).table1;
    const floor = tableUnits(plan1, [0]).find((u) => u.row.randomInit)!;
    const ranFloor = await runUnit(ctx, plan1, floor);
    assert.equal(ranFloor.pretrainHash, "");
    assert.equal(ranFloor.evalHash, got["table1/random-init/s0/eval"], "random-init evaluation hash");
    assert.equal(
      got["table1/random-init/s0/eval"],
      got["teachers/random-init/s0/eval"],
      "one floor for all tables",
    );
    // @ts-ignore: GPA_PIN_HASHES is read only to regenerate the fixture deliberately
    if (Deno.env.get("GPA_PIN_HASHES") === "write") {
      await Deno.writeTextFile(FIXTURE, JSON.stringify(got, null, 2) + "\n");
    }
    const pinned = JSON.parse(await Deno.readTextFile(FIXTURE));
    assert.deepEqual(got, pinned);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
