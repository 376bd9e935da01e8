/**
 * `plan` before anything ran: units that need the teacher wait for it (with no hash, which would depend on
 * its weights), the others are missing with their hashes, and the estimate adds the teacher's training only
 * when some unit waits for it and the profile trains its own.
 */
import assert from "node:assert/strict";
import { getProfile } from "../experiments/profiles.ts";
import { allPlans } from "../experiments/tables/mod.ts";
import type { RunContext } from "../app/runner.ts";
import { planEstimate, type PlannedUnit, planTable } from "../app/tables/plan.ts";
import { profileThroughput, teacherSeconds, unitSeconds } from "../app/tables/estimate.ts";
import { planContext } from "./fixtures.ts";

Deno.test("planTable on an empty cache: GPA rows wait for the teacher, the MAE row is missing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ctx: RunContext = { ...planContext("smoke"), cacheDir: dir };
    const profile = ctx.profile;
    const units = await planTable(ctx, allPlans(profile).table1, [0, 1]);
    assert.ok(units.length > 2);
    for (const u of units) {
      if (u.row === "random-init") {
        // No pre-training and no teacher: its fine-tuning can run at once.
        assert.equal(u.status, "missing", u.row);
        assert.equal(u.randomInit, true);
        assert.equal(u.pretrainHash, undefined);
        assert.match(u.evalHash ?? "", /^[0-9a-f]{16}$/);
      } else if (u.row === "mae") {
        assert.equal(u.status, "missing", u.row);
        assert.match(u.pretrainHash ?? "", /^[0-9a-f]{16}$/);
      } else {
        assert.equal(u.status, "waiting", u.row);
        assert.equal(u.waitingFor, "teacher", u.row);
        assert.equal(u.pretrainHash, undefined, u.row);
        assert.ok(u.shares, "a GPA row states its shares even before it can run");
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("planEstimate adds the teacher only when a unit waits for it and the profile trains it", () => {
  const cpu = getProfile("cpu");
  const own = structuredClone(cpu);
  delete own.gpa.teacher.weightsPath; // the profile's own MAE as teacher, trained first
  const units: PlannedUnit[] = [
    { row: "mae", seed: 0, status: "missing", estimateSeconds: 100 },
    { row: "gpa", seed: 0, status: "waiting", waitingFor: "teacher", estimateSeconds: 120 },
    { row: "gpa", seed: 1, status: "cached" },
    { row: "x", seed: -1, status: "not-run", notRun: "why" },
  ];
  const teacher = teacherSeconds(own)!;
  assert.ok(teacher > 0, "the cpu profile has a measured throughput");
  const e = planEstimate(own, units);
  assert.deepEqual([e.pending, e.estimated, e.teacherSeconds], [2, 2, teacher]);
  assert.equal(e.computeSeconds, teacher + 220);
  // A shipped teacher (a weights file) is never trained by the plan.
  assert.equal(planEstimate(cpu, units).teacherSeconds, 0);
  // Waiting for data costs no teacher.
  const data = units.map((u) => u.waitingFor ? { ...u, waitingFor: "data" as const } : u);
  assert.equal(planEstimate(own, data).computeSeconds, 220);
});

Deno.test("one head selection per teacher in a process: planning a table's GPA units selects (and logs) once", async () => {
  const { selectBackend } = await import("../lib/backend.ts");
  const { ensureTeacher } = await import("../app/teacher.ts");
  await selectBackend("wasm", { blas: "off" });
  const dir = await Deno.makeTempDir();
  try {
    const lines: string[] = [];
    const ctx: RunContext = { ...planContext("smoke"), cacheDir: dir, log: (l: string) => lines.push(l) };
    const teacher = await ensureTeacher(ctx, ctx.profile.gpa.teacher); // trains the smoke MAE teacher
    const units = await planTable(ctx, allPlans(ctx.profile).table1, [0, 1, 2]);
    assert.equal(units.filter((u) => u.row.startsWith("gpa") && u.status === "missing").length, 6);
    assert.equal(lines.filter((l) => l.startsWith("head selection")).length, 1, lines.join("\n"));
    assert.ok(teacher);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a frozen-feature linear probe on the cpu profile is estimated by its measured seconds, not by epochs", () => {
  const cpu = getProfile("cpu");
  assert.equal(cpu.linprobe.augment, false);
  const mae = allPlans(cpu).table1.rows.find((r) => r.key === "mae")!;
  assert.equal(unitSeconds(cpu, mae, "linprobe", { pretrained: true }), cpu.throughput!.linprobeSeconds);
  // Without the measured seconds the epochs × images / throughput fallback would say ≈ 20× more.
  const noSeconds = structuredClone(cpu);
  delete noSeconds.throughput!.linprobeSeconds;
  assert.ok(
    unitSeconds(noSeconds, mae, "linprobe", { pretrained: true })! > 10 * cpu.throughput!.linprobeSeconds!,
  );
});

Deno.test("profileThroughput: a kernel set's own numbers replace the profile's; the rest at its speed-up", () => {
  const cpu = structuredClone(getProfile("cpu"));
  cpu.throughput = {
    measured: "default set",
    trainImages: 100,
    pretrain: { random: 10, hpm: 5 },
    finetune: 20,
    linprobeSeconds: 60,
    segmentSeconds: 600,
    kernelSets: {
      Haswell: { measured: "fast set", scale: 2, pretrain: { random: 40 }, segmentSeconds: 250 },
    },
  };
  assert.equal(profileThroughput(cpu, null), cpu.throughput, "no OpenBLAS: the profile's model");
  assert.equal(profileThroughput(cpu, "Prescott"), cpu.throughput, "a set without numbers: the profile's");
  const fast = profileThroughput(cpu, "haswell")!; // matched without regard to case
  assert.deepEqual(fast.pretrain, { random: 40, hpm: 10 }, "measured 40; hpm 5 × 2");
  assert.equal(fast.finetune, 40);
  assert.equal(fast.segmentSeconds, 250);
  assert.equal(fast.linprobeSeconds, 30, "seconds shrink by the speed-up");
  assert.equal(fast.measured, "fast set; the rest: default set, × 2");
  assert.equal(profileThroughput({ ...cpu, throughput: undefined }, "Haswell"), undefined);
});
