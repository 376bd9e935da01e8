import assert from "node:assert/strict";
import { packCorrect, seedImageBootstrap, unpackCorrect } from "../lib/report/bootstrap.ts";
import { Rng } from "../lib/rng.ts";

Deno.test("packCorrect: one bit per image survives the round trip", () => {
  const c = Uint8Array.from([1, 0, 0, 1, 1, 1, 0, 1, 0, 1, 1]);
  assert.deepEqual(unpackCorrect(packCorrect(c)), c);
  assert.equal(
    packCorrect(new Uint8Array(2500)).length,
    "2500:".length + Math.ceil(313 / 3) * 4,
    "313 bytes",
  );
  assert.throws(() => unpackCorrect("40:" + packCorrect(c).split(":")[1]), /not 40 images/);
  assert.throws(() => unpackCorrect("garbage"), /N:base64/);
});

Deno.test("seedImageBootstrap: centred on the paired difference, wider than seeds alone, reproducible", () => {
  const n = 400, rng = new Rng(3);
  // Row a classifies 60 % of the images right, b 55 %, on every seed (with per-seed jitter).
  const run = (p: number) => Uint8Array.from({ length: n }, () => (rng.next() < p ? 1 : 0));
  const a = [0, 1, 2, 3].map(() => run(0.6)), b = [0, 1, 2, 3].map(() => run(0.55));
  const r = seedImageBootstrap(a, b)!;
  const mean = (xs: Uint8Array[]) => xs.reduce((s, x) => s + x.reduce((t, v) => t + v, 0) / n, 0) / xs.length;
  assert.ok(Math.abs(r.estimate - 100 * (mean(a) - mean(b))) < 1e-9);
  assert.ok(r.ci[0] < r.estimate && r.estimate < r.ci[1]);
  assert.equal(r.pairs, 4);
  assert.deepEqual(seedImageBootstrap(a, b)!.ci, r.ci, "seeded");
  // Identical runs: a difference of exactly 0 in every resample.
  assert.deepEqual(seedImageBootstrap(a, a)!.ci, [0, 0]);
  // A single image-level difference of one image in 400 is 0.25 points, whatever the resample.
  const one = a.map((x) => Uint8Array.from(x, (v, i) => (i === 0 ? 1 : v)));
  const zero = a.map((x) => Uint8Array.from(x, (v, i) => (i === 0 ? 0 : v)));
  const r1 = seedImageBootstrap(one, zero)!;
  assert.ok(Math.abs(r1.estimate - 0.25) < 1e-9);
  assert.equal(seedImageBootstrap([a[0]], [b[0]]), null, "one pair: no interval");
});

Deno.test("reports: a verdict gets the seed × image bootstrap when its runs recorded per-image predictions", async () => {
  const { withBootstrap } = await import("../app/tables/mod.ts");
  const { judgeClaim } = await import("../lib/report/verdict.ts");
  const { renderTableReport, tableReportJson } = await import("../lib/report/markdown.ts");
  const n = 200, rng = new Rng(5);
  const run = (p: number) => Uint8Array.from({ length: n }, () => (rng.next() < p ? 1 : 0));
  const units = [0, 1, 2].flatMap((seed) => [
    { row: "a", seed, correct: packCorrect(run(0.6)) },
    { row: "b", seed, correct: packCorrect(run(0.5)) },
  ]);
  const acc = (row: string) =>
    units.filter((u) => u.row === row).map((u) => {
      const c = unpackCorrect(u.correct);
      return (100 * c.reduce((s, x) => s + x, 0)) / n;
    });
  const claim = { kind: "greater" as const, id: "c", text: "a > b", metric: "finetune", a: "a", b: "b" };
  const v = judgeClaim(claim, { a: acc("a"), b: acc("b") }, {
    paired: true,
    seeds: { a: [0, 1, 2], b: [0, 1, 2] },
  });
  const boot = withBootstrap(v, "finetune", units);
  assert.ok(boot.bootstrap, "second interval");
  assert.deepEqual([boot.bootstrap!.pairs, boot.bootstrap!.images], [3, 200]);
  assert.ok(boot.bootstrap!.ci[0] <= v.delta && v.delta <= boot.bootstrap!.ci[1]);
  // Old runs (no per-image record): none, and the report says which interval the verdict uses.
  const old = withBootstrap(v, "finetune", units.map(({ row, seed }) => ({ row, seed })));
  assert.equal(old.bootstrap, undefined);
  const input = (verdicts: typeof v[]) => ({
    header: {
      title: "T",
      profile: "cpu",
      dataset: "d",
      resolution: 64,
      model: "m",
      epochs: 4,
      backend: "wasm",
      seeds: [0, 1, 2],
      commit: "x",
      date: "d",
      wallTimeSeconds: 0,
      cacheHits: { hits: 0, total: 0 },
    },
    metric: { key: "finetune", label: "fine-tune top-1" },
    rows: [],
    verdicts,
    deviations: [],
    notes: [],
  });
  assert.match(renderTableReport(input([boot])), /seed × image bootstrap 95 % \[[−+]?\d/);
  assert.match(renderTableReport(input([boot])), /The verdicts use the paired t interval over seeds/);
  assert.match(renderTableReport(input([old])), /did not record per-image predictions, so no image-level/);
  const json = tableReportJson(input([boot])) as { verdicts: { bootstrap?: unknown }[] };
  assert.ok(json.verdicts[0].bootstrap, "in the JSON");
});

Deno.test("a fine-tuning run records which validation images it classified correctly (smoke)", async () => {
  const { selectBackend } = await import("../lib/backend.ts");
  const { getProfile } = await import("../experiments/profiles.ts");
  const { allPlans } = await import("../experiments/tables/mod.ts");
  const { runUnit, tableUnits } = await import("../app/tables/mod.ts");
  await selectBackend("wasm", { blas: "off" });
  const dir = await Deno.makeTempDir();
  try {
    const profile = getProfile("smoke");
    const ctx = {
      profile,
      cacheDir: dir,
      backend: "wasm",
      log: () => {},
      stopSignal: { stopped: false },
      progress: false,
    };
    const plan = allPlans(profile).table1;
    const unit = tableUnits(plan, [0]).find((u) => u.row.randomInit)!;
    const r = await runUnit(ctx, plan, unit);
    const c = unpackCorrect(r.correct!);
    assert.equal(c.length, 20 * 10, "every validation image of the smoke data");
    assert.ok(
      Math.abs((100 * c.reduce((s, x) => s + x, 0)) / c.length - r.value) < 1e-9,
      "agrees with top-1",
    );
    const again = await runUnit(ctx, plan, unit); // a cache hit reads it back
    assert.equal(again.correct, r.correct);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
