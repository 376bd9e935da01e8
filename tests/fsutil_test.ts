import assert from "node:assert/strict";
import {
  atomicWriteFile,
  atomicWriteJson,
  CorruptFileError,
  ensureDir,
  exists,
  isTempName,
  isWritableDir,
  moveAside,
  sha256File,
  sha256Hex,
  tempSiblingPath,
} from "../lib/fsutil.ts";

const text = (s: string) => new TextEncoder().encode(s);

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "fsutil_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sha256Hex matches the FIPS 180-2 test vectors", async () => {
  assert.deepEqual(
    await sha256Hex(text("")),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.deepEqual(
    await sha256Hex(text("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.deepEqual(
    await sha256Hex(text("a".repeat(1_000_000))),
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  );
  // A view into a larger buffer hashes only its own bytes.
  const padded = text("xxabcyy");
  assert.deepEqual(await sha256Hex(padded.subarray(2, 5)), await sha256Hex(text("abc")));
});

Deno.test("sha256File streams a file to the same digest as sha256Hex", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/abc`, text("abc"));
    assert.deepEqual(
      await sha256File(`${dir}/abc`),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    // Larger than one 4 MiB read chunk.
    const big = new Uint8Array(9_000_001);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    await Deno.writeFile(`${dir}/big`, big);
    assert.deepEqual(await sha256File(`${dir}/big`), await sha256Hex(big));
  });
});

Deno.test("atomicWriteFile writes bytes, text and chunks, replaces files, and leaves no temp files", async () => {
  await withTempDir(async (dir) => {
    await atomicWriteFile(`${dir}/a.bin`, new Uint8Array([1, 2, 3]));
    assert.deepEqual(await Deno.readFile(`${dir}/a.bin`), new Uint8Array([1, 2, 3]));
    await atomicWriteFile(`${dir}/a.bin`, "héllo");
    assert.deepEqual(await Deno.readTextFile(`${dir}/a.bin`), "héllo");
    await atomicWriteFile(`${dir}/c.bin`, [new Uint8Array([9]), new Uint8Array([8, 7])], { fsync: false });
    assert.deepEqual(await Deno.readFile(`${dir}/c.bin`), new Uint8Array([9, 8, 7]));
    await atomicWriteJson(`${dir}/j.json`, { b: [1, 2], a: "x" });
    assert.deepEqual(
      await Deno.readTextFile(`${dir}/j.json`),
      '{\n  "b": [\n    1,\n    2\n  ],\n  "a": "x"\n}\n',
    );
    assert.deepEqual(await listDir(dir), ["a.bin", "c.bin", "j.json"]);
  });
});

Deno.test("atomicWriteFile leaves no partial file when the writer throws midway", async () => {
  await withTempDir(async (dir) => {
    let chunksWritten = 0;
    async function* failingWriter(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1000).fill(1);
      chunksWritten++;
      yield new Uint8Array(1000).fill(2);
      chunksWritten++;
      throw new Error("disk on fire");
    }
    // New file: nothing appears.
    await assert.rejects(() => atomicWriteFile(`${dir}/new.bin`, failingWriter()), /disk on fire/);
    assert.deepEqual(chunksWritten, 2); // the failure really happened after partial data was written
    assert.deepEqual(await listDir(dir), []);
    // Existing file: the old content survives intact.
    await Deno.writeTextFile(`${dir}/old.txt`, "old content");
    await assert.rejects(() => atomicWriteFile(`${dir}/old.txt`, failingWriter()), /disk on fire/);
    assert.deepEqual(await Deno.readTextFile(`${dir}/old.txt`), "old content");
    assert.deepEqual(await listDir(dir), ["old.txt"]);
    // A synchronous iterable failing works the same.
    const syncFailing = {
      *[Symbol.iterator]() {
        yield new Uint8Array([1]);
        throw new RangeError("boom");
      },
    };
    await assert.rejects(() => atomicWriteFile(`${dir}/old.txt`, syncFailing), RangeError);
    assert.deepEqual(await listDir(dir), ["old.txt"]);
  });
});

Deno.test("atomicWriteFile into a missing directory fails without side effects", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(() => atomicWriteFile(`${dir}/missing/x.bin`, "x"), Deno.errors.NotFound);
    assert.deepEqual(await listDir(dir), []);
  });
});

Deno.test("temp sibling names are hidden, unique and recognisable", () => {
  const a = tempSiblingPath("/some/dir/ckpt-3.safetensors");
  const b = tempSiblingPath("/some/dir/ckpt-3.safetensors");
  assert(a !== b);
  assert.match(a, /^\/some\/dir\/\.ckpt-3\.safetensors\.tmp-\d+-[0-9a-f]+$/);
  assert(isTempName(a.slice("/some/dir/".length)));
  assert(!isTempName("ckpt-3.safetensors"));
  assert(!isTempName("manifest.json"));
});

Deno.test("ensureDir and isWritableDir", async () => {
  await withTempDir(async (dir) => {
    await ensureDir(`${dir}/a/b/c`);
    await ensureDir(`${dir}/a/b/c`); // idempotent
    assert((await Deno.stat(`${dir}/a/b/c`)).isDirectory);
    assert(await isWritableDir(`${dir}/a/b/c`));
    assert.deepEqual(await listDir(`${dir}/a/b/c`), []); // the probe is cleaned up
    assert(await isWritableDir(`${dir}/fresh`)); // created on demand
    await Deno.writeTextFile(`${dir}/file`, "x");
    assert(!(await isWritableDir(`${dir}/file`))); // a file, not a directory
    assert(!(await isWritableDir(`${dir}/file/sub`))); // cannot exist under a file
  });
});

Deno.test("moveAside renames to <path>.corrupt-<timestamp>, records the reason, never collides", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ckpt-1.safetensors`, "first");
    const first = await moveAside(`${dir}/ckpt-1.safetensors`, "checksum mismatch");
    assert.match(first, /\/ckpt-1\.safetensors\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z(-\d+)?$/);
    assert(!(await exists(`${dir}/ckpt-1.safetensors`)));
    assert.deepEqual(await Deno.readTextFile(first), "first");
    assert.deepEqual(await Deno.readTextFile(`${first}.reason.txt`), "checksum mismatch\n");
    // Two files of the same name moved aside in quick succession keep both.
    await Deno.writeTextFile(`${dir}/ckpt-1.safetensors`, "second");
    const second = await moveAside(`${dir}/ckpt-1.safetensors`, "again");
    assert(second !== first);
    assert.deepEqual(await Deno.readTextFile(second), "second");
    await assert.rejects(() => moveAside(`${dir}/nope`, "x"), Deno.errors.NotFound);
  });
});

Deno.test("CorruptFileError names the path and keeps the bare reason", () => {
  const error = new CorruptFileError("/x/y.bin", "truncated");
  assert.deepEqual(error.message, "/x/y.bin: truncated");
  assert.deepEqual(error.path, "/x/y.bin");
  assert.deepEqual(error.reason, "truncated");
  assert(error instanceof Error);
});
