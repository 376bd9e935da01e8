/**
 * Dataset archives: SHA-256 verification and atomic extraction into the cache.
 *
 * Extraction runs the system `tar` (and `unzip` for .zip) rather than an npm tar package: GNU tar and
 * bsdtar ship with Linux, macOS and Windows 10+, decompress gzip natively, refuse `..` and absolute member
 * paths by default, and unpack the 83 MB Tiny-ImageNet archive in about 3 s here — several times faster than
 * a JavaScript implementation — with no extra dependency to pin.
 * @module
 */
import { createHash } from "node:crypto";
import { DataError } from "./types.ts";
import { exists, sha256File } from "../fsutil.ts";

/**
 * SHA-256 of the archives this project knows by name (the ones in ../shared/datasets). A file with one of
 * these names and another digest is rejected; other names are accepted with a warning.
 */
export const KNOWN_ARCHIVE_SHA256: Readonly<Record<string, string>> = {
  "camvid-segnet-trainval.tar": "4af070d9df0a52223f095c88e6ea7ccd4af5375a37e0bb5a9cdf374604ce23c9",
  "cifar-10-images.tar.gz": "ac523eb65dc36ecf8a2dfbaf193e480e7d3da21219d5bb0d20145e762620833d",
  "tiny-imagenet-200-train250.tar.gz": "26bc162193b52061314b148c0d53b245156603401e16b930ef4cbe1d26b83fd4",
};

