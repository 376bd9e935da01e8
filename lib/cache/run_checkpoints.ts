/**
 * The periodic checkpoints of one run directory, `ckpt-<epoch>.safetensors`: weights, optimizer moments and
 * the training state (step, RNG states…) as JSON in the metadata; the newest K are kept. Saving and loading go
 * through the run's {@linkcode RunManifest} (its queue, checksums and quarantine); `RunDir` exposes them.
 * @module
 */
import { atomicWriteFile, CorruptFileError, ensureDir, sha256Hex } from "../fsutil.ts";
import { encodeSafetensors, type NamedTensors, readSafetensors } from "../safetensors.ts";
import { canonicalJson } from "./hash.ts";
import { CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION, type RunManifest } from "./run_manifest.ts";

/** Names of the periodic checkpoint files; the group is the epoch. */
const CHECKPOINT_NAME = /^ckpt-(\d+)\.safetensors$/;

/** A checkpoint read back by `RunDir.latestCheckpoint`. */
export interface LoadedCheckpoint {
  epoch: number;
  tensors: NamedTensors;
  /** The `state` given to `saveCheckpoint` (step, RNG states, …), parsed back from JSON. */
  state: Record<string, unknown>;
  /** The checkpoint file. */
  path: string;
}

/** Path of the periodic checkpoint of `epoch` in the run directory `dir`. */
export function checkpointPath(dir: string, epoch: number): string {
  return `${dir}/ckpt-${epoch}.safetensors`;
}

/** Epochs of the periodic checkpoint files present in `dir`, ascending. */
export async function listCheckpoints(dir: string): Promise<number[]> {
  const epochs: number[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      const match = entry.isFile ? CHECKPOINT_NAME.exec(entry.name) : null;
      if (match) epochs.push(Number(match[1]));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return epochs.sort((a, b) => a - b);
}

/**
 * Saves the checkpoint of `epoch` and keeps the newest `keep` at or before it (see `RunDir.saveCheckpoint`).
 * Throws a RangeError at once, before queueing, for an invalid epoch.
 */
export function saveCheckpoint(
  files: RunManifest,
  keep: number,
  epoch: number,
  tensors: NamedTensors,
  state: Record<string, unknown>,
): Promise<string> {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`invalid epoch ${epoch}`);
  const dir = files.dir;
  return files.serial(async () => {
    await ensureDir(dir);
    const bytes = encodeSafetensors(tensors, {
      format: CHECKPOINT_FORMAT,
      format_version: String(CHECKPOINT_FORMAT_VERSION),
      kind: "periodic",
      run_hash: files.hash,
      epoch: String(epoch),
      state: canonicalJson(state),
    });
    const name = `ckpt-${epoch}.safetensors`;
    const sha256 = await sha256Hex(bytes);
    await atomicWriteFile(`${dir}/${name}`, bytes);
    await files.record({ [name]: { sha256, size: bytes.length } });
    // Keep the newest K at or before this epoch; drop later ones (another timeline) and older ones.
    const epochs = await listCheckpoints(dir);
    const kept = new Set(epochs.filter((e) => e <= epoch).slice(-keep));
    const removed: Record<string, null> = {};
    for (const e of epochs) {
      if (kept.has(e)) continue;
      if (e > epoch) {
        files.warn(
          `${checkpointPath(dir, e)}: later than the checkpoint just saved (epoch ${epoch}); deleted`,
        );
      }
      await Deno.remove(checkpointPath(dir, e)).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
      removed[`ckpt-${e}.safetensors`] = null;
    }
    if (Object.keys(removed).length > 0) await files.record(removed);
    return `${dir}/${name}`;
  });
}

/**
 * The newest checkpoint that verifies (see `RunDir.latestCheckpoint`); each one that fails is moved aside
 * with a warning and the next older one is tried. Null if none is left.
 */
export function latestCheckpoint(files: RunManifest): Promise<LoadedCheckpoint | null> {
  return files.serial(async () => {
    const epochs = (await listCheckpoints(files.dir)).reverse();
    for (const epoch of epochs) {
      const name = `ckpt-${epoch}.safetensors`;
      const path = `${files.dir}/${name}`;
      try {
        const bytes = await files.readVerified(name, await files.read());
        const { tensors, metadata } = readSafetensors(bytes, { path });
        files.checkOwnMetadata(metadata, path, "periodic");
        if (metadata.epoch !== String(epoch)) {
          throw new CorruptFileError(
            path,
            `metadata says epoch ${metadata.epoch}, file name says ${epoch}`,
          );
        }
        let state: unknown;
        try {
          state = JSON.parse(metadata.state ?? "");
        } catch (cause) {
          throw new CorruptFileError(path, "state metadata is not valid JSON", { cause });
        }
        if (state === null || typeof state !== "object" || Array.isArray(state)) {
          throw new CorruptFileError(path, "state metadata is not a JSON object");
        }
        return { epoch, tensors, state: state as Record<string, unknown>, path };
      } catch (error) {
        if (!(error instanceof CorruptFileError)) throw error;
        await files.quarantine(name, error.reason);
      }
    }
    return null;
  });
}
