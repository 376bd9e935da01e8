/**
 * Dataset builds after interruptions and beside each other (issue 25, item 10): what an interrupted
 * extraction leaves in `datasets/raw/` is removed by the next one (it is this suite's own), and concurrent
 * builds of one dataset decode it once — the others wait for the lock, as runs do, and read the entry.
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import { extractArchive, removeAbandonedExtractions } from "../lib/data/archive.ts";
import { loadDataset } from "../lib/data/mod.ts";

async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "data-build-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("an interrupted extraction's leftovers are removed by the next extraction; live ones are kept", async () => {
  await withDir(async (dir) => {
    const raw = `${dir}/raw`;
    await Deno.mkdir(raw);
    const owner = (pid: number, hostname = Deno.hostname()) =>
      JSON.stringify({ pid, hostname, startedAt: new Date().toISOString() });
    // Killed mid-way (its pid is gone): removed. Still running (this process), or another host's: kept.
    await Deno.mkdir(`${raw}/.tmp-x-dead`);
    await Deno.writeTextFile(`${raw}/.tmp-x-dead/.gpa-extracting`, owner(await deadPid()));
    await Deno.writeFile(`${raw}/.tmp-x-dead/big.bin`, new Uint8Array(1 << 16));
    await Deno.mkdir(`${raw}/.tmp-x-live`);
    await Deno.writeTextFile(`${raw}/.tmp-x-live/.gpa-extracting`, owner(Deno.pid));
    await Deno.mkdir(`${raw}/.tmp-x-elsewhere`);
    await Deno.writeTextFile(`${raw}/.tmp-x-elsewhere/.gpa-extracting`, owner(1, "another-host"));
    // Left by the previous version (no owner file): removed once untouched for an hour, not before.
    const old = new Date(Date.now() - 2 * 3600_000);
    await Deno.mkdir(`${raw}/.tmp-y-legacy`);
    await Deno.utime(`${raw}/.tmp-y-legacy`, old, old);
    await Deno.writeTextFile(`${raw}/.members-legacy`, "a\nb\n");
    await Deno.utime(`${raw}/.members-legacy`, old, old);
    await Deno.writeTextFile(`${raw}/.members-fresh`, "a\n");
    const logs: string[] = [];
    const removed = await removeAbandonedExtractions(raw, (m) => logs.push(m));
    assert.deepEqual(
      removed.map((p) => p.slice(raw.length + 1)).sort(),
      [".members-legacy", ".tmp-x-dead", ".tmp-y-legacy"],
    );
    assert.equal(logs.length, 3);
    const left = (await Array.fromAsync(Deno.readDir(raw))).map((e) => e.name).sort();
    assert.deepEqual(left, [".members-fresh", ".tmp-x-elsewhere", ".tmp-x-live"]);

    // A real extraction does the same first, and leaves no temporary folder or member list of its own.
    await Deno.mkdir(`${dir}/src/data`, { recursive: true });
    await Deno.writeTextFile(`${dir}/src/data/a.txt`, "a");
    const tar = await new Deno.Command("tar", {
      args: ["-cf", `${dir}/data.tar`, "-C", `${dir}/src`, "data"],
    })
      .output();
    assert.ok(tar.success);
    await Deno.mkdir(`${raw}/.tmp-data-killed`);
    await Deno.writeTextFile(`${raw}/.tmp-data-killed/.gpa-extracting`, owner(await deadPid()));
    const out = await extractArchive(`${dir}/data.tar`, raw, () => {});
    assert.equal(await Deno.readTextFile(`${out}/data/a.txt`), "a");
    const after = (await Array.fromAsync(Deno.readDir(raw))).map((e) => e.name).sort();
    assert.deepEqual(after, [".members-fresh", ".tmp-x-elsewhere", ".tmp-x-live", "data"]);
  });
});

Deno.test("concurrent builds of one image folder decode it once; the others wait and read the entry", async () => {
  await withDir(async (dir) => {
    for (const split of ["train", "val"]) {
      for (const c of ["a", "b"]) {
        await Deno.mkdir(`${dir}/data/${split}/${c}`, { recursive: true });
        await sharp(new Uint8Array(8 * 8 * 3).fill(c === "a" ? 30 : 220), {
          raw: { width: 8, height: 8, channels: 3 },
        }).png().toFile(`${dir}/data/${split}/${c}/0.png`);
      }
    }
    // A killed build's temporary entry, removed by the build that takes the lock.
    await Deno.mkdir(`${dir}/cache/datasets/.tmp-imagefolder-8-tall-vall-0123456789ab-XYZ`, {
      recursive: true,
    });
    const spec = { name: "imagefolder", resolution: 8, root: `${dir}/data` } as const;
    const logs: string[][] = [[], [], []];
    const loaded = await Promise.all(
      logs.map((l) => loadDataset(spec, { cacheDir: `${dir}/cache`, log: (m) => l.push(m) })),
    );
    const decoded = logs.filter((l) => l.some((m) => /^decoding \d+ images/.test(m)));
    assert.equal(decoded.length, 1, `decoded once: ${JSON.stringify(logs)}`);
    // The two others read the one entry: after waiting on the lock, or — when the machine is slow enough that
    // one of them starts after the build finished — straight from the cache. Neither decodes.
    const readBack = logs.filter((l) =>
      l.some((m) => /built by another process while waiting|loaded from cache/.test(m))
    );
    assert.equal(readBack.length, 2, `the others read the entry: ${JSON.stringify(logs)}`);
    for (const r of loaded) assert.deepEqual(r.train.images, loaded[0].train.images);
    const left = (await Array.fromAsync(Deno.readDir(`${dir}/cache/datasets`))).map((e) => e.name);
    assert.equal(left.length, 1, `one entry, no lock, no leftover: ${left}`);
    assert.match(logs.flat().join("\n"), /removed .*\.tmp-imagefolder-8-tall-vall-0123456789ab-XYZ/);
  });
});
