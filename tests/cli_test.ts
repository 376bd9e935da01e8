/** The command line a person meets first: per-command help, flag hints, MAE-style recipe flags, `runs`. */
import assert from "node:assert/strict";
import { childEnv, cli } from "./cli_run.ts";
import { COMMAND_HELP } from "../cli/help.ts";
import { nearestFlag } from "../lib/cli.ts";

Deno.test("cli: every command's --help prints its usage, flags and an example, exits 0 and does no work", async () => {
  const cache = await Deno.makeTempDir();
  try {
    // How fast --help answers is a speed check (`deno task bench -- --only checks`), not a test.
    const r = await cli(["pretrain", "--help", "--cache-dir", `${cache}/c`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: main\.ts pretrain/);
    assert.match(r.stdout, /--batch-size N/);
    assert.match(r.stdout, /example: /);
    assert.equal(
      await Deno.stat(`${cache}/c`).then(() => true, () => false),
      false,
      "nothing trained or created",
    );
    for (const command of Object.keys(COMMAND_HELP)) {
      const h = await cli([command, "-h"]);
      assert.equal(h.code, 0, `${command}: ${h.stderr}`);
      assert.match(h.stdout, /^usage: /, command);
      assert.match(h.stdout, /example: /, command);
    }
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("cli: an unknown flag names the nearest known one", async () => {
  assert.equal(nearestFlag("--mask_ratio", ["mask-ratio", "epochs"]), "mask-ratio");
  assert.equal(nearestFlag("--epoch", ["mask-ratio", "epochs"]), "epochs");
  assert.equal(nearestFlag("--frobnicate", ["mask-ratio", "epochs"]), undefined);
  const r = await cli(["pretrain", "--mask_ratio", "0.5"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /did you mean --mask-ratio\?/);
});

Deno.test("cli: --batch-size and --blr are accepted, change the run's identity, and `runs` lists the runs", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const base = [
      "pretrain",
      "--profile",
      "smoke",
      "--backend",
      "wasm",
      "--cache-dir",
      cache,
      "--epochs",
      "1",
      "--json",
    ];
    const a = await cli(base);
    const b = await cli([...base, "--batch-size", "30", "--blr", "2e-3"]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const ha = JSON.parse(a.stdout).hash, hb = JSON.parse(b.stdout).hash;
    assert.notEqual(ha, hb);
    const listed = await cli(["runs", "--cache-dir", cache, "--json"]);
    const runs = JSON.parse(listed.stdout) as {
      hash: string;
      kind: string;
      status: string;
      identity: { recipe: { batchSize: number; blr: number } };
    }[];
    assert.deepEqual(runs.map((r) => r.hash).sort(), [ha, hb].sort());
    assert.ok(runs.every((r) => r.kind === "pretrain" && r.status === "complete"));
    const shown = await cli(["runs", "show", hb, "--cache-dir", cache, "--json"]);
    assert.equal(JSON.parse(shown.stdout).identity.recipe.batchSize, 30);
    assert.equal(JSON.parse(shown.stdout).identity.recipe.blr, 2e-3);
    const bad = await cli(["pretrain", "--profile", "smoke", "--model", "vit-huge", "--cache-dir", cache]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--model must be one of smoke, vit-base, vit-small, vit-tiny/);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("cli: --jobs workers get every global and table option; empty directories are usage errors", async () => {
  const { workerArgs } = await import("../main.ts");
  const { GLOBAL_OPTIONS } = await import("../lib/cli.ts");
  const values = {
    profile: "cpu",
    backend: "wasm",
    "data-dir": "/d",
    "data-path": "/p",
    "cache-dir": "/c",
    seed: "3",
    quiet: true,
    "reports-dir": "/r",
    "teacher-weights": "/t.safetensors",
    jobs: "2",
  };
  const args = workerArgs("table1", values, [3]);
  for (const k of Object.keys(GLOBAL_OPTIONS)) {
    if (k === "json" || k === "help" || k === "seed") continue;
    assert.ok(args.includes(`--${k}`), `--${k} forwarded: ${args.join(" ")}`);
  }
  for (const [k, v] of [["reports-dir", "/r"], ["teacher-weights", "/t.safetensors"], ["cache-dir", "/c"]]) {
    assert.equal(args[args.indexOf(`--${k}`) + 1], v);
  }
  // The worker runs exactly the coordinator's seeds: `table --seed 3 --jobs 2` must not train seed 0.
  const { tableSeeds } = await import("../cli/tables.ts");
  const { parseArgs } = await import("node:util");
  const parsed = parseArgs({
    args: args.slice(args.indexOf("table1") + 1),
    options: { "seed-list": { type: "string" }, seeds: { type: "string" } },
    strict: false,
  }).values as Record<string, string>;
  assert.deepEqual(tableSeeds(parsed, [0, 1, 2]), [3]);
  assert.deepEqual(tableSeeds({ seeds: "3" }, [9]), [0, 1, 2]);
  assert.deepEqual(tableSeeds({}, [4, 5]), [4, 5]);
  assert.throws(() => tableSeeds({ "seed-list": "1,1" }, []), /distinct/);
  assert.throws(() => tableSeeds({ "seed-list": "0,00" }, []), /distinct/, "seeds compare as numbers");
  assert.throws(() => tableSeeds({ "seed-list": "4294967296" }, []), /\[0, 2147483647\]/);
  assert.throws(() => tableSeeds({ "seed-list": "1", seeds: "2" }, []), /without --seeds or --seed/);
  assert.deepEqual(tableSeeds({ "seed-list": " 7, 3" }, []), [7, 3]);
  // A worker is told how many share the units (for its estimates) but, in worker mode, spawns none.
  assert.equal(args[args.indexOf("--jobs") + 1], "2");
  assert.ok(args.includes("--worker"));
  const empty = await cli(["plan", "--table", "1", "--cache-dir", ""]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /--cache-dir must not be empty/);
});

Deno.test("cli: a malformed GPA_MICRO_BATCH is a usage error before any work", async () => {
  for (const bad of ["0", "-3", "abc"]) {
    const out = await cli(["plan", "--table", "9"], { GPA_MICRO_BATCH: bad });
    assert.equal(out.code, 2, bad);
    assert.match(out.stderr, /GPA_MICRO_BATCH must be a positive integer/);
  }
});

Deno.test("cli: the paper profile reads its image folder from --data-dir", async () => {
  const sharp = (await import("sharp")).default;
  const dir = await Deno.makeTempDir();
  try {
    for (const s of ["train", "val"]) {
      for (const c of ["a", "b"]) {
        await Deno.mkdir(`${dir}/if/${s}/${c}`, { recursive: true });
        await sharp(new Uint8Array(8 * 8 * 3).fill(c === "a" ? 10 : 200), {
          raw: { width: 8, height: 8, channels: 3 },
        })
          .png().toFile(`${dir}/if/${s}/${c}/0.png`);
      }
    }
    const plan9 = (dataDir: string) =>
      cli([
        "plan",
        "--table",
        "9",
        "--profile",
        "paper",
        "--data-dir",
        dataDir,
        "--cache-dir",
        `${dir}/c`,
        "--json",
      ]);
    const r = await plan9(`${dir}/if`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      JSON.parse(r.stdout).units.filter((u: { row: string }) => u.row === "mae").length,
      2,
      "two seeds",
    );
    // The same images under another path give the same runs (the content is in the fingerprint).
    await Deno.rename(`${dir}/if`, `${dir}/moved`);
    const moved = await plan9(`${dir}/moved`);
    assert.equal(moved.code, 0, moved.stderr);
    const hashes = (out: string) =>
      JSON.parse(out).units.map((u: { pretrainHash?: string }) => u.pretrainHash);
    assert.deepEqual(hashes(moved.stdout), hashes(r.stdout));
    assert.ok(hashes(r.stdout).some((h: string | undefined) => h), "some units have hashes");
    // Table 2 needs segmentation data the paper profile does not have: every row is not run, nothing trains.
    const seg = await cli([
      "plan",
      "--table",
      "2",
      "--profile",
      "paper",
      "--data-dir",
      `${dir}/moved`,
      "--cache-dir",
      `${dir}/c`,
      "--json",
    ]);
    assert.equal(seg.code, 0, seg.stderr);
    const segUnits = JSON.parse(seg.stdout).units as { status: string; notRun?: string }[];
    assert.ok(segUnits.length > 0 && segUnits.every((u) => u.status === "not-run"), seg.stdout);
    assert.match(segUnits[0].notRun!, /no runnable segmentation data for profile 'paper'/);
    const missing = await cli(["plan", "--table", "9", "--profile", "paper", "--cache-dir", `${dir}/c`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /pass --data-dir DIR or set GPA_DATA_DIR/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: an empty GPA_CACHE_DIR counts as unset (never the filesystem root)", async () => {
  const out = await cli(["doctor", "--json"], { GPA_CACHE_DIR: "" });
  assert.equal(out.code, 0, out.stderr);
  const dir = JSON.parse(out.stdout).cache.dir as string;
  assert.ok(dir.endsWith("/data/cache"), dir);
});

Deno.test("cli: exit codes — usage mistakes 2, a RangeError raised while working 1, interruption 130", async () => {
  const { reportError } = await import("../main.ts");
  const { UsageError, asUsage } = await import("../lib/cli.ts");
  const quiet = console.error;
  console.error = () => {};
  try {
    assert.equal(reportError(new UsageError("bad flag")), 2);
    assert.equal(reportError(new RangeError("GPA map value 1.5 outside [0, 1]")), 1);
    assert.throws(() =>
      asUsage(() => {
        throw new RangeError("recipe lr out of range");
      }), UsageError);
    const interrupted = new Error("stopped");
    interrupted.name = "InterruptedError";
    assert.equal(reportError(interrupted), 130);
  } finally {
    console.error = quiet;
  }
});

Deno.test("cli: data prints the profile's dataset (generated on smoke: no fingerprint)", async () => {
  const r = await cli(["data", "--profile", "smoke", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.dataset, "synthetic");
  assert.equal(out.fingerprint, null);
  assert.ok(out.train.count > 0 && out.val.count > 0 && out.train.classes > 1, r.stdout);
});

Deno.test("cli: --rows names rows of one table that can run; anything else is a usage error", async () => {
  const unknown = await cli(["table", "9", "--rows", "mae,nope"]);
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, /table9 has no row 'nope'; its rows: mae, hpm, gpa/);
  const notRunnable = await cli(["table", "6", "--rows", "semmae"]);
  assert.equal(notRunnable.code, 2, notRunnable.stderr);
  assert.match(notRunnable.stderr, /row 'semmae' cannot run: SemMAE is not implemented/);
  const all = await cli(["all", "--rows", "mae"]);
  assert.equal(all.code, 2, all.stderr);
  assert.match(all.stderr, /--rows names one table's rows/);
  const plan = await cli(["plan", "--table", "9", "--rows", "mae", "--json"]);
  assert.equal(plan.code, 0, plan.stderr);
  assert.deepEqual([...new Set(JSON.parse(plan.stdout).units.map((u: { row: string }) => u.row))], ["mae"]);
});

Deno.test("cli: a test's child never sees the caller's GPA_DATA_DIR, GPA_CACHE_DIR or teacher (only the engine)", () => {
  const parent = {
    PATH: "/usr/bin",
    HOME: "/home/x",
    GPA_DATA_DIR: "/somebody/datasets",
    GPA_CACHE_DIR: "/somebody/cache",
    GPA_TEACHER_WEIGHTS: "/somebody/teacher.safetensors",
    GPA_MICRO_BATCH: "3",
    GPA_DEFER_READS: "1",
    GPA_BLAS: "off",
    GPA_NATIVE: "off",
  };
  const env = childEnv({ GPA_MICRO_BATCH: "7" }, parent);
  assert.equal(env.PATH, "/usr/bin");
  assert.equal(env.GPA_BLAS, "off", "the engine choice is the caller's");
  assert.equal(env.GPA_NATIVE, "off");
  for (const k of ["GPA_DATA_DIR", "GPA_TEACHER_WEIGHTS", "GPA_DEFER_READS"]) {
    assert.equal(env[k], undefined, k);
  }
  assert.notEqual(env.GPA_CACHE_DIR, "/somebody/cache", "a cache of the test process's own");
  assert.equal(env.GPA_OFFLINE, "1");
  assert.equal(env.GPA_MICRO_BATCH, "7", "what the test asks for wins");
});
