/** Table reports name the engines behind their runs; every run records the engine that finished it. */
import assert from "node:assert/strict";
import { describeEngines } from "../lib/tables/mod.ts";

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

Deno.test("a pre-training run records its engine in metrics.json", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const main = new URL("../main.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        main,
        "pretrain",
        "--profile",
        "smoke",
        "--cache-dir",
        cache,
        "--backend",
        "wasm",
        "-q",
      ],
      env: { GPA_BLAS: "off" },
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const runs = [...Deno.readDirSync(`${cache}/runs`)].map((e) => e.name);
    assert.equal(runs.length, 1);
    const metrics = JSON.parse(await Deno.readTextFile(`${cache}/runs/${runs[0]}/metrics.json`));
    assert.equal(metrics.engine, "wasm (matMul: XNNPACK)");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
