import assert from "node:assert/strict";
import {
  cacheSummary,
  canonicalJson,
  type LockInfo,
  LockLostError,
  lockStaleness,
  type NamedTensors,
  RunCache,
  type RunDir,
  runHash,
  RunLockedError,
} from "../lib/checkpoint.ts";
import { sha256File, sha256Hex } from "../lib/fsutil.ts";
import { encodeSafetensors } from "../lib/safetensors.ts";

// ---------------------------------------------------------------------------------------------------------
// helpers

async function withCache(
  fn: (cache: RunCache, warnings: string[], dir: string) => Promise<void>,
  keepCheckpoints?: number,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "checkpoint_test_" });
  const warnings: string[] = [];
  try {
    await fn(new RunCache(dir, { warn: (m) => warnings.push(m), keepCheckpoints }), warnings, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Weights and Adam moments of a toy model; `seed` makes each epoch's values distinct. */
function toyTensors(seed: number): NamedTensors {
  const w = new Float32Array(64).map((_, i) => Math.sin(seed * 100 + i));
  return {
    "blocks.0.attn.qkv.weight": { shape: [8, 8], data: w },
    "opt.m.blocks.0.attn.qkv.weight": { shape: [8, 8], data: w.map((v) => v * 0.1) },
    "opt.v.blocks.0.attn.qkv.weight": { shape: [8, 8], data: w.map((v) => v * v) },
    "pos_embed": { shape: [1, 2, 4], data: new Float32Array([seed, 1, 2, 3, 4, 5, 6, 7]) },
    "step_counter": { shape: [1], data: new Int32Array([seed * 10]) },
  };
}

const CONFIG = { model: "vit-tiny", maskRatio: 0.75, mask: { kind: "gpa", alpha: [0, 0.5] }, seed: 1 };

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

async function flipBit(path: string, index: number, bit: number): Promise<void> {
  const bytes = await Deno.readFile(path);
  bytes[index < 0 ? bytes.length + index : index] ^= 1 << bit;
  await Deno.writeFile(path, bytes);
}

// ---------------------------------------------------------------------------------------------------------
// hashing

Deno.test("canonicalJson sorts keys recursively, drops undefined properties, keeps arrays in order", () => {
  const value = { b: 1, a: { d: [3, { y: 2, x: "é" }], c: "s" }, u: undefined, n: null, t: true, f: -0.5e-7 };
  assert.equal(
    canonicalJson(value),
    '{"a":{"c":"s","d":[3,{"x":"é","y":2}]},"b":1,"f":-5e-8,"n":null,"t":true}',
  );
  assert.equal(canonicalJson([]), "[]");
  assert.equal(canonicalJson({}), "{}");
  assert.equal(canonicalJson(new Date(0)), '"1970-01-01T00:00:00.000Z"');
  assert.equal(canonicalJson({ "10": 1, "9": 2, "a b": 3 }), '{"10":1,"9":2,"a b":3}');
});

Deno.test("canonicalJson rejects values JSON would lose or alter", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (
    const [bad, pattern] of [
      [{ x: NaN }, /\$\.x is NaN/],
      [{ x: [1, Infinity] }, /\$\.x\[1\] is Infinity/],
      [[1, undefined], /\$\[1\] is undefined/],
      [{ m: new Map() }, /\$\.m is a Map/],
      [{ t: new Float32Array(2) }, /Float32Array/],
      [{ f: () => 1 }, /function/],
      [{ big: 1n }, /bigint/],
      [undefined, /undefined/],
      [cyclic, /circular/],
    ] as const
  ) {
    assert.throws(() => canonicalJson(bad), pattern);
  }
  // Shared (non-circular) references are fine.
  const shared = { k: 1 };
  assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"k":1},"b":{"k":1}}');
});

Deno.test("runHash: 16 hex of SHA-256 of the canonical JSON, independent of key order", async () => {
  // sha256("{}") = 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a (sha256sum)
  assert.equal(runHash({}), "44136fa355b3678a");
  assert.equal(runHash({ undefinedIsDropped: undefined }), "44136fa355b3678a");
  const text = canonicalJson(CONFIG);
  assert.equal(runHash(CONFIG), (await sha256Hex(new TextEncoder().encode(text))).slice(0, 16));
  const reordered = { seed: 1, mask: { alpha: [0, 0.5], kind: "gpa" }, maskRatio: 0.75, model: "vit-tiny" };
  assert.equal(runHash(reordered), runHash(CONFIG));
});

Deno.test("runHash changes when any value changes", () => {
  const base = runHash(CONFIG);
  const variants: unknown[] = [
    { ...CONFIG, maskRatio: 0.7500001 },
    { ...CONFIG, model: "vit-tiny " },
    { ...CONFIG, seed: 2 },
    { ...CONFIG, seed: "1" },
    { ...CONFIG, mask: { kind: "gpa", alpha: [0, 0.6] } },
    { ...CONFIG, mask: { kind: "gpa", alpha: [0.5, 0] } },
    { ...CONFIG, mask: { kind: "gpa", alpha: [0, 0.5, 0] } },
    { ...CONFIG, mask: { kind: "gpa" } },
    { ...CONFIG, extra: null },
    { ...CONFIG, extra: false },
    { model: CONFIG.model, maskRatio: CONFIG.maskRatio, mask: CONFIG.mask },
  ];
  const hashes = new Set(variants.map((v) => runHash(v)));
  assert.equal(hashes.size, variants.length);
  assert(!hashes.has(base));
  for (const hash of hashes) assert.match(hash, /^[0-9a-f]{16}$/);
});

