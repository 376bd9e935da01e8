/**
 * The per-epoch log of one run directory, `log.jsonl`: append-only JSON lines (a torn last line is skipped),
 * recorded in the manifest when the run finishes so that a log changed afterwards is detected and moved aside.
 * The writers go through the run's {@linkcode RunManifest} queue; `RunDir` exposes them.
 * @module
 */
import { atomicWriteFile, ensureDir, sha256Hex } from "../fsutil.ts";
import type { RunManifest } from "./run_manifest.ts";

/**
 * Appends one JSON line to `logPath` (see `RunDir.appendLog`); a torn previous append gets its newline first.
 */
export function appendLog(
  files: RunManifest,
  logPath: string,
  record: Record<string, unknown>,
): Promise<void> {
  return files.serial(async () => {
    await ensureDir(files.dir);
    // A run trained again (its final files rejected) grows its log: the finished run's checksum goes.
    if ((await files.read()).files["log.jsonl"]) await files.record({ "log.jsonl": null });
    const file = await Deno.open(logPath, { read: true, append: true, create: true });
    try {
      const size = (await file.stat()).size;
      let prefix = "";
      if (size > 0) {
        const last = new Uint8Array(1);
        await file.seek(size - 1, Deno.SeekMode.Start);
        await file.read(last);
        if (last[0] !== 0x0a) prefix = "\n";
      }
      const bytes = new TextEncoder().encode(prefix + JSON.stringify(record) + "\n");
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
    } finally {
      file.close();
    }
  });
}

/**
 * Rewrites `logPath` to the last record of each epoch 1..`epochs` (see `RunDir.truncateLogToEpochs`).
 * Returns how many lines were dropped.
 */
export function truncateLogToEpochs(files: RunManifest, logPath: string, epochs: number): Promise<number> {
  return files.serial(async () => {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(logPath);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return 0;
      throw error;
    }
    const lines = new TextDecoder().decode(bytes).split("\n").filter((l) => l.trim() !== "");
    const lastOfEpoch = new Map<number, string>();
    for (const line of lines) {
      let record: { type?: unknown; epoch?: unknown } | null = null;
      try {
        record = JSON.parse(line);
      } catch {
        continue;
      }
      const epoch = Number(record?.epoch);
      if (record?.type === "epoch" && Number.isInteger(epoch) && epoch >= 1 && epoch <= epochs) {
        lastOfEpoch.set(epoch, line);
      }
    }
    const kept = [...lastOfEpoch.keys()].sort((a, b) => a - b).map((e) => lastOfEpoch.get(e)!);
    if (kept.length === lines.length && bytes.at(-1) === 0x0a && kept.every((l, i) => l === lines[i])) {
      return 0;
    }
    if ((await files.read()).files["log.jsonl"]) await files.record({ "log.jsonl": null });
    await atomicWriteFile(logPath, kept.map((l) => `${l}\n`).join(""));
    return lines.length - kept.length;
  });
}

/**
 * The records of `logPath` in order (see `RunDir.readLog`). Not queued: a reader sees whatever the file
 * holds now.
 */
export async function readLog(files: RunManifest, logPath: string): Promise<Record<string, unknown>[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(logPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      if ((await files.read()).files["log.jsonl"]) {
        files.warn(`${logPath}: missing although the finished run recorded it; no learning curve`);
      }
      return [];
    }
    throw error;
  }
  // A finished run's log is in the manifest: a log changed since (emptied, edited) is moved aside rather
  // than drawn as a learning curve.
  const recorded = (await files.read()).files["log.jsonl"];
  if (recorded && (bytes.length !== recorded.size || (await sha256Hex(bytes)) !== recorded.sha256)) {
    await files.quarantine("log.jsonl", "does not match the checksum recorded when the run finished");
    return [];
  }
  const text = new TextDecoder().decode(bytes);
  const lines = text.split("\n");
  const records: Record<string, unknown>[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    let record: unknown;
    try {
      record = JSON.parse(lines[i]);
    } catch {
      record = undefined;
    }
    if (record !== null && typeof record === "object" && !Array.isArray(record)) {
      records.push(record as Record<string, unknown>);
    } else if (i !== lines.length - 1) {
      // The last element has no newline after it: that is a torn append, expected after a crash.
      files.warn(`${logPath}: skipping unreadable line ${i + 1}`);
    }
  }
  return records;
}
