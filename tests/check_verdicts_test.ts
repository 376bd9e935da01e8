import assert from "node:assert/strict";
import { compareVerdicts, type VerdictReport } from "../tasks/check_verdicts.ts";

const header = {
  tableId: "table1",
  profile: "cpu",
  dataset: "tiny-imagenet (first 50 classes, 250/class)",
  resolution: 64,
  model: "ViT 128-d × 4",
  epochs: "4 pre-train + 4 fine-tune",
  seeds: [0, 1, 2, 3, 4],
  commit: "abc1234",
};
const report = (outcome: string, h: Record<string, unknown> = header): VerdictReport => ({
  header: h,
  verdicts: [{ claimId: "c1", outcome, delta: 0.5 }],
});

Deno.test("check_verdicts: same verdicts pass, a flip fails, different experiments are refused", () => {
  assert.equal(
    compareVerdicts(report("reproduced"), report("reproduced", { ...header, commit: "def" })).code,
    0,
  );
  const flip = compareVerdicts(report("reproduced"), report("inconclusive"));
  assert.equal(flip.code, 1);
  assert.match(flip.lines[0], /c1: reproduced → inconclusive/);
  const other = compareVerdicts(report("reproduced"), report("reproduced", { ...header, resolution: 32 }));
  assert.equal(other.code, 2);
  assert.match(other.lines[0], /different experiments: resolution 64 → 32/);
  assert.equal(compareVerdicts(report("x"), report("x", { ...header, seeds: [0, 1] })).code, 2);
});