// ---------------------------------------------------------------------------------------------------------
// config and checkpoints

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

// ---------------------------------------------------------------------------------------------------------
// locking

const HOLDER_SCRIPT = `
import { RunCache } from ${JSON.stringify(new URL("../lib/checkpoint.ts", import.meta.url).href)};
const [cacheDir, hash, holdMs] = Deno.args;
const lock = await new RunCache(cacheDir).runDir(hash).acquireLock({ staleMs: 60000, heartbeatMs: 100 });
console.log("locked " + Deno.pid);
await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
await lock.release();
console.log("released");
`;

/** Starts a separate Deno process that takes the run's lock and holds it for `holdMs`. */
async function spawnHolder(dir: string, run: RunDir, holdMs: number) {
  const script = `${dir}/holder.ts`;
  await Deno.writeTextFile(script, HOLDER_SCRIPT);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", "--no-lock", script, `${dir}/cache`, run.hash, String(holdMs)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`holder exited early: ${output}`);
    output += value;
  }
  assert.equal(output.trim(), `locked ${child.pid}`);
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return output;
      output += value;
    }
  })();
  return { child, rest };
}

Deno.test("lock is exclusive across processes; waiting works; a killed holder's lock is taken over", async () => {
  const dir = await Deno.makeTempDir({ prefix: "checkpoint_lock_test_" });
  const warnings: string[] = [];
  const children: Deno.ChildProcess[] = [];
  try {
    const cache = new RunCache(`${dir}/cache`, { warn: (m) => warnings.push(m) });
    const run = await cache.openRun(CONFIG);

    // 1. A live holder: refused immediately, then obtained by waiting once it releases.
    const first = await spawnHolder(dir, run, 1500);
    children.push(first.child);
    await assert.rejects(() => run.acquireLock({ heartbeatMs: 0 }), (error: unknown) => {
      assert(error instanceof RunLockedError);
      assert.equal(error.holder?.pid, first.child.pid);
      assert.equal(error.holder?.hostname, Deno.hostname());
      return true;
    });
    const waitStart = Date.now();
    const lock = await run.acquireLock({ wait: true, pollMs: 50, heartbeatMs: 0 });
    assert(Date.now() - waitStart >= 1000, "acquired only after the holder released");
    assert.equal((await first.child.status).code, 0);
    assert.match(await first.rest, /released/);
    assert.equal(JSON.parse(await Deno.readTextFile(run.lockPath)).pid, Deno.pid);
    await lock.release();
    assert.deepEqual(warnings, []);

    // 2. A holder killed without releasing: its pid is dead on this host, so the lock is stale.
    const second = await spawnHolder(dir, run, 60_000);
    children.push(second.child);
    await assert.rejects(() => run.acquireLock({ heartbeatMs: 0 }), RunLockedError);
    second.child.kill("SIGKILL");
    await second.child.status; // reaped: the pid no longer exists
    await second.rest;
    const taken = await run.acquireLock({ heartbeatMs: 0 });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], new RegExp(`took over a stale lock \\(pid ${second.child.pid} is not running`));
    await taken.release();
    assert.equal(await Deno.stat(run.lockPath).catch(() => null), null);
  } finally {
    for (const child of children) {
      try {
        child.kill("SIGKILL"); // only if an assertion failed while it was still holding the lock
        await child.status;
      } catch {
        // already exited
      }
    }
    await Deno.remove(dir, { recursive: true });
  }
});

function lockInfo(overrides: Partial<LockInfo>): LockInfo {
  const now = new Date().toISOString();
  return {
    pid: Deno.pid,
    hostname: Deno.hostname(),
    startedAt: now,
    heartbeatAt: now,
    token: "t",
    ...overrides,
  };
}

Deno.test("lockStaleness: dead pid on this host, old heartbeat anywhere; live otherwise", async () => {
  const exited = new Deno.Command("true").spawn();
  await exited.status;
  assert.match(lockStaleness(lockInfo({ pid: exited.pid }), { staleMs: 60_000 }) ?? "", /is not running/);
  // The same pid on another host says nothing about liveness there.
  assert.equal(
    lockStaleness(lockInfo({ pid: exited.pid, hostname: "elsewhere" }), { staleMs: 60_000 }),
    null,
  );
  const old = new Date(Date.now() - 120_000).toISOString();
  assert.match(
    lockStaleness(lockInfo({ hostname: "elsewhere", heartbeatAt: old }), { staleMs: 60_000 }) ?? "",
    /older than 60000 ms/,
  );
  assert.equal(lockStaleness(lockInfo({ heartbeatAt: old }), { staleMs: 300_000 }), null);
  assert.equal(lockStaleness(lockInfo({}), { staleMs: 60_000 }), null); // this very process
});

