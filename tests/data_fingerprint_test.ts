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
    // The log says which path the entry was built from and that this one holds the same files.
    assert.match(logs.join("\n"), new RegExp(`built from ${root}; ${dir}/moved holds the same files`));
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
  const { pretrainIdentity } = await import("../lib/train/pretrain_spec.ts");
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

/** A copy of `from`'s tree in which every file is a symbolic link to the original (folders stay folders). */
async function linkTree(from: string, to: string) {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await linkTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.symlink(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test("an image folder of symbolic links reads every linked image; its fingerprint is its targets'", async () => {
  await inFolder(async ({ dir, root, spec, opts }) => {
    const original = await loadDataset(spec, opts);
    // Every image a link (how class subsets such as ImageNet-100 are built), one class a linked folder.
    await linkTree(root, `${dir}/links`);
    await Deno.remove(`${dir}/links/val/b`, { recursive: true });
    await Deno.symlink(`${root}/val/b`, `${dir}/links/val/b`);
    const logs: string[] = [];
    const linked = await loadDataset(
      { ...spec, root: `${dir}/links` },
      { cacheDir: `${dir}/cache-links`, log: (m) => logs.push(m) },
    );
    assert.equal(linked.train.count, 4, "no image lost");
    assert.equal(linked.val.count, 4, "a linked class folder is read");
    assert.deepEqual(linked.train.images, original.train.images);
    assert.deepEqual(Array.from(linked.val.labels), Array.from(original.val.labels));
    assert.equal(
      linked.train.fingerprint,
      original.train.fingerprint,
      "the same files, the same fingerprint",
    );
    // A changed target changes the fingerprint of the folder of links.
    await png(`${root}/train/a/0.png`, 123);
    assert.notEqual(await sourceFingerprint(`${dir}/links`), linked.train.fingerprint);
    // A dangling link is named, not skipped.
    await Deno.symlink(`${dir}/nowhere.png`, `${dir}/links/train/a/9.png`);
    await assert.rejects(
      sourceFingerprint(`${dir}/links`),
      /links\/train\/a\/9\.png is a symbolic link to .*nowhere\.png, which does not exist/,
    );
  });
});

Deno.test("an image folder without images, or a folder without files, is an error (not 0 images)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const s of ["train", "val"]) await Deno.mkdir(`${dir}/empty/${s}/a`, { recursive: true });
    await assert.rejects(sourceFingerprint(`${dir}/empty`), /holds no files/);
    await Deno.writeTextFile(`${dir}/empty/train/a/notes.txt`, "not an image");
    await assert.rejects(
      loadDataset({ name: "imagefolder", resolution: 8, root: `${dir}/empty` }, {
        cacheDir: `${dir}/cache`,
        log: () => {},
      }),
      /no images in .*empty\/train/,
    );
    const entries = await Array.fromAsync(Deno.readDir(`${dir}/cache/datasets`)).catch(() => []);
    assert.deepEqual(entries.map((e) => e.name), [], "no cache entry, no lock left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a class with val images but no train images is refused, naming it", async () => {
  await inFolder(async ({ root, spec, opts }) => {
    for (const f of ["0.png", "1.png"]) await Deno.remove(`${root}/train/b/${f}`);
    await assert.rejects(loadDataset(spec, opts), (e: Error) => {
      assert.equal(e.name, "DataError");
      assert.match(e.message, /1 class of .* has val images but no train images: 'b' \(2 val images\)/);
      return true;
    });
  });
  const { checkTrainCoversVal } = await import("../lib/data/mod.ts");
  const split = (labels: number[]) => ({
    name: "s",
    count: labels.length,
    height: 1,
    width: 1,
    images: new Uint8Array(labels.length * 3),
    labels: Int32Array.from(labels),
    numClasses: 3,
    classNames: ["x", "y", "z"],
  });
  assert.doesNotThrow(() => checkTrainCoversVal({ train: split([0, 1, 2]), val: split([0, 2]) }, "src"));
  assert.doesNotThrow(() => checkTrainCoversVal({ train: split([0, 1]), val: split([0, 1]) }, "src"));
  assert.throws(
    () => checkTrainCoversVal({ train: split([0, 1]), val: split([2, 2]) }, "src"),
    /'z' \(2 val images\)/,
  );
});
