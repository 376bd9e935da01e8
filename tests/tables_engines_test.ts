/** The engine line of a report's header and its engine-mix note (app/tables/engines.ts). */
import assert from "node:assert/strict";
import { describeEngines, engineMixNote } from "../app/tables/engines.ts";

Deno.test("describeEngines: this invocation's engine, then the runs' engines when they differ", () => {
  const blas = "wasm (matMul: OpenBLAS 0.3.21)";
  const xnn = "wasm (matMul: XNNPACK)";
  assert.equal(describeEngines(blas, []), blas);
  assert.equal(describeEngines(blas, [blas, blas]), blas);
  assert.equal(
    describeEngines(blas, [blas, undefined, blas, null, xnn]),
    `${blas}; runs: ${blas} × 2, not recorded × 2, ${xnn} × 1`,
  );
  assert.equal(describeEngines("webgpu", [blas]), `webgpu; runs: ${blas} × 1`);
});

Deno.test("engineMixNote: a table whose runs name two engines says which rows ran on which", () => {
  const fused = "wasm (matMul: OpenBLAS 0.3.21; fused kernels)";
  const plain = "wasm (matMul: OpenBLAS 0.3.21)";
  const unit = (row: string, seed: number, engines: unknown[]) => ({ row, seed, meta: { engines } });
  assert.equal(engineMixNote([unit("mae", 0, [fused, fused]), unit("gpa", 0, [fused, null])]), null);
  const note = engineMixNote([unit("mae", 0, [plain, plain]), unit("gpa", 0, [fused, fused])]);
  assert.ok(note?.startsWith("Engine mix:"), String(note));
  assert.ok(note!.includes(`${plain} (mae s0)`) && note!.includes(`${fused} (gpa s0)`), note!);
});

Deno.test("engineMixNote: runs from before kernel sets were named, beside one named set, get their own note", () => {
  const old = "wasm (matMul: OpenBLAS 0.3.21; fused kernels)";
  const prescott = "wasm (matMul: OpenBLAS 0.3.21 Prescott; fused kernels)";
  const haswell = "wasm (matMul: OpenBLAS 0.3.21 Haswell; fused kernels)";
  const unit = (row: string, seed: number, engines: unknown[]) => ({ row, seed, meta: { engines } });
  const note = engineMixNote([unit("mae", 0, [old, old]), unit("mae", 3, [prescott, prescott])])!;
  assert.match(
    note,
    /^Kernel set: the runs of mae s0 were recorded before the engine named OpenBLAS's kernel set/,
  );
  // Every unit with old runs and new ones (a side probe added later): said once, not each unit twice.
  const both = engineMixNote([unit("mae", 0, [old, prescott]), unit("gpa", 0, [old, prescott])])!;
  assert.match(
    both,
    /^Kernel set: every unit \(2\) has runs recorded before .* runs added since, which ran on Prescott/,
  );
  assert.doesNotMatch(both, /mae s0/);
  assert.match(note, /most likely used it too/);
  assert.match(
    engineMixNote([unit("mae", 0, [old]), unit("gpa", 0, [haswell])])!,
    /rerun them with GPA_BLAS_CORE=Haswell/,
  );
  // Two named sets are two engines.
  assert.match(engineMixNote([unit("mae", 0, [prescott]), unit("gpa", 0, [haswell])])!, /^Engine mix:/);
  assert.equal(engineMixNote([unit("mae", 0, [prescott]), unit("gpa", 0, [prescott])]), null);
});