Deno.test("stale lock files (dead pid, old heartbeat) are taken over; live ones refuse or time out", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    const exited = new Deno.Command("true").spawn();
    await exited.status;
    await Deno.writeTextFile(run.lockPath, JSON.stringify(lockInfo({ pid: exited.pid, token: "dead" })));
    // A temp file left by a crashed writer is cleaned up once the lock is held.
    await Deno.writeTextFile(`${run.path}/.ckpt-9.safetensors.tmp-999999-abc`, "partial");
    const lock = await run.acquireLock({ heartbeatMs: 0 });
    assert.match(warnings[0], new RegExp(`pid ${exited.pid} is not running`));
    assert.deepEqual(await listDir(run.path), ["config.json", "lock", "manifest.json"]);
    await lock.release();

    const old = new Date(Date.now() - 10_000).toISOString();
    await Deno.writeTextFile(
      run.lockPath,
      JSON.stringify(lockInfo({ pid: 1, hostname: "other-host", heartbeatAt: old, token: "old" })),
    );
    await assert.rejects(() => run.acquireLock({ staleMs: 60_000, heartbeatMs: 0 }), RunLockedError);
    const lock2 = await run.acquireLock({ staleMs: 5_000, heartbeatMs: 0 });
    assert.match(warnings[1], /last heartbeat .* is older than 5000 ms/);
    await lock2.release();

    await Deno.writeTextFile(run.lockPath, JSON.stringify(lockInfo({ pid: 1, hostname: "other-host" })));
    const start = Date.now();
    await assert.rejects(
      () => run.acquireLock({ wait: true, pollMs: 50, timeoutMs: 300, heartbeatMs: 0 }),
      /gave up after 300 ms/,
    );
    assert(Date.now() - start >= 200);
    // The same process cannot take its own run twice either.
    await Deno.remove(run.lockPath);
    const held = await run.acquireLock({ heartbeatMs: 0 });
    await assert.rejects(() => run.acquireLock({ heartbeatMs: 0 }), RunLockedError);
    await held.release();
    await held.release(); // idempotent
    assert.equal(warnings.length, 2);
  });
});

Deno.test("heartbeat refreshes the lock; losing the lock is detected; timers do not leak", async () => {
  await withCache(async (cache, warnings) => {
    const run = await cache.openRun(CONFIG);
    const lock = await run.acquireLock({ heartbeatMs: 30 });
    const first = lock.info.heartbeatAt;
    await new Promise((resolve) => setTimeout(resolve, 120));
    const onDisk = JSON.parse(await Deno.readTextFile(run.lockPath)) as LockInfo;
    assert(Date.parse(onDisk.heartbeatAt) > Date.parse(first), "timer heartbeat advanced the time");
    assert.equal(onDisk.token, lock.info.token);
    await lock.release();
    assert.deepEqual(warnings, []);

    const lock2 = await run.acquireLock({ heartbeatMs: 0 });
    await lock2.heartbeat();
    // Someone else took over (e.g. judged us stale): the next heartbeat says so.
    await Deno.writeTextFile(run.lockPath, JSON.stringify(lockInfo({ pid: 4242, token: "thief" })));
    await assert.rejects(() => lock2.heartbeat(), LockLostError);
    assert.equal(lock2.lost, true);
    await lock2.release(); // does not delete the thief's lock
    assert.equal(JSON.parse(await Deno.readTextFile(run.lockPath)).token, "thief");
  });
});

// ---------------------------------------------------------------------------------------------------------
// summary

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

Deno.test("lock: a garbage lock file is stale after one heartbeat interval; a wait honours signals and says why", async () => {
  await withCache(async (cache) => {
    const run = await cache.openRun({ ...CONFIG, lock: "garbage" });
    await Deno.writeTextFile(run.lockPath, "");
    // Fresh garbage: another process may be writing it; waiting ends at once when a signal arrives.
    const stop = { stopped: false };
    const told: string[] = [];
    setTimeout(() => (stop.stopped = true), 150);
    const t0 = Date.now();
    await assert.rejects(
      () =>
        run.acquireLock({
          wait: true,
          pollMs: 20,
          heartbeatMs: 0,
          stopSignal: stop,
          onWait: (m) => told.push(m),
        }),
      (e: Error) => e.name === "InterruptedError",
    );
    assert.ok(Date.now() - t0 < 5000, "no 10-minute silent wait");
    assert.match(
      told[0],
      /waiting for run [0-9a-f]{16}: another process is training it \(an unreadable lock file/,
    );
    // Older than the heartbeat interval (staleMs / 4): nobody keeps it fresh, so it is taken over.
    const old = new Date(Date.now() - 20_000);
    await Deno.utime(run.lockPath, old, old);
    const lock = await run.acquireLock({ staleMs: 60_000, heartbeatMs: 0 });
    await lock.release();
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
