/**
 * Your data, your encoder (issue 26): image folders on every profile, recipes adapted to small data, any
 * encoder's shape read from its file, MAE/timm flag names.
 */
import assert from "node:assert/strict";
import { cli } from "./cli_run.ts";
import { writeImageFolder } from "./image_folder_fixture.ts";
import { isImageFolderLayout } from "../lib/data/image_folder.ts";
import { inferTimmVitConfig, toTimmVit } from "../lib/timm.ts";
import { getProfile } from "../experiments/profiles.ts";
import { acceptResume, applyOverrides } from "../cli/flags.ts";
import type { RunContext } from "../app/runner.ts";
import type { NamedTensors } from "../lib/safetensors.ts";
import type { VitConfig } from "../lib/vit.ts";

function ctxOf(profile: string, lines: string[] = []): RunContext {
  return {
    profile: getProfile(profile),
    cacheDir: "/nonexistent",
    backend: "cpu",
    log: (l) => lines.push(l),
    stopSignal: { stopped: false },
  };
}

/** Our-layout encoder tensors of `cfg` (zeros), enough for `toTimmVit`. */
function encoderTensors(cfg: VitConfig): NamedTensors {
  const D = cfg.dim,
    H = D * cfg.mlpRatio,
    z = (shape: number[]) => ({
      shape,
      data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
    });
  const t: NamedTensors = {
    "patch_embed.proj.weight": z([cfg.patchSize * cfg.patchSize * 3, D]),
    "patch_embed.proj.bias": z([D]),
    cls_token: z([1, D]),
    "norm.weight": z([D]),
    "norm.bias": z([D]),
  };
  for (let b = 0; b < cfg.depth; b++) {
    for (const n of ["norm1", "norm2"]) {
      (t[`blocks.${b}.${n}.weight`] = z([D]), t[`blocks.${b}.${n}.bias`] = z([D]));
    }
    for (const n of ["q", "k", "v", "proj"]) {
      t[`blocks.${b}.attn.${n}.weight`] = z([D, D]);
      t[`blocks.${b}.attn.${n}.bias`] = z([D]);
    }
    t[`blocks.${b}.mlp.fc1.weight`] = z([D, H]);
    t[`blocks.${b}.mlp.fc1.bias`] = z([H]);
    t[`blocks.${b}.mlp.fc2.weight`] = z([H, D]);
    t[`blocks.${b}.mlp.fc2.bias`] = z([D]);
  }
  return t;
}

Deno.test("timm files: the model's shape comes from the metadata, else from the tensors (64 channels a head)", () => {
  const tiny: VitConfig = { imageSize: 32, patchSize: 4, dim: 192, depth: 3, heads: 3, mlpRatio: 4 };
  const file = toTimmVit(encoderTensors(tiny), tiny);
  assert.deepEqual(inferTimmVitConfig(file), { model: tiny, from: "shapes" });
  const odd: VitConfig = { imageSize: 16, patchSize: 4, dim: 32, depth: 2, heads: 2, mlpRatio: 4 };
  const oddFile = toTimmVit(encoderTensors(odd), odd);
  assert.throws(() => inferTimmVitConfig(oddFile), /head count of a 32-wide ViT is unknown/);
  const meta = { config: JSON.stringify({ kind: "pretrain", model: { ...odd, decoderDim: 32 } }) };
  assert.deepEqual(inferTimmVitConfig(oddFile, meta), { model: odd, from: "metadata" });
  const lying = { config: JSON.stringify({ model: { ...odd, depth: 5 } }) };
  assert.throws(() => inferTimmVitConfig(oddFile, lying), /does not match its tensors/);
  const { pos_embed: _, ...noPos } = file;
  assert.throws(() => inferTimmVitConfig(noPos), /image size is unknown/);
  assert.equal(inferTimmVitConfig(noPos, {}, 64).model.imageSize, 64);
  assert.throws(() => inferTimmVitConfig({}), /patch_embed\.proj\.weight/);
});

