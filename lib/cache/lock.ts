/**
 * Run locks: the `lock` file of a run directory says who is training the run (pid, host, heartbeat), so two
 * processes — on this host or sharing the cache over a network file system — never train the same run.
 *
 * Everything about the lock file lives here: its JSON format, exclusive creation, the staleness rule (dead
 * pid on this host, or a heartbeat older than `staleMs`), the take-over of a stale lock, waiting for a live
 * one, the heartbeat timer of a held lock ({@linkcode RunLock}) and its release. The run directory only says
 * where its lock is and what to tidy once it holds it ({@linkcode RunDir.acquireLock}).
 * @module
 */
import { atomicWriteFile } from "../fsutil.ts";

/** Who holds (or held) a run's lock; the JSON content of the `lock` file. */
export interface LockInfo {
  pid: number;
  hostname: string;
  /** ISO time the lock was taken. */
  startedAt: string;
  /** ISO time of the holder's latest heartbeat. */
  heartbeatAt: string;
  /** Random id of this acquisition, so a holder can tell its lock from a successor's. */
  token: string;
}

/** The run is locked by a live holder (and `wait` was false or the wait timed out). */
export class RunLockedError extends Error {
  /** The lock file. */
  readonly path: string;
  /** Its content, or null if it could not be read. */
  readonly holder: LockInfo | null;

  /** Creates the error for the lock at `path`. */
  constructor(path: string, holder: LockInfo | null, detail = "") {
    super(
      `${path}: run is locked by ${
        holder
          ? `pid ${holder.pid} on ${holder.hostname} (heartbeat ${holder.heartbeatAt})`
          : "another process"
      }${detail}`,
    );
    this.name = "RunLockedError";
    this.path = path;
    this.holder = holder;
  }
}

/** This process's lock was taken over by another (it had been judged stale) or removed. */
export class LockLostError extends Error {
  /** Creates the error for the lock at `path`. */
  constructor(readonly path: string, detail: string) {
    super(`${path}: lock lost (${detail})`);
    this.name = "LockLostError";
  }
}

/** Options of {@linkcode RunDir.acquireLock}. */
export interface AcquireLockOptions {
  /** A lock whose heartbeat is older than this is stale and may be taken over (default 10 min). */
  staleMs?: number;
  /** Wait for a live lock to go away instead of throwing {@linkcode RunLockedError} (default false). */
  wait?: boolean;
  /** Poll interval while waiting (default 1000 ms). */
  pollMs?: number;
  /** Give up waiting after this long and throw {@linkcode RunLockedError} (default: wait forever). */
  timeoutMs?: number;
  /**
   * Refresh the heartbeat on a timer every this many ms (default `staleMs / 4`; 0 = only on explicit
   * `heartbeat()` calls). Long synchronous computations block timers, so trainers should also call
   * `heartbeat()` between steps.
   */
  heartbeatMs?: number;
  /** While waiting: set by a signal handler; the wait ends with {@linkcode LockWaitInterrupted}. */
  stopSignal?: { stopped: boolean };
  /** Told once what is waited for (and again every few minutes), e.g. the run's log. */
  onWait?: (message: string) => void;
}

/** Waiting for a lock was interrupted (SIGINT/SIGTERM); nothing was started. Exit code 130. */
export class LockWaitInterrupted extends Error {
  override name = "InterruptedError";
}

/** Who asks {@linkcode acquireRunLock} for a lock: the run it guards, and what to do once it holds it. */
export interface LockRequester {
  /** The run's hash, named in wait messages. */
  hash: string;
  /** What the holder is doing, for wait messages (default `run <hash>: another process is training it`). */
  subject?: string;
  /** Receives the take-over warning; handed on to the {@linkcode RunLock} for heartbeat failures. */
  warn: (message: string) => void;
  /** Runs once the lock file is created, before the heartbeat timer starts (e.g. tidying the directory). */
  whenTaken: () => Promise<void>;
}

/**
 * Takes the lock at `lockPath` (its directory must exist): creates the file exclusively with this process's
 * pid, host, start time and a heartbeat. An existing lock is taken over (with a warning) if it is stale: its
 * pid is dead on this host, or its heartbeat is older than `staleMs`. Otherwise waits (`wait: true`) or
 * throws {@linkcode RunLockedError}. The implementation of {@linkcode RunDir.acquireLock}.
 */
