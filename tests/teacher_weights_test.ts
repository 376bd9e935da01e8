/**
 * A teacher weights file is checked before anything is trained with it (issue 25, items 5, 7 and 12): a
 * shipped teacher's bytes against its card, a truncated or garbled file, a teacher of another model, a
 * tensor of NaN — each named, with the file.
 */
import assert from "node:assert/strict";
import { expectedTeacherTensors, verifyTeacherWeights } from "../app/teacher_weights.ts";
import { getProfile } from "../experiments/profiles.ts";
import { sha256Hex } from "../lib/fsutil.ts";
import { encodeSafetensors, type NamedTensors } from "../lib/safetensors.ts";
import type { VitConfig } from "../lib/vit.ts";
import { cli } from "./cli_run.ts";

const SMOKE: VitConfig = getProfile("smoke").model;

/** A timm-layout teacher of `cfg` with small finite values (plus a final norm, as exports carry). */
function teacherBytes(cfg: VitConfig, fill = (i: number) => ((i * 7919) % 97) / 970): Uint8Array {
  const tensors: NamedTensors = {};
  for (const [name, shape] of expectedTeacherTensors(cfg)) {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors[name] = { shape, data: Float32Array.from({ length: n }, (_, i) => fill(i)) };
  }
  tensors["norm.weight"] = { shape: [cfg.dim], data: new Float32Array(cfg.dim).fill(1) };
  tensors["norm.bias"] = { shape: [cfg.dim], data: new Float32Array(cfg.dim) };
  return encodeSafetensors(tensors);
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "teacher-weights-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("teacher weights: the shipped cpu teacher matches its card and the cpu profile's model", async () => {
  const cpu = getProfile("cpu");
  await verifyTeacherWeights(cpu.gpa.teacher.weightsPath!, cpu.model);
});

Deno.test("teacher weights: bytes other than the card's, truncation, another model, NaN — each named", async () => {
  await withDir(async (dir) => {
    const good = teacherBytes(SMOKE);
    const file = `${dir}/t.safetensors`;
    await Deno.writeFile(file, good);
    await verifyTeacherWeights(file, SMOKE);
    // A card beside it (as `deno task teacher` writes it) and one flipped bit in the data.
    const card = { file: { name: "t.safetensors", sha256: await sha256Hex(good), bytes: good.length } };
    await Deno.writeTextFile(`${dir}/t.json`, JSON.stringify(card));
    await verifyTeacherWeights(file, SMOKE);
    const flipped = good.slice();
    flipped[good.length - 5] ^= 0x10;
    await Deno.writeFile(file, flipped);
    await assert.rejects(verifyTeacherWeights(file, SMOKE), (e: Error) => {
      assert.equal(e.name, "CorruptFileError");
      assert.match(e.message, /t\.safetensors: its SHA-256 is [0-9a-f]{64}, but its card .*t\.json records/);
      return true;
    });
    await Deno.remove(`${dir}/t.json`);
    // Truncated: the header promises more bytes than the file holds.
    await Deno.writeFile(file, good.subarray(0, good.length - 100));
    await assert.rejects(verifyTeacherWeights(file, SMOKE), /t\.safetensors: truncated/);
    // A whole teacher of another model.
    await Deno.writeFile(file, teacherBytes({ ...SMOKE, dim: SMOKE.dim * 2 }));
    await assert.rejects(verifyTeacherWeights(file, SMOKE), (e: Error) => {
      assert.equal(e.name, "TeacherWeightsError");
      assert.match(
        e.message,
        /tensor 'patch_embed\.proj\.weight' has shape \[64, 3, 4, 4\].*needs \[32, 3, 4, 4\]/,
      );
      return true;
    });
    await Deno.writeFile(file, teacherBytes({ ...SMOKE, depth: 1 }));
    await assert.rejects(verifyTeacherWeights(file, SMOKE), /lack tensor 'blocks\.1\.norm1\.weight'/);
    // All NaN: said with the file and the tensor, not as "score [0, 0] is NaN" deep in masking.
    await Deno.writeFile(file, teacherBytes(SMOKE, () => NaN));
    await assert.rejects(
      verifyTeacherWeights(file, SMOKE),
      /t\.safetensors: tensor '[^']+' holds \d+ of \d+ values that are NaN or infinite/,
    );
  });
});

Deno.test("teacher weights: a table checks them before training anything (damaged 1, another model 2)", async () => {
  await withDir(async (dir) => {
    const good = teacherBytes(SMOKE);
    const cases: [string, Uint8Array, number, RegExp][] = [
      ["truncated", good.subarray(0, good.length - 100), 1, /truncated/],
      ["other", teacherBytes({ ...SMOKE, dim: 16 }), 2, /has shape \[16, 3, 4, 4\]/],
    ];
    for (const [name, bytes, code, message] of cases) {
      await Deno.writeFile(`${dir}/${name}.safetensors`, bytes);
      const r = await cli([
        "table",
        "1",
        "--profile",
        "smoke",
        "--seeds",
        "1",
        "--teacher-weights",
        `${dir}/${name}.safetensors`,
        "--cache-dir",
        `${dir}/cache`,
        "--reports-dir",
        `${dir}/reports`,
      ]);
      assert.equal(r.code, code, `${name}: ${r.stderr}`);
      assert.match(r.stderr, message, name);
      assert.equal(await Deno.stat(`${dir}/cache/runs`).catch(() => null), null, `${name}: nothing trained`);
    }
  });
});

Deno.test("teacher weights: loading a teacher (ensureTeacher) refuses a file whose bytes are not its card's", async () => {
  const { ensureTeacher } = await import("../app/teacher.ts");
  const { selectBackend } = await import("../lib/backend.ts");
  const { planContext } = await import("./fixtures.ts");
  await selectBackend("wasm");
  await withDir(async (dir) => {
    const good = teacherBytes(SMOKE);
    await Deno.writeTextFile(
      `${dir}/t.json`,
      JSON.stringify({ file: { name: "t.safetensors", sha256: await sha256Hex(good) } }),
    );
    const flipped = good.slice();
    flipped[good.length - 5] ^= 0x10;
    await Deno.writeFile(`${dir}/t.safetensors`, flipped);
    const choice = { weightsPath: `${dir}/t.safetensors`, head: { block: 1, head: 0 } };
    await assert.rejects(ensureTeacher(planContext(), choice), /its card .*t\.json records/);
    await Deno.writeFile(`${dir}/t.safetensors`, good);
    (await ensureTeacher(planContext(), choice)).dispose();
  });
});
