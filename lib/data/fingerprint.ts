/**
 * Fingerprints of dataset sources: what a packed dataset cache entry and every run's identity are keyed by,
 * so that changed data (another archive, a class folder emptied, files replaced) is never served from a
 * stale cache nor mistaken for an earlier run's data.
 *
 * - an archive: `sha256:<hex>` of its bytes;
 * - a directory: `files:<hex>`, the SHA-256 of its sorted file list with each file's size and modification
 *   time (reading every byte of tens of thousands of images would cost more than decoding them).
 * @module
 */
import { createHash } from "node:crypto";
import { sha256File } from "../fsutil.ts";

/** The fingerprint of an archive file or a directory tree. */
export async function sourceFingerprint(path: string): Promise<string> {
  const info = await Deno.stat(path);
  if (info.isFile) return `sha256:${await sha256File(path)}`;
  const lines: string[] = [];
  const walk = async (rel: string) => {
    const entries: Deno.DirEntry[] = [];
    for await (const e of Deno.readDir(rel ? `${path}/${rel}` : path)) entries.push(e);
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(child);
      else if (e.isFile) {
        const s = await Deno.stat(`${path}/${child}`);
        lines.push(`${child}\t${s.size}\t${s.mtime?.getTime() ?? 0}`);
      }
    }
  };
  await walk("");
  lines.sort();
  return `files:${createHash("sha256").update(lines.join("\n")).digest("hex")}`;
}
