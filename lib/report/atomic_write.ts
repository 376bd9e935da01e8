/**
 * Atomic writes of a set of files for the report writer: every file goes to a temporary sibling first, and
 * only when all temporaries are written and synced are they renamed over their targets. A reader therefore
 * sees either the old or the new version of each file, never a partial one, and a failed write leaves the
 * targets untouched.
 * @module
 */

/** One file to write. */
export interface FileToWrite {
  path: string;
  content: string | Uint8Array;
}

function temporaryPath(path: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(16);
  return `${path}.${Deno.pid}-${random}.tmp`;
}

/**
 * Writes all `files` atomically: writes and syncs every temporary file, then renames them onto their targets
 * in order. Temporaries are removed if any write fails. Parent directories must exist.
 */
export async function writeFilesAtomic(files: readonly FileToWrite[]): Promise<void> {
  const encoder = new TextEncoder();
  const temporaries: Array<{ tmp: string; path: string }> = [];
  try {
    for (const file of files) {
      const tmp = temporaryPath(file.path);
      temporaries.push({ tmp, path: file.path });
      const bytes = typeof file.content === "string" ? encoder.encode(file.content) : file.content;
      using handle = await Deno.open(tmp, { write: true, createNew: true });
      let written = 0;
      while (written < bytes.length) written += await handle.write(bytes.subarray(written));
      await handle.sync();
    }
  } catch (error) {
    for (const { tmp } of temporaries) await Deno.remove(tmp).catch(() => {});
    throw error;
  }
  for (let i = 0; i < temporaries.length; i++) {
    try {
      await Deno.rename(temporaries[i].tmp, temporaries[i].path);
    } catch (error) {
      for (const { tmp } of temporaries.slice(i)) await Deno.remove(tmp).catch(() => {});
      throw error;
    }
  }
}
