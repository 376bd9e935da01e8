import assert from "node:assert/strict";
import { cli } from "./cli_run.ts";

Deno.test("gpa-recall --hpm-from: an HPM run's predicted-loss maps judge §1's GPA-vs-HPM claim", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = async (args: string[], code = 0) => {
      const r = await cli([...args, "--backend", "wasm", "--cache-dir", `${dir}/cache`]);
      assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
      return r;
    };
    const hpm =
      JSON.parse((await run(["pretrain", "--strategy", "hpm", "--epochs", "1", "--json"])).stdout).hash;
    const rec = JSON.parse(
      (await run(["gpa-recall", "--hpm-from", hpm, "--images", "20", "--out", `${dir}/rec`, "--json"]))
        .stdout,
    );
    assert.equal(rec.hpmLoss.run, hpm);
    assert.ok(rec.hpmLoss.recall >= 0 && rec.hpmLoss.recall <= 1);
    const claim = rec.claims.find((c: { claimId: string }) => c.claimId === "fig1-gpa-beats-hpm-loss");
    assert.equal(claim.n, "20 pairs", "judged on the 20 images, not left 'not run'");
    // Without it the claim is not run; a run without HPM's predictor is a usage error.
    const plain = JSON.parse(
      (await run(["gpa-recall", "--images", "20", "--out", `${dir}/rec2`, "--json"])).stdout,
    );
    assert.equal(plain.hpmLoss, null);
    assert.equal(
      plain.claims.find((c: { claimId: string }) => c.claimId === "fig1-gpa-beats-hpm-loss").n,
      "0",
    );
    const mae = JSON.parse((await run(["pretrain", "--epochs", "1", "--json"])).stdout).hash;
    const bad = await run(["gpa-recall", "--hpm-from", mae, "--images", "20", "--out", `${dir}/rec3`], 2);
    assert.match(bad.stderr, /not an HPM pre-training run/);
    const typo = await run(["gpa-recall", "--hpm-from", "xyz", "--out", `${dir}/rec4`], 2);
    assert.match(typo.stderr, /16 hex digits/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
