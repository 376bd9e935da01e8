/**
 * Fingerprints of dataset sources: what a packed dataset cache entry and every run's identity are keyed by,
 * so that changed data (another archive, a class folder emptied, files replaced) is never served from a
 * stale cache nor mistaken for an earlier run's data.
 *
 * - an archive: `sha256:<hex>` of its bytes;
 * - a directory: `files:<hex>`, the SHA-256 of its sorted file list with each file's size and modification
 *   time (reading every byte of tens of thousands of images would cost more than decoding them). Symbolic
 *   links are followed: a linked file counts with its target's size and time, a linked folder with its
 *   files, so a folder of links has the fingerprint of the same files copied with their times.
 * @module
 */
import { createHash } from "node:crypto";
import { sha256File } from "../fsutil.ts";
import { readDirFollowingLinks } from "./image_folder.ts";
import { DataError } from "./types.ts";

/** The fingerprint of an archive file or a directory tree (a directory without a file is a `DataError`). */
export async function sourceFingerprint(path: string): Promise<string> {
  const info = await Deno.stat(path);
  if (info.isFile) return `sha256:${await sha256File(path)}`;
  const lines: string[] = [];
  const walk = async (rel: string, ancestors: Set<string>) => {
    const dir = rel ? `${path}/${rel}` : path;
    // A link back to a folder above would loop forever: each real folder is walked once per branch.
    const real = await Deno.realPath(dir);
    if (ancestors.has(real)) throw new DataError(`${dir} links back to ${real}, a folder above it`);
    const below = new Set(ancestors).add(real);
    for (const e of await readDirFollowingLinks(dir)) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(child, below);
      else if (e.isFile) {
        const s = await Deno.stat(`${path}/${child}`);
        lines.push(`${child}\t${s.size}\t${s.mtime?.getTime() ?? 0}`);
      }
    }
  };
  await walk("", new Set());
  if (lines.length === 0) throw new DataError(`${path} holds no files (folders and links followed)`);
  lines.sort();
  return `files:${createHash("sha256").update(lines.join("\n")).digest("hex")}`;
}
