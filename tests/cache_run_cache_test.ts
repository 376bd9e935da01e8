import assert from "node:assert/strict";
import { runHash } from "../lib/cache/hash.ts";
import { cacheSummary } from "../lib/cache/run_cache.ts";
import { sha256File } from "../lib/fsutil.ts";
import { CONFIG, flipBit, listDir, toyTensors, withCache } from "./cache_helpers.ts";

Deno.test("openRun records config.json once and refuses a different config for the same directory", async () => {
  await withCache(async (cache) => {
    const run = await cache.openRun(CONFIG);
    assert.equal(run.hash, runHash(CONFIG));
    assert.equal(run.path, `${cache.cacheDir}/runs/${runHash(CONFIG)}`);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(run.configPath)), CONFIG);
    await cache.openRun({ ...CONFIG }); // same config: no-op
    await assert.rejects(() => run.writeConfig({ ...CONFIG, seed: 9 }), /hashes to/);
    assert.deepEqual(await run.readConfig(), CONFIG);
    const manifest = await run.readManifest();
    assert.deepEqual(Object.keys(manifest.files), ["config.json"]);
    assert.equal(manifest.files["config.json"].sha256, await sha256File(run.configPath));
    assert.deepEqual(await cache.listRuns(), [run.hash]);
    assert.throws(() => cache.runDir("../../etc"), /invalid run hash/);
  });
});

Deno.test("cacheSummary counts runs, finished runs, bytes and quarantined files", async () => {
  await withCache(async (cache, _warnings, dir) => {
    assert.deepEqual(await cacheSummary(dir), {
      runs: 0,
      completeRuns: 0,
      bytes: 0,
      corruptFiles: 0,
      lockedRuns: 0,
    });
    const done = await cache.openRun(CONFIG);
    await done.saveFinal(toyTensors(1), { top1: 1 });
    const running = await cache.openRun({ ...CONFIG, seed: 5 });
    await running.saveCheckpoint(1, toyTensors(1), { step: 1 });
    await running.saveCheckpoint(2, toyTensors(2), { step: 2 });
    await flipBit(running.checkpointPath(2), -1, 0);
    await running.latestCheckpoint();
    const lock = await running.acquireLock({ heartbeatMs: 0 });
    let bytes = 0;
    for (const run of [done, running]) {
      for (const name of await listDir(run.path)) bytes += (await Deno.stat(`${run.path}/${name}`)).size;
    }
    assert.deepEqual(await cacheSummary(dir), {
      runs: 2,
      completeRuns: 1,
      bytes,
      corruptFiles: 1,
      lockedRuns: 1,
    });
    await lock.release();
  });
});
