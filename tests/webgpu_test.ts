/**
 * The webgpu backend end to end against wasm on fixed seeds: MAE pre-training loss and gradients, a
 * fine-tuning loss and gradients, and a teacher's GPA maps, within float tolerance.
 *
 * Needs a WebGPU adapter; on a machine without a GPU, Mesa's lavapipe (Debian `mesa-vulkan-drivers`) provides
 * one on the CPU. Runs when asked: `GPA_TEST_WEBGPU=1 deno task test` (`.ci/run` installs lavapipe first when
 * `GPA_TEST_WEBGPU=1` is set); otherwise shown as ignored.
 */
import assert from "node:assert/strict";
import { probeWebGpu, selectBackend } from "../lib/backend.ts";
import {
  CHECK_MODEL,
  fixedSeedFinetuneStep,
  fixedSeedGpaMaps,
  fixedSeedMaeStep,
  relativeL2,
} from "../bench/backend_check.ts";

const asked = Deno.env.get("GPA_TEST_WEBGPU") === "1";
const TOLERANCE = 1e-4;

Deno.test({
  name: "webgpu: pre-training, fine-tuning and GPA maps match wasm on fixed seeds",
  ignore: !asked,
  fn: async () => {
    const adapter = await probeWebGpu();
    assert.ok(adapter, "GPA_TEST_WEBGPU=1 but Deno exposes no WebGPU adapter (install mesa-vulkan-drivers)");
    await selectBackend("wasm");
    const want = {
      mae: await fixedSeedMaeStep(CHECK_MODEL, 4),
      finetune: await fixedSeedFinetuneStep(CHECK_MODEL, 4),
      maps: await fixedSeedGpaMaps(CHECK_MODEL, 4),
    };
    const choice = await selectBackend("webgpu");
    assert.equal(choice.name, "webgpu");
    const got = {
      mae: await fixedSeedMaeStep(CHECK_MODEL, 4),
      finetune: await fixedSeedFinetuneStep(CHECK_MODEL, 4),
      maps: await fixedSeedGpaMaps(CHECK_MODEL, 4),
    };
    for (const k of ["mae", "finetune"] as const) {
      const lossErr = Math.abs(got[k].loss - want[k].loss) / Math.abs(want[k].loss);
      assert.ok(
        Number.isFinite(got[k].loss) && lossErr < TOLERANCE,
        `${k} loss ${got[k].loss} vs ${want[k].loss}`,
      );
      const gradErr = relativeL2(got[k].grads, want[k].grads);
      assert.ok(gradErr < TOLERANCE, `${k} gradient relative L2 error ${gradErr}`);
    }
    const mapErr = relativeL2(got.maps, want.maps);
    assert.ok(mapErr < TOLERANCE, `GPA maps relative L2 error ${mapErr} (adapter ${adapter.description})`);
    await selectBackend("wasm");
  },
});

Deno.test("webgpu: probing an adapter without XDG_RUNTIME_DIR prints nothing on stderr", async () => {
  // Mesa's Vulkan drivers (lavapipe here) print "XDG_RUNTIME_DIR is invalid" twice while enumerating adapters
  // when the variable is unset; probeWebGpu gives the process a private one. Without Mesa this passes trivially.
  const env = { ...Deno.env.toObject() };
  delete env.XDG_RUNTIME_DIR;
  const script = `import { probeWebGpu } from "${new URL("../lib/backend.ts", import.meta.url).href}";
    await probeWebGpu();
    const dir = Deno.env.get("XDG_RUNTIME_DIR");
    console.log(JSON.stringify({ dir: dir ?? null, exists: dir ? Deno.statSync(dir).isDirectory : false }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.doesNotMatch(stderr, /XDG_RUNTIME_DIR/);
  const seen = JSON.parse(new TextDecoder().decode(out.stdout).trim());
  if (Deno.build.os === "linux") {
    assert.ok(seen.exists, `expected a private XDG_RUNTIME_DIR, got ${seen.dir}`);
    const st = Deno.statSync(seen.dir);
    assert.equal(st.uid, Deno.uid());
    assert.equal((st.mode ?? 0) & 0o077, 0, "private to its user");
  }
});
