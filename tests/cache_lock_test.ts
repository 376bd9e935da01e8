import assert from "node:assert/strict";
import { type LockInfo, LockLostError, lockStaleness, RunLockedError } from "../lib/cache/lock.ts";
import { RunCache } from "../lib/cache/run_cache.ts";
import type { RunDir } from "../lib/cache/run_dir.ts";
import { CONFIG, listDir, withCache } from "./cache_helpers.ts";

const HOLDER_SCRIPT = `
import { RunCache } from ${JSON.stringify(new URL("../lib/cache/mod.ts", import.meta.url).href)};
const [cacheDir, hash, holdMs] = Deno.args;
const run = new RunCache(cacheDir).runDir(hash);
const lock = await run.acquireLock({ staleMs: 60000, heartbeatMs: 100 });
console.log("locked " + Deno.pid);
await new Promise((resolve) => setTimeout(resolve, Number(holdMs)));
// Whether the lock file still held this process's token up to its release: nobody took it meanwhile.
const intact = JSON.parse(await Deno.readTextFile(run.lockPath)).token === lock.info.token;
await lock.release();
console.log(intact ? "released intact" : "released, but the lock had been taken");
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
  const dir = await Deno.makeTempDir({ prefix: "cache_lock_test_" });
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
    // Acquired only after the holder released: the holder saw its own lock intact up to its release (an
    // event, not a duration, so a slow machine cannot fail it).
    const lock = await run.acquireLock({ wait: true, pollMs: 50, heartbeatMs: 0 });
    assert.equal((await first.child.status).code, 0);
    assert.match(await first.rest, /released intact/);
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
    // Waits for the event (the timer rewrote the file with a later time), not for a duration: on a busy
    // machine a 30 ms timer may fire seconds late. The deadline only keeps a broken timer from hanging.
    let onDisk = JSON.parse(await Deno.readTextFile(run.lockPath)) as LockInfo;
    const deadline = Date.now() + 120_000;
    while (Date.parse(onDisk.heartbeatAt) <= Date.parse(first)) {
      assert(Date.now() < deadline, "the timer never refreshed the heartbeat");
      await new Promise((resolve) => setTimeout(resolve, 10));
      try {
        onDisk = JSON.parse(await Deno.readTextFile(run.lockPath)) as LockInfo;
      } catch {
        // caught between the heartbeat's write and rename: read again
      }
    }
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

Deno.test("lock: a garbage lock file is stale after one heartbeat interval; a wait honours signals and says why", async () => {
  await withCache(async (cache) => {
    const run = await cache.openRun({ ...CONFIG, lock: "garbage" });
    await Deno.writeTextFile(run.lockPath, "");
    // Fresh garbage: another process may be writing it; waiting ends at once when a signal arrives.
    const stop = { stopped: false };
    const told: string[] = [];
    setTimeout(() => (stop.stopped = true), 150);
    // Ends with the interruption, not a take-over 2.5 minutes later (which would resolve, not reject).
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
