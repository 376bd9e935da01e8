import assert from "node:assert/strict";
import sharp from "sharp";
import { sourceFingerprint } from "../lib/data/fingerprint.ts";
import { datasetFingerprint, loadDataset } from "../lib/data/mod.ts";
import { sha256File } from "../lib/fsutil.ts";
import { smokePretrainSpec } from "./fixtures.ts";

async function png(path: string, value: number) {
  const px = new Uint8Array(8 * 8 * 3).fill(value);
  await sharp(px, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path);
}

/** An image folder with 2 classes × 2 images in train/ and val/. */
async function folder(root: string) {
  for (const split of ["train", "val"]) {
    for (const c of ["a", "b"]) {
      await Deno.mkdir(`${root}/${split}/${c}`, { recursive: true });
      for (const i of [0, 1]) await png(`${root}/${split}/${c}/${i}.png`, 40 * i + (c === "a" ? 10 : 200));
    }
  }
}

/** A temporary image folder (`folder`) with the imagefolder spec and load options over it; removed after `fn`. */
async function inFolder(
  fn: (o: {
    dir: string;
    root: string;
    spec: { name: "imagefolder"; resolution: 8; root: string };
    opts: { cacheDir: string; log: () => void };
  }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  try {
    const root = `${dir}/data`;
    await folder(root);
    await fn({
      dir,
      root,
      spec: { name: "imagefolder", resolution: 8, root },
      opts: { cacheDir: `${dir}/cache`, log: () => {} },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("fingerprint: an archive by its bytes, a folder by its file list, sizes and times", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/x.tar`, "some bytes");
    assert.equal(await sourceFingerprint(`${dir}/x.tar`), `sha256:${await sha256File(`${dir}/x.tar`)}`);
    await folder(`${dir}/f`);
    const before = await sourceFingerprint(`${dir}/f`);
    assert.match(before, /^files:[0-9a-f]{64}$/);
    assert.equal(await sourceFingerprint(`${dir}/f`), before, "stable");
    await Deno.remove(`${dir}/f/train/b/1.png`);
    assert.notEqual(await sourceFingerprint(`${dir}/f`), before, "a removed file changes it");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dataset cache and runs follow the source: a changed folder is re-read, not served stale", async () => {
  await inFolder(async ({ root, spec, opts }) => {
    const first = await loadDataset(spec, opts);
    assert.equal(first.train.count, 4);
    assert.match(first.train.fingerprint!, /^files:/);
    const again = await loadDataset(spec, opts);
    assert.equal(again.train.fingerprint, first.train.fingerprint);
    // Empty class b of train: the packed cache of the old source must not be used.
    await Deno.remove(`${root}/train/b`, { recursive: true });
    await Deno.mkdir(`${root}/train/b`);
    await png(`${root}/train/b/0.png`, 99);
    const changed = await loadDataset(spec, opts);
    assert.equal(changed.train.count, 3);
    assert.notEqual(changed.train.fingerprint, first.train.fingerprint, "runs on it get another identity");
  });
});

Deno.test("datasetFingerprint: what loadDataset will record, without decoding or caching anything", async () => {
  await inFolder(async ({ dir, root, spec, opts }) => {
    const predicted = await datasetFingerprint(spec, opts);
    assert.match(predicted!, /^files:/);
    assert.equal(await Deno.stat(`${dir}/cache`).catch(() => null), null, "nothing was built");
    assert.equal(
      await datasetFingerprint({ ...spec, classes: 1 }, opts),
      predicted,
      "a subset is cut from it",
    );
    assert.equal((await loadDataset(spec, opts)).train.fingerprint, predicted);
    // The same folder under another path: the same packed entry, read from the cache (not decoded again).
    await Deno.rename(root, `${dir}/moved`);
    const logs: string[] = [];
    const moved = await loadDataset({ ...spec, root: `${dir}/moved` }, { ...opts, log: (m) => logs.push(m) });
    assert.equal(moved.train.fingerprint, predicted);
    assert.match(logs.join("\n"), /loaded from cache/);
    const synthetic = {
      name: "synthetic",
      resolution: 8,
      numClasses: 2,
      trainLimit: 2,
      valLimit: 2,
    } as const;
    assert.equal(await datasetFingerprint(synthetic, opts), undefined);
  });
});

Deno.test("run identity carries the data fingerprint (absent for generated data)", async () => {
  const { pretrainIdentity } = await import("../lib/train/pretrain.ts");
  const spec = smokePretrainSpec();
  assert.equal("data" in pretrainIdentity(spec), false);
  assert.equal(pretrainIdentity({ ...spec, data: "sha256:ab" }).data, "sha256:ab");
});

Deno.test("a garbage archive under an unknown name is named as unreadable (tar is installed)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/data`);
    await Deno.writeFile(
      `${dir}/data/tiny-imagenet-200-mine.tar.gz`,
      crypto.getRandomValues(new Uint8Array(4096)),
    );
    await assert.rejects(
      loadDataset({ name: "tiny-imagenet", resolution: 8 }, {
        cacheDir: `${dir}/cache`,
        dataDir: `${dir}/data`,
        log: () => {},
        download: { enabled: false },
      }),
      (e: Error) => {
        assert.match(e.message, /is not a readable tar archive/);
        assert.doesNotMatch(e.message, /install tar/);
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
