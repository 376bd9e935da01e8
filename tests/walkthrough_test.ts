/**
 * The README's walk-through "your data, your encoder, your teacher", as a person runs it from a fresh clone: a
 * 3-class image folder → pretrain on it → finetune, linprobe and knn of that encoder (`--from HASH`, and
 * `--weights` its exported file) → gpa-maps of the images with that encoder as the teacher.
 */
import assert from "node:assert/strict";
import { cli } from "./cli_run.ts";
import { writeImageFolder } from "./image_folder_fixture.ts";

Deno.test("walk-through: my folder → pretrain → finetune, linprobe, knn → gpa-maps with my encoder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpa-walkthrough-" });
  const t0 = performance.now();
  try {
    const folder = `${dir}/my_images`;
    await writeImageFolder(folder, { train: 12, val: 4, size: 32 }); // 3 classes, 48 PNGs
    const env = { GPA_CACHE_DIR: `${dir}/cache` };
    const run = async (args: string[]) => {
      const r = await cli([...args, "--backend", "wasm"], env);
      assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      return r;
    };

    // 1. Pre-train on the folder; the smoke profile's batch (50) is more than the 36 training images.
    const pre = await run(["pretrain", "--data-path", folder, "--epochs", "2", "--output-dir", `${dir}/run`]);
    const hash = /^pretrain ([0-9a-f]{16})/m.exec(pre.stdout)![1];
    assert.match(pre.stderr, /decoding 36 images for imagefolder\/train@16/);
    assert.match(pre.stderr, /pre-training batch size 50 → 8: .* 36 training images \(4 steps per epoch/);
    const metrics = JSON.parse(await Deno.readTextFile(`${dir}/run/metrics.json`));
    assert.match(metrics.recipeNotes[0], /batch size 50 → 8/, "the adaptation is recorded with the run");
    const config = JSON.parse(await Deno.readTextFile(`${dir}/run/config.json`));
    assert.equal(config.dataset.name, "imagefolder");
    assert.equal(config.recipe.batchSize, 8);
    for (const f of ["encoder.safetensors", "final.safetensors", "log.jsonl"]) {
      assert.ok((await Deno.stat(`${dir}/run/${f}`)).size > 0, f);
    }

    // 2. Evaluate that encoder: by its hash, and by its exported file (the same weights, a file's identity).
    const ft = await run(["finetune", "--data-path", folder, "--from", hash, "--epochs", "1", "--json"]);
    const ftOut = JSON.parse(ft.stdout);
    assert.equal(ftOut.from, hash);
    assert.ok(ftOut.top1 >= 0 && ftOut.top1 <= 100);
    assert.match(ft.stderr, /encoder: encoder of run [0-9a-f]{16} \(ViT 32-d × 2 blocks × 2 heads/);
    // The flags that describe the same pre-training find the same runs.
    const same = await run([
      "finetune",
      "--data-path",
      folder,
      "--pretrain-epochs",
      "2",
      "--epochs",
      "1",
      "--json",
    ]);
    assert.equal(JSON.parse(same.stdout).hash, ftOut.hash);
    assert.equal(JSON.parse(same.stdout).cacheHit, true);
    const byFile = await run([
      "finetune",
      "--data-path",
      folder,
      "--weights",
      `${dir}/run/encoder.safetensors`,
      "--epochs",
      "1",
      "--json",
    ]);
    assert.match(JSON.parse(byFile.stdout).from, /^sha256:[0-9a-f]{64}$/);
    assert.notEqual(JSON.parse(byFile.stdout).hash, ftOut.hash);
    const lp = await run(["linprobe", "--data-dir", folder, "--from", hash, "--epochs", "2", "--json"]);
    assert.equal(JSON.parse(lp.stdout).from, hash, "--data-dir with an image folder's layout is --data-path");
    const knn = await run(["knn", "--data-path", folder, "--from", hash, "--k", "5", "--json"]);
    assert.equal(JSON.parse(knn.stdout).from, hash);

    // 3. GPA maps of my images with my encoder as the teacher (default head: the last block, all heads).
    const maps = await run([
      "gpa-maps",
      "--teacher-weights",
      `${dir}/run/encoder.safetensors`,
      "--images",
      `${folder}/val`,
      "--out",
      `${dir}/maps`,
      "--json",
    ]);
    const m = JSON.parse(maps.stdout);
    assert.equal(m.head, "b1h-1");
    assert.equal(m.images.length, 12);
    assert.equal(m.k, 12, "top-75 % of 16 patches");
    for (const f of ["contact_sheet.png", "disc_0.png", "stripes_3.png", "gpa_maps.json"]) {
      assert.ok((await Deno.stat(`${dir}/maps/${f}`)).size > 0, f);
    }
    console.log(`walk-through: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
