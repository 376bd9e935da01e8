import assert from "node:assert/strict";
import { sha256File } from "../lib/fsutil.ts";
import { encodeSafetensors, type NamedTensors } from "../lib/safetensors.ts";
import { CONFIG, flipBit, listDir, toyTensors, withCache } from "./cache_helpers.ts";

function bytesOf(data: Float32Array | Int32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function assertSameTensors(actual: NamedTensors, expected: NamedTensors): void {
  assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const name of Object.keys(expected)) {
    assert.deepEqual(actual[name].shape, expected[name].shape, name);
    assert.equal(actual[name].data.constructor, expected[name].data.constructor, name);
    assert.deepEqual(bytesOf(actual[name].data), bytesOf(expected[name].data), name);
  }
}

// ---------------------------------------------------------------------------------------------------------
// checkpoints

Deno.test("checkpoint round trip: tensors byte-identical, state restored, manifest matches the file", async () => {
  await withCache(async (cache) => {
    const run = await cache.openRun(CONFIG);
    assert.equal(await run.latestCheckpoint(), null);
    const tensors = toyTensors(3);
    const state = { step: 1234, rng: { data: [1, 2, 3, 4294967295], mask: [5, 6, 7, 8] }, lr: 1.5e-4 };
    const path = await run.saveCheckpoint(3, tensors, state);
    assert.equal(path, run.checkpointPath(3));
    const loaded = await run.latestCheckpoint();
    assert(loaded);
    assert.equal(loaded.epoch, 3);
    assert.equal(loaded.path, path);
    assert.deepEqual(loaded.state, state);
    assertSameTensors(loaded.tensors, tensors);
    // The manifest's checksum is that of the file on disk (hashed here by an independent implementation).
    const manifest = await run.readManifest();
    assert.deepEqual(manifest.files["ckpt-3.safetensors"], {
      sha256: await sha256File(path),
      size: (await Deno.stat(path)).size,
    });
    // Saving what was loaded reproduces the file byte for byte.
    const before = await Deno.readFile(path);
    await run.saveCheckpoint(3, loaded.tensors, loaded.state);
    assert.deepEqual(await Deno.readFile(path), before);
  });
});

Deno.test("only the newest K checkpoints are kept; later-epoch leftovers are removed", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    for (const epoch of [1, 2, 3, 4]) await run.saveCheckpoint(epoch, toyTensors(epoch), { step: epoch });
    assert.deepEqual(await run.listCheckpoints(), [3, 4]);
    assert.deepEqual(Object.keys((await run.readManifest()).files), [
      "ckpt-3.safetensors",
      "ckpt-4.safetensors",
      "config.json",
    ]);
    // Re-running from epoch 2 (e.g. after resuming an older checkpoint) drops the abandoned later ones.
    await run.saveCheckpoint(2, toyTensors(2), { step: 2 });
    assert.deepEqual(await run.listCheckpoints(), [2]);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /ckpt-3\.safetensors: later than the checkpoint just saved/);
    assert.equal((await run.latestCheckpoint())?.epoch, 2);
  });
  await withCache(async (cache) => {
    const run = await cache.openRun(CONFIG);
    for (const epoch of [1, 2, 3]) await run.saveCheckpoint(epoch, toyTensors(epoch), { step: epoch });
    assert.deepEqual(await run.listCheckpoints(), [1, 2, 3]);
  }, 3);
});

Deno.test("a truncated newest checkpoint is moved aside with a warning and the older one is returned", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    await run.saveCheckpoint(1, toyTensors(1), { step: 10 });
    await run.saveCheckpoint(2, toyTensors(2), { step: 20 });
    const newest = run.checkpointPath(2);
    const bytes = await Deno.readFile(newest);
    await Deno.writeFile(newest, bytes.subarray(0, bytes.length - 100));
    const loaded = await run.latestCheckpoint();
    assert.equal(loaded?.epoch, 1);
    assert.deepEqual(loaded?.state, { step: 10 });
    assertSameTensors(loaded!.tensors, toyTensors(1));
    assert.equal(warnings.length, 1);
    assert(warnings[0].startsWith(`${newest}: size ${bytes.length - 100} differs`), warnings[0]);
    assert.match(warnings[0], /moved aside to .*ckpt-2\.safetensors\.corrupt-/);
    const names = await listDir(run.path);
    assert(!names.includes("ckpt-2.safetensors"));
    assert.equal(names.filter((n) => /^ckpt-2\.safetensors\.corrupt-[^.]+$/.test(n)).length, 1);
    assert(!("ckpt-2.safetensors" in (await run.readManifest()).files));
  });
});