export async function acquireRunLock(
  lockPath: string,
  options: AcquireLockOptions,
  requester: LockRequester,
): Promise<RunLock> {
  const { hash, warn, whenTaken } = requester;
  const { staleMs = 600_000, wait = false, pollMs = 1000, timeoutMs = Infinity } = options;
  const heartbeatMs = options.heartbeatMs ?? staleMs / 4;
  const startedWaiting = Date.now();
  let lastTold = -Infinity;
  const hostname = Deno.hostname();
  for (;;) {
    const now = new Date().toISOString();
    const info: LockInfo = {
      pid: Deno.pid,
      hostname,
      startedAt: now,
      heartbeatAt: now,
      token: crypto.randomUUID(),
    };
    if (await createLockFile(lockPath, info)) {
      await whenTaken();
      return new RunLock(lockPath, info, { heartbeatMs, warn });
    }
    const current = await readLockFile(lockPath);
    if (current === "missing") continue; // released between our attempt and the read
    // An unreadable (empty, garbled) lock file cannot be heartbeated by its holder: once it is older than
    // one heartbeat interval, nobody is keeping it fresh.
    const staleReason = current.info
      ? lockStaleness(current.info, { staleMs, hostname })
      : Date.now() - current.mtimeMs > staleMs / 4
      ? `unreadable lock file older than the heartbeat interval (${Math.round(staleMs / 4000)} s)`
      : null;
    if (staleReason !== null) {
      if (await takeOver(lockPath, current.text)) {
        // Who held it, in words: the file's raw bytes (JSON, or garbage) are not a message.
        const held = current.info
          ? `it was held by pid ${current.info.pid} on ${current.info.hostname} since ${current.info.startedAt}`
          : `its ${new TextEncoder().encode(current.text).length} bytes named no holder`;
        warn(`${lockPath}: took over a stale lock (${staleReason}); ${held}`);
      }
      continue;
    }
    if (!wait) throw new RunLockedError(lockPath, current.info);
    if (options.stopSignal?.stopped) {
      throw new LockWaitInterrupted(`stopped while waiting for ${lockPath}; nothing was started`);
    }
    if (Date.now() - startedWaiting + pollMs > timeoutMs) {
      throw new RunLockedError(lockPath, current.info, `; gave up after ${timeoutMs} ms`);
    }
    if (options.onWait && Date.now() - lastTold > 180_000) {
      lastTold = Date.now();
      const who = current.info
        ? `pid ${current.info.pid} on ${current.info.hostname}, heartbeat ${current.info.heartbeatAt}`
        : "an unreadable lock file, stale after the heartbeat interval";
      options.onWait(
        `waiting for ${requester.subject ?? `run ${hash}: another process is training it`} (${who})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/**
 * Removes a stale lock whose content is `staleText`. The lock is renamed to a unique name first (only one
 * contender's rename succeeds); if what was renamed is not the stale lock — another process took over in
 * the meantime — it is put back (link fails if yet another lock appeared, which then wins).
 */
async function takeOver(lockPath: string, staleText: string): Promise<boolean> {
  const aside = `${lockPath}.stale-${crypto.randomUUID()}`;
  try {
    await Deno.rename(lockPath, aside);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  const movedText = await Deno.readTextFile(aside).catch(() => "");
  if (movedText !== staleText) await Deno.link(aside, lockPath).catch(() => {});
  await Deno.remove(aside).catch(() => {});
  return movedText === staleText;
}

/** True if a process with this pid exists on this host (Linux: `/proc`; elsewhere: signal 0). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && hasProcFs()) return false;
  }
  try {
    Deno.kill(pid, "SIGCONT"); // harmless for a running process; only used where /proc is absent
    return true;
  } catch (error) {
    return !(error instanceof Deno.errors.NotFound);
  }
}

let procFs: boolean | undefined;
function hasProcFs(): boolean {
  if (procFs === undefined) {
    try {
      Deno.statSync("/proc/self");
      procFs = true;
    } catch {
      procFs = false;
    }
  }
  return procFs;
}

/**
 * Why a lock is stale, or null if it is live: its holder's pid is dead on this host, or its heartbeat is
 * older than `staleMs` (also covers holders on other hosts and reused pids).
 */
export function lockStaleness(
  info: LockInfo,
  options: { staleMs: number; hostname?: string; now?: number },
): string | null {
  const { staleMs, hostname = Deno.hostname(), now = Date.now() } = options;
  if (info.hostname === hostname && info.pid !== Deno.pid && !isProcessAlive(info.pid)) {
    return `pid ${info.pid} is not running on ${hostname}`;
  }
  const heartbeat = Date.parse(info.heartbeatAt);
  if (!Number.isFinite(heartbeat)) return "heartbeat time is unreadable";
  if (now - heartbeat > staleMs) return `last heartbeat ${info.heartbeatAt} is older than ${staleMs} ms`;
  return null;
}

/** Creates the lock file exclusively with `info`; false if a lock file exists already. */
async function createLockFile(path: string, info: LockInfo): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true });
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(info) + "\n");
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
  } catch (error) {
    file.close();
    await Deno.remove(path).catch(() => {});
    throw error;
  }
  file.close();
  return true;
}

function parseLockInfo(text: string): LockInfo | null {
  try {
    const value = JSON.parse(text) as LockInfo;
    const valid = typeof value === "object" && value !== null && Number.isSafeInteger(value.pid) &&
      typeof value.hostname === "string" && typeof value.heartbeatAt === "string" &&
      typeof value.token === "string";
    return valid ? value : null;
  } catch {
    return null;
  }
}

/** Reads a lock file: its text, parsed content (null if unreadable, e.g. mid-creation) and mtime. */
async function readLockFile(
  path: string,
): Promise<{ text: string; info: LockInfo | null; mtimeMs: number } | "missing"> {
  try {
    const [text, stat] = await Promise.all([Deno.readTextFile(path), Deno.stat(path)]);
    return { text, info: parseLockInfo(text), mtimeMs: stat.mtime?.getTime() ?? 0 };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "missing";
    throw error;
  }
}

/** A held run lock. Release it with `release()` (or `await using`). */
export class RunLock {
  /** The lock file. */
  readonly path: string;
  #info: LockInfo;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pending: Promise<void> = Promise.resolve();
  #released = false;
  #lost = false;
  readonly #warn: (message: string) => void;

  /** Created by {@linkcode RunDir.acquireLock}. */
  constructor(
    path: string,
    info: LockInfo,
    options: { heartbeatMs: number; warn: (message: string) => void },
  ) {
    this.path = path;
    this.#info = info;
    this.#warn = options.warn;
    if (options.heartbeatMs > 0) {
      const timer = setInterval(() => {
        this.heartbeat().catch((error) =>
          this.#warn(`${path}: heartbeat failed: ${(error as Error).message}`)
        );
      }, options.heartbeatMs);
      Deno.unrefTimer(timer); // the lock must not keep the process alive
      this.#timer = timer;
    }
  }

  /** The lock file's current content as written by this holder. */
  get info(): LockInfo {
    return { ...this.#info };
  }

  /** True once another process took the lock over (see {@linkcode LockLostError}). */
  get lost(): boolean {
    return this.#lost;
  }

  /**
   * Refreshes the heartbeat time (atomic rewrite). Throws {@linkcode LockLostError} if the lock file no
   * longer holds this acquisition's token.
   *
   * Known window: a contender that judged this lock stale (its holder blocked past `staleMs`) may take it over
   * between the token check and the rename, and the rename then overwrites the successor's lock. The
   * successor's own next heartbeat finds this token instead of its own and throws `LockLostError`, which ends
   * its training: one of the two stops within a heartbeat interval, and a finished run's files are written
   * atomically either way.
   */
  heartbeat(): Promise<void> {
    const run = this.#pending.then(async () => {
      if (this.#released) return;
      const current = await readLockFile(this.path);
      if (current === "missing" || current.info?.token !== this.#info.token) {
        this.#lost = true;
        this.#stopTimer();
        throw new LockLostError(
          this.path,
          current === "missing" ? "lock file removed" : `now held by pid ${current.info?.pid ?? "?"}`,
        );
      }
      const next = { ...this.#info, heartbeatAt: new Date().toISOString() };
      await atomicWriteFile(this.path, JSON.stringify(next) + "\n");
      this.#info = next;
    });
    this.#pending = run.catch(() => {});
    return run;
  }

  /** Removes the lock file if it is still this holder's (idempotent). */
  async release(): Promise<void> {
    this.#stopTimer();
    await this.#pending;
    if (this.#released) return;
    this.#released = true;
    const current = await readLockFile(this.path);
    if (current !== "missing" && current.info?.token === this.#info.token) {
      await Deno.remove(this.path).catch(() => {});
    } else if (!this.#lost) {
      this.#warn(`${this.path}: at release the lock was no longer held by this process`);
    }
  }

  /** Releases the lock (for `await using lock = await run.acquireLock()`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
