import assert from "node:assert/strict";
import { recallClaims } from "../lib/report/recall_claims.ts";
import { onRowsNotRun } from "../lib/report/verdict.ts";

Deno.test("recall claims: GPA vs CLS attention and HPM's predicted loss, paired over images; depth", () => {
  const n = 40;
  const gpa = Array.from({ length: n }, (_, i) => 0.8 + 0.01 * (i % 5));
  const cls = gpa.map((x, i) => x - 0.1 + 0.005 * (i % 3));
  const blocks = [gpa.map((x) => x - 0.2), gpa.map((x) => x - 0.1), gpa];
  const v = Object.fromEntries(
    recallClaims({ perImage: { gpa, "cls-attention": cls }, perBlock: blocks }).map((x) => [x.claimId, x]),
  );
  assert.equal(v["fig1-gpa-beats-cls-attention"].outcome, "reproduced");
  assert.equal(v["fig1-gpa-beats-cls-attention"].n, `${n} pairs`);
  // The pairs are images: the detail and the rule say so, not "per seed".
  assert.match(v["fig1-gpa-beats-cls-attention"].detail, /per-image differences/);
  assert.doesNotMatch(
    v["fig1-gpa-beats-cls-attention"].rule + v["fig1-gpa-beats-cls-attention"].detail,
    /per seed|per-seed/,
  );
  // No HPM maps (no trained HPM run): not run, never "not reproduced".
  assert.ok(onRowsNotRun(v["fig1-gpa-beats-hpm-loss"]));
  assert.equal(v["fig1-gpa-beats-hpm-loss"].outcome, "inconclusive");
  assert.equal(v["fig4-recall-rises-with-depth"].outcome, "reproduced");
  assert.match(
    v["fig4-recall-rises-with-depth"].detail,
    /block means 0\.620 → 0\.720 → 0\.820 \(rising at every block\)/,
  );
  // CLS attention ahead of GPA on every image: not reproduced.
  const worse = recallClaims({ perImage: { gpa: cls, "cls-attention": gpa } })[0];
  assert.equal(worse.outcome, "not reproduced");
  assert.ok(worse.holm, "Holm over the recall claims");
});

Deno.test("gpa-recall reports the recall claims beside GPA's recall (smoke teacher)", async () => {
  const { selectBackend } = await import("../lib/backend.ts");
  const { getProfile } = await import("../experiments/profiles.ts");
  const { ensureTeacher } = await import("../app/teacher.ts");
  const { gpaRecall } = await import("../app/figures.ts");
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
    const teacher = await ensureTeacher(ctx, profile.gpa.teacher);
    const r = await gpaRecall(ctx, teacher, 12);
    teacher.dispose();
    assert.deepEqual(r.claims.map((v) => v.claimId), [
      "fig1-gpa-beats-cls-attention",
      "fig1-gpa-beats-hpm-loss",
      "fig4-recall-rises-with-depth",
    ]);
    assert.equal(r.claims[0].n, "12 pairs");
    assert.ok(onRowsNotRun(r.claims[1]), "HPM: not run");
    assert.ok(r.clsAttentionRecall >= 0 && r.clsAttentionRecall <= 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