Deno.test("a single bit flip in the data or the header of a checkpoint is detected", async () => {
  for (const index of [-1, 12]) { // last data byte; inside the JSON header
    await withCache(async (cache, warnings) => {
      const run = await cache.openRun(CONFIG);
      await run.saveCheckpoint(1, toyTensors(1), { step: 10 });
      await run.saveCheckpoint(2, toyTensors(2), { step: 20 });
      await flipBit(run.checkpointPath(2), index, 3);
      const loaded = await run.latestCheckpoint();
      assert.equal(loaded?.epoch, 1);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /ckpt-2\.safetensors: SHA-256 [0-9a-f]{64} differs from the recorded/);
      // Both corrupt: nothing is left.
      await flipBit(run.checkpointPath(1), index, 0);
      assert.equal(await run.latestCheckpoint(), null);
      assert.equal(warnings.length, 2);
      assert.deepEqual(await run.listCheckpoints(), []);
    });
  }
});

Deno.test("unlisted and foreign checkpoints are moved aside", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    const other = await cache.openRun({ ...CONFIG, seed: 2 });
    await run.saveCheckpoint(1, toyTensors(1), { step: 10 });
    // A file that is not in the manifest (e.g. written by a save interrupted before the manifest update).
    await Deno.writeFile(run.checkpointPath(5), encodeSafetensors(toyTensors(5)));
    // Another run's checkpoint copied in, with a matching manifest entry: its metadata names the other run.
    await other.saveCheckpoint(4, toyTensors(4), { step: 40 });
    await Deno.copyFile(other.checkpointPath(4), run.checkpointPath(4));
    const manifest = await run.readManifest();
    manifest.files["ckpt-4.safetensors"] = {
      sha256: await sha256File(run.checkpointPath(4)),
      size: (await Deno.stat(run.checkpointPath(4))).size,
    };
    await Deno.writeTextFile(run.manifestPath, JSON.stringify(manifest));
    const loaded = await run.latestCheckpoint();
    assert.equal(loaded?.epoch, 1);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /ckpt-5\.safetensors: not listed in manifest\.json/);
    assert.match(
      warnings[1],
      new RegExp(`ckpt-4\\.safetensors: written for run ${other.hash}, not ${run.hash}`),
    );
  });
});

Deno.test("a corrupt manifest is moved aside; unverifiable checkpoints are then not trusted", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    await run.saveCheckpoint(1, toyTensors(1), { step: 10 });
    await Deno.writeTextFile(run.manifestPath, '{"formatVersion": 1, "runHash": "'); // torn
    assert.equal(await run.latestCheckpoint(), null);
    assert.match(warnings[0], /manifest\.json: not valid JSON/);
    assert.match(warnings[1], /ckpt-1\.safetensors: not listed in manifest\.json/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// final results

Deno.test("saveFinal / loadFinal / isComplete, with checkpoints pruned", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    assert.equal(await run.isComplete(), false);
    assert.equal(await run.loadFinal(), null);
    await run.saveCheckpoint(1, toyTensors(1), { step: 10 });
    const weights = toyTensors(7);
    const metrics = { top1: 71.25, loss: [0.9, 0.5], epochs: 2 };
    await run.saveFinal(weights, metrics, { metadata: { arch: "vit-tiny" } });
    assert.equal(await run.isComplete(), true);
    assert.deepEqual(await run.listCheckpoints(), []);
    const final = await run.loadFinal();
    assert(final);
    assertSameTensors(final.tensors, weights);
    assert.deepEqual(final.metrics, metrics);
    assert.equal(final.metadata.arch, "vit-tiny");
    assert.equal(final.metadata.kind, "final");
    assert.deepEqual(Object.keys((await run.readManifest()).files), [
      "config.json",
      "final.safetensors",
      "metrics.json",
    ]);
    assert.deepEqual(warnings, []);
  });
});