Deno.test("image folders: the layout is recognised, Tiny-ImageNet's and other folders are not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeImageFolder(`${dir}/mine`, { train: 1, val: 1, size: 8 });
    assert.equal(await isImageFolderLayout(`${dir}/mine`), true);
    assert.equal(await isImageFolderLayout(`${dir}/mine/train`), false);
    await Deno.mkdir(`${dir}/tin/train/n01/images`, { recursive: true });
    await Deno.mkdir(`${dir}/tin/val/images`, { recursive: true });
    await Deno.writeFile(`${dir}/tin/train/n01/images/a.JPEG`, new Uint8Array(1));
    assert.equal(await isImageFolderLayout(`${dir}/tin`), false, "Tiny-ImageNet's layout");
    assert.equal(await isImageFolderLayout(`${dir}/none`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recipes: a warm-up longer than the epochs is capped to the profile's share, unless it was asked", () => {
  const lines: string[] = [];
  const ctx = ctxOf("paper", lines);
  applyOverrides(ctx, { epochs: "5" }, "pretrain"); // paper: 20 of 200 epochs
  assert.equal(ctx.profile.pretrain.warmupEpochs, 0.5);
  assert.match(lines[0], /pretrain warm-up 20 → 0\.5 epochs: the profile's 10 % of the 5 epochs/);
  assert.deepEqual(ctx.recipeNotes?.pretrain, lines);
  // Downstream: the encoder's pre-training epochs are capped the same way (the same run as pretrain's).
  const down = ctxOf("paper");
  applyOverrides(down, { "pretrain-epochs": "5", epochs: "2" }, "finetune"); // finetune: 5 of 100
  assert.equal(down.profile.pretrain.warmupEpochs, 0.5);
  assert.equal(down.profile.finetune.warmupEpochs, 0.1);
  assert.throws(
    () => applyOverrides(ctxOf("paper"), { epochs: "5", "warmup-epochs": "6" }, "pretrain"),
    /--warmup-epochs 6 exceeds the 5 epochs/,
  );
  // A recipe the profile can run is left alone (and so are the hashes of its runs).
  const smoke = ctxOf("smoke");
  applyOverrides(smoke, { epochs: "2" }, "pretrain");
  assert.equal(smoke.profile.pretrain.warmupEpochs, 1);
  assert.equal(smoke.recipeNotes, undefined);
});

Deno.test("MAE/timm flag names: --lr, --min-lr, --accum-iter, fine-tuning's, --resume", () => {
  const ctx = ctxOf("smoke");
  applyOverrides(ctx, { lr: "1e-3", "batch-size": "16", "accum-iter": "2", "min-lr": "1e-5" }, "pretrain");
  assert.equal(ctx.profile.pretrain.batchSize, 32, "batch × accum-iter per step");
  assert.ok(Math.abs(ctx.profile.pretrain.blr * 32 / 256 - 1e-3) < 1e-12, "--lr is the absolute rate");
  assert.equal(ctx.profile.pretrain.minLr, 1e-5);
  const ft = ctxOf("smoke");
  applyOverrides(
    ft,
    { "layer-decay": "0.65", "drop-path": "0.1", mixup: "0.8", cutmix: "1", smoothing: "0.2" },
    "finetune",
  );
  const f = ft.profile.finetune;
  assert.deepEqual(
    [f.layerDecay, f.dropPath, f.mixup, f.cutmix, f.labelSmoothing, f.mixupProb],
    [0.65, 0.1, 0.8, 1, 0.2, 1],
  );
  assert.throws(
    () => applyOverrides(ctxOf("smoke"), { "layer-decay": "0.6" }, "pretrain"),
    /fine-tuning setting/,
  );
  assert.throws(() => applyOverrides(ctxOf("smoke"), { "min-lr": "0" }, "linprobe"), /linear probing/);
  assert.throws(() => applyOverrides(ctxOf("smoke"), { lr: "1", blr: "1" }, "pretrain"), /give one/);
  assert.throws(() => applyOverrides(ctxOf("smoke"), { lr: "1" }, "none"), /--lr does not apply/);
  const said: string[] = [];
  assert.deepEqual(acceptResume(["--epochs", "2", "--resume", "ckpt.pth", "--json"], (l) => said.push(l)), [
    "--epochs",
    "2",
    "--json",
  ]);
  assert.match(said[0], /resumes from its own last checkpoint/);
  assert.deepEqual(acceptResume(["--resume", "--json"], () => {}), ["--json"]);
  assert.deepEqual(acceptResume(["--resume=x"], () => {}), []);
});

Deno.test("own data: what cannot use a folder says so; a folder without the layout is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeImageFolder(`${dir}/mine`, { train: 2, val: 1, size: 8 });
    const cases: [string[], RegExp][] = [
      [["pretrain", "--data-path", `${dir}/none`], /is not an image folder: it needs train\/<class>/],
      [["pretrain", "--data-path", `${dir}/mine`, "--data-dir", dir], /give one of them/],
      [["segment", "--data-path", `${dir}/mine`], /an image folder has none/],
      [["figures", "--data-path", `${dir}/mine`], /use: main\.ts gpa-maps/],
      [["gpa-recall", "--data-path", `${dir}/mine`], /object boxes/],
      [
        ["finetune", "--from", "0123456789abcdef", "--strategy", "gpa"],
        /--strategy describes how an encoder/,
      ],
      [["finetune", "--from", "0123456789abcdef"], /no finished run with that hash/],
      [["knn", "--weights", `${dir}/x.safetensors`, "--epochs", "2"], /--epochs describes how/],
      [["gpa-maps", "--images", dir, "--out", `${dir}/o`], /name the teacher with --teacher-weights/],
      [
        ["pretrain", "--batch-size", "40", "--data-path", `${dir}/mine`],
        /batch size 40 exceeds the 6 training/,
      ],
    ];
    for (const [args, want] of cases) {
      const r = await cli([...args, "--backend", "cpu", "--cache-dir", `${dir}/cache`]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, want, args.join(" "));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("any ViT as the teacher: a profile head outside the model becomes the last block, all heads", async () => {
  const { namedTeacher } = await import("../cli/teacher.ts");
  const { writeSafetensors } = await import("../lib/safetensors.ts");
  const dir = await Deno.makeTempDir();
  try {
    const small: VitConfig = { imageSize: 32, patchSize: 8, dim: 64, depth: 2, heads: 1, mlpRatio: 2 };
    await writeSafetensors(`${dir}/t.safetensors`, toTimmVit(encoderTensors(small), small));
    const lines: string[] = [];
    const ctx = ctxOf("paper", lines); // the paper's teacher head is b9h11 of a ViT-B
    assert.equal(await namedTeacher({ "teacher-weights": `${dir}/t.safetensors` }, ctx), true);
    assert.deepEqual(ctx.profile.gpa.teacher.head, { block: 1, head: -1 });
    assert.equal(ctx.profile.model.dim, 64);
    assert.equal(ctx.profile.dataset.resolution, 32, "the data is resized to the teacher's input");
    assert.equal(ctx.profile.gpa.teacher.weightsHint, undefined);
    assert.ok(
      lines.some((l) => /b9h11 is not in this model; using the last block, all heads \(b1h-1/.test(l)),
    );
    assert.equal(await namedTeacher({}, ctxOf("smoke")), false);
    await assert.rejects(
      namedTeacher({ weights: `${dir}/t.safetensors`, from: "0123456789abcdef" }, ctxOf("smoke")),
      /each name the teacher: give one/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("figures and gpa-recall draw from an encoder of another shape than the profile's", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = async (args: string[]) => {
      const r = await cli([...args, "--backend", "wasm", "--cache-dir", `${dir}/cache`]);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      return r;
    };
    // A 32-px encoder with 8-px patches on the smoke profile (16 px, 4-px patches).
    const pre = await run(["pretrain", "--input-size", "32", "--patch-size", "8", "--epochs", "1", "--json"]);
    const hash = JSON.parse(pre.stdout).hash;
    await run(["export", hash, "--out", `${dir}/enc.safetensors`]);
    const fig = await run([
      "figures",
      "--teacher-weights",
      `${dir}/enc.safetensors`,
      "--reports-dir",
      `${dir}/r`,
    ]);
    assert.match(
      fig.stderr,
      /teacher: .*enc\.safetensors \(ViT 32-d × 2 blocks × 2 heads, 32 px \/ 8-px patches\)/,
    );
    assert.ok((await Deno.stat(`${dir}/r/smoke/figures/figure2.png`)).size > 0);
    const rec = await run(["gpa-recall", "--from", hash, "--images", "20", "--out", `${dir}/rec`, "--json"]);
    assert.deepEqual(JSON.parse(rec.stdout).teacher.teacherRun, hash);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