/** The marker of a finished extraction in `dir`, or null when there is none (or it cannot be read). */
async function readMarker(dir: string): Promise<{ sha256?: string } | null> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/${EXTRACTION_MARKER}`));
  } catch {
    return null;
  }
}

/** Name of the marker file written into a finished extraction. */
export const EXTRACTION_MARKER = ".gpa-extracted.json";

/** Last path component. */
export function baseName(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  return trimmed.slice(Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\")) + 1);
}

/** Archive file name without its archive extension(s), e.g. "x.tar.gz" -> "x". */
export function archiveStem(name: string): string {
  return name.replace(/\.(tar\.gz|tgz|tar|zip)$/i, "");
}

/** Lower-case hex SHA-256 of bytes. */
export function sha256Bytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Checks an archive against `KNOWN_ARCHIVE_SHA256` and returns its digest. Throws `DataError` when a known
 * name has another digest; warns through `log` when the name is unknown.
 */
export async function verifyArchive(
  path: string,
  log: (message: string) => void,
  known: Readonly<Record<string, string>> = KNOWN_ARCHIVE_SHA256,
): Promise<string> {
  const name = baseName(path);
  const digest = await sha256File(path);
  const expected = known[name];
  if (expected === undefined) {
    log(`warning: archive ${path} is not in the known list; using it unverified (sha256 ${digest})`);
  } else if (expected !== digest) {
    throw new DataError(
      `archive ${path} has sha256 ${digest}, expected ${expected}: the file is damaged or not the original; ` +
        `download it again`,
    );
  }
  return digest;
}

async function runTool(
  command: string,
  args: string[],
  captureStdout = false,
): Promise<{ ok: boolean; message: string; stdout: string }> {
  try {
    const output = await new Deno.Command(command, {
      args,
      stdout: captureStdout ? "piped" : "null",
      stderr: "piped",
    }).output();
    return {
      ok: output.success,
      message: new TextDecoder().decode(output.stderr).trim().split("\n")[0] ?? "",
      stdout: captureStdout ? new TextDecoder().decode(output.stdout) : "",
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { ok: false, message: `${command} not installed`, stdout: "" };
    }
    throw error;
  }
}

/**
 * A subset of an archive to extract instead of all of it (e.g. the first k images per class when a load has
 * limits), so that small runs and tests do not unpack tens of thousands of files.
 */
export interface PartialExtraction {
  /** Names the subset; part of the extraction directory's name, e.g. "t2-v1". */
  tag: string;
  /**
   * Chooses the members to extract from the archive's member list (directories end with "/"). It may read
   * small members first through `readText`, which extracts them and returns their text by member name.
   */
  select(members: string[], readText: (names: string[]) => Promise<Map<string, string>>): Promise<string[]>;
}

/** Inside an extraction's temporary folder: the pid and host extracting into it. */
const OWNER_FILE = ".gpa-extracting";

/** How old an ownerless leftover (from before owner files, or a folder whose owner file was never written) must be. */
const ABANDONED_AFTER_MS = 60 * 60_000;

/**
 * Removes what interrupted extractions left in `rawRoot` — they are this suite's own: temporary folders
 * (`.tmp-<stem>-…`) whose owner process is gone from this host (or, without an owner file, untouched for an
 * hour), and member lists (`.members-…`) of older versions, untouched for an hour. Another host's folders
 * are left to that host. Returns the paths removed.
 */
export async function removeAbandonedExtractions(
  rawRoot: string,
  log: (message: string) => void,
): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(rawRoot)];
  } catch {
    return removed;
  }
  const { isProcessAlive } = await import("../cache/lock.ts");
  for (const e of entries) {
    if (!/^\.(tmp-.+|members-.+)$/.test(e.name)) continue;
    const path = `${rawRoot}/${e.name}`;
    let abandoned = false;
    const owner = e.isDirectory
      ? await Deno.readTextFile(`${path}/${OWNER_FILE}`).then(JSON.parse).catch(() => null)
      : null;
    if (owner && typeof owner.pid === "number") {
      abandoned = owner.hostname === Deno.hostname() && !isProcessAlive(owner.pid);
    } else {
      const st = await Deno.stat(path).catch(() => null);
      abandoned = st !== null && Date.now() - (st.mtime?.getTime() ?? Date.now()) > ABANDONED_AFTER_MS;
    }
    if (!abandoned) continue;
    await Deno.remove(path, { recursive: true }).catch(() => {});
    removed.push(path);
    log(`removed ${path}, left by an interrupted extraction`);
  }
  return removed;
}

/**
 * Extracts an archive (.tar, .tar.gz, .tgz, .zip) into `<rawRoot>/<stem>/` once, verifying its digest
 * first; returns that directory. With `partial` (tar formats only) just the chosen members go into
 * `<rawRoot>/<stem>@<tag>/`, unless a full extraction already exists. The archive is unpacked into a
 * temporary sibling directory, marked as complete and renamed into place, so an interrupted extraction
 * never looks finished. A finished extraction is reused when its marker records the archive's SHA-256.
 */
export async function extractArchive(
  archivePath: string,
  rawRoot: string,
  log: (message: string) => void,
  partial?: PartialExtraction,
): Promise<string> {
  const name = baseName(archivePath);
  const isZip = /\.zip$/i.test(name);
  const full = `${rawRoot}/${archiveStem(name)}`;
  const subset = partial && !isZip ? partial : undefined;
  const target = subset ? `${full}@${subset.tag}` : full;
  // An extraction is reused only when its marker names this archive's content: an archive replaced under the
  // same name (another subset, a fixed mirror) is extracted again, never read from the old folder.
  const digest = await verifyArchive(archivePath, log);
  for (const dir of [full, target]) {
    const marker = await readMarker(dir);
    if (marker === null) continue;
    if (marker.sha256 === digest) return dir;
    const aside = `${dir}.stale-${Date.now()}`;
    log(`warning: ${dir} was extracted from another ${name} (sha256 ${marker.sha256}); moved to ${aside}`);
    await Deno.rename(dir, aside);
  }
  if (await exists(target)) {
    // A directory without the marker is not ours or half-made: keep it aside rather than trust it.
    const aside = `${target}.incomplete-${Date.now()}`;
    log(`warning: ${target} has no extraction marker; moved to ${aside}`);
    await Deno.rename(target, aside);
  }
  await Deno.mkdir(rawRoot, { recursive: true });
  await removeAbandonedExtractions(rawRoot, log);
  const temp = await Deno.makeTempDir({ dir: rawRoot, prefix: `.tmp-${archiveStem(name)}-` });
  // Who extracts here: a process killed mid-way (Ctrl-C reaches tar too) leaves this folder, which the next
  // extraction on this host removes once this pid is gone.
  await Deno.writeTextFile(
    `${temp}/${OWNER_FILE}`,
    JSON.stringify({ pid: Deno.pid, hostname: Deno.hostname(), startedAt: new Date().toISOString() }),
  );
  // The tool ran but could not read the file: the archive is damaged or not an archive at all. Only a
  // missing tool deserves the "install tar/unzip" advice.
  const fail = (message: string) =>
    new DataError(
      /not installed$/.test(message)
        ? `could not extract ${archivePath} (${message}); install tar/unzip or extract it yourself ` +
          `and point GPA_DATA_DIR at the extracted folder`
        : `${archivePath} is not a readable ${isZip ? "zip" : "tar"} archive (${message}); replace it with ` +
          "the official download",
    );
  try {
    let memberCount: number | undefined;
    if (subset) {
      const listing = await runTool("tar", ["-tf", archivePath], true);
      if (!listing.ok) throw fail(listing.message);
      const members = listing.stdout.split("\n").filter((m) => m.length > 0);
      // Member names go through a list file; a name starting with "-" could read as an option, and no
      // dataset member has one, so such names are never requested.
      const extractMembers = async (names: string[]) => {
        // Inside the temporary folder: an interruption leaves nothing beside it.
        const listFile = await Deno.makeTempFile({ dir: temp, prefix: ".members-" });
        try {
          await Deno.writeTextFile(listFile, names.filter((n) => !n.startsWith("-")).join("\n") + "\n");
          const result = await runTool("tar", [
            "-xf",
            archivePath,
            "-C",
            temp,
            "--no-same-owner",
            "-T",
            listFile,
          ]);
          if (!result.ok) throw fail(result.message);
        } finally {
          await Deno.remove(listFile).catch(() => {});
        }
      };
      const readText = async (names: string[]) => {
        await extractMembers(names);
        const texts = new Map<string, string>();
        for (const member of names) texts.set(member, await Deno.readTextFile(`${temp}/${member}`));
        return texts;
      };
      const chosen = await subset.select(members, readText);
      memberCount = chosen.length;
      log(`extracting ${chosen.length} of ${members.length} members of ${archivePath} -> ${target}`);
      await extractMembers(chosen);
    } else {
      log(`extracting ${archivePath} -> ${target}`);
      let result: { ok: boolean; message: string };
      if (isZip) {
        result = await runTool("unzip", ["-q", "-o", archivePath, "-d", temp]);
        if (!result.ok) { // bsdtar (macOS, Windows, libarchive-tools) reads zip too
          const viaTar = await runTool("tar", ["-xf", archivePath, "-C", temp]);
          if (viaTar.ok) result = viaTar;
        }
      } else {
        result = await runTool("tar", ["-xf", archivePath, "-C", temp, "--no-same-owner"]);
      }
      if (!result.ok) throw fail(result.message);
    }
    const marker = {
      archive: name,
      sha256: digest,
      subset: subset ? { tag: subset.tag, members: memberCount } : null,
      extractedAt: new Date().toISOString(),
    };
    await Deno.remove(`${temp}/${OWNER_FILE}`);
    await Deno.writeTextFile(`${temp}/${EXTRACTION_MARKER}`, JSON.stringify(marker, null, 2) + "\n");
    try {
      await Deno.rename(temp, target);
    } catch (error) {
      // Another process finished the same extraction first: use theirs.
      if (await exists(`${target}/${EXTRACTION_MARKER}`)) {
        await Deno.remove(temp, { recursive: true });
        return target;
      }
      throw error;
    }
  } catch (error) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    throw error;
  }
  return target;
}