Deno.test("a corrupt final result is moved aside so that the run is recomputed", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    await run.saveFinal(toyTensors(7), { top1: 70 });
    await flipBit(run.finalPath, -5, 6);
    assert.equal(await run.isComplete(), true); // same size: the cheap check cannot tell
    assert.equal(await run.loadFinal(), null);
    assert.equal(warnings.length, 1);
    assert(warnings[0].startsWith(`${run.finalPath}: SHA-256`), warnings[0]);
    assert.equal(await run.isComplete(), false);
    // metrics.json damaged instead (truncated): also detected.
    await run.saveFinal(toyTensors(7), { top1: 70 });
    const metricsText = await Deno.readTextFile(run.metricsPath);
    await Deno.writeTextFile(run.metricsPath, metricsText.slice(0, 5));
    assert.equal(await run.isComplete(), false);
    assert.equal(await run.loadFinal(), null);
    assert.match(warnings[1], /metrics\.json: size 5 differs/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// log

Deno.test("log.jsonl: records in order; a torn last line is ignored and later appends stay readable", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    assert.deepEqual(await run.readLog(), []);
    for (let epoch = 0; epoch < 3; epoch++) await run.appendLog({ epoch, loss: 1 / (epoch + 1) });
    await Deno.writeTextFile(run.logPath, '{"epoch": 3, "lo', { append: true }); // a crash mid-append
    assert.deepEqual(await run.readLog(), [
      { epoch: 0, loss: 1 },
      { epoch: 1, loss: 0.5 },
      { epoch: 2, loss: 1 / 3 },
    ]);
    assert.deepEqual(warnings, []); // a torn tail is expected after a crash
    await run.appendLog({ epoch: 3, loss: 0.25 }); // resumed run appends again
    const records = await run.readLog();
    assert.equal(records.length, 4);
    assert.deepEqual(records[3], { epoch: 3, loss: 0.25 });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /log\.jsonl: skipping unreadable line 4/);
  });
});

Deno.test("log.jsonl of a finished run is checksummed: an emptied log is moved aside, not drawn", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun({ ...CONFIG, log: "checksum" });
    await run.appendLog({ type: "epoch", epoch: 1, loss: 2 });
    await run.appendLog({ type: "epoch", epoch: 2, loss: 1 });
    await run.saveFinal({ w: { shape: [1], data: new Float32Array([1]) } }, { loss: 1 });
    assert.equal((await run.readLog()).length, 2);
    await Deno.writeTextFile(run.logPath, "");
    assert.deepEqual(await run.readLog(), [], "a changed log gives no curve");
    assert.match(warnings.at(-1)!, /log\.jsonl: does not match the checksum .* moved aside/);
    assert.deepEqual(await run.readLog(), [], "and stays without one");
    // Appending again (a run trained anew) is legitimate: the old checksum no longer applies.
    await run.appendLog({ type: "epoch", epoch: 1, loss: 3 });
    assert.equal((await run.readLog()).length, 1);
  });
});

Deno.test("rejectFinal moves the whole final pair aside: the run is unfinished, with no half left to warn about", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    await run.saveFinal(toyTensors(1), { loss: 1 }); // metrics without the value a stage would read
    await run.rejectFinal("metrics.json has no top-1");
    assert.equal(warnings.length, 2, warnings.join("\n"));
    for (const [i, name] of ["final.safetensors", "metrics.json"].entries()) {
      assert.match(
        warnings[i],
        new RegExp(`${name.replace(".", "\\.")}: metrics\\.json has no top-1; moved aside`),
      );
    }
    assert.equal(await run.isComplete(), false);
    assert.equal(await run.loadFinal(), null);
    assert.equal(warnings.length, 2, "no 'missing although its partner exists' afterwards");
  });
});
