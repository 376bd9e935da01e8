/**
 * Reliability of the CLI under faults, in subprocesses (`deno run -A main.ts …`, smoke profile, wasm):
 * SIGKILL and SIGINT in the middle of a pre-training run, then a rerun that resumes to the same final weights
 * as an uninterrupted run; a truncated or bit-flipped final checkpoint is detected, moved aside and
 * recomputed; two concurrent processes on the same run train it once; bad command lines exit 2 with one line
 * on stderr naming the problem and leave the cache untouched.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { RunCache } from "../lib/cache/mod.ts";
import { sha256Hex } from "../lib/fsutil.ts";
import { childEnv } from "./cli_run.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
/** Epochs of the runs that are interrupted: long enough that a kill lands well before the end. */
const LONG_EPOCHS = "4";

interface CliResult {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

function command(args: string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}/main.ts`, ...args],
    cwd: ROOT,
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function collect(child: Deno.ChildProcess): Promise<CliResult> {
  const out = await child.output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

function cli(args: string[]): Promise<CliResult> {
  return collect(command(args).spawn());
}

function pretrainArgs(cacheDir: string, epochs?: string): string[] {
  const args = ["pretrain", "--profile", "smoke", "--backend", "wasm", "--cache-dir", cacheDir, "--json"];
  return epochs ? [...args, "--epochs", epochs] : args;
}

/** The single run directory of a cache (`<cache>/runs/<hash>`). */
async function runDirOf(cacheDir: string): Promise<string> {
  const names: string[] = [];
  for await (const e of Deno.readDir(`${cacheDir}/runs`)) if (e.isDirectory) names.push(e.name);
  assert.equal(names.length, 1, `runs in ${cacheDir}: ${names}`);
  return `${cacheDir}/runs/${names[0]}`;
}

/** Polls until `predicate` holds (or fails after `timeoutMs`: a safety net for a loaded machine, not a limit). */
async function waitFor(what: string, predicate: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
  const t0 = Date.now();
  while (!(await predicate())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True once a periodic checkpoint is both on disk and recorded in the run's manifest. */
async function hasRecordedCheckpoint(cacheDir: string): Promise<boolean> {
  try {
    for await (const run of Deno.readDir(`${cacheDir}/runs`)) {
      const dir = `${cacheDir}/runs/${run.name}`;
      const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
      for (const name of Object.keys(manifest.files ?? {})) {
        if (/^ckpt-\d+\.safetensors$/.test(name)) {
          await Deno.stat(`${dir}/${name}`);
          return true;
        }
      }
    }
  } catch {
    // not yet (missing directory or file, or a manifest being replaced)
  }
  return false;
}

/** Every file under `dir` (relative path → SHA-256), plus every directory (→ "dir"). */
async function treeDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(`${dir}/${rel}`)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) {
        out[path + "/"] = "dir";
        await walk(path);
      } else {
        out[path] = await sha256Hex(await Deno.readFile(`${dir}/${path}`));
      }
    }
  };
  await walk("");
  return out;
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "fault_test_" });
}

/** What `pretrain --json` prints. */
interface Summary {
  hash: string;
  cacheHit: boolean;
  metrics: { loss: number; resumedFrom: number | null };
  history: { epoch: number; loss: number }[];
}

/** Memoised uninterrupted pre-training of LONG_EPOCHS epochs: its cache dir and final weights. */
let reference: Promise<{ dir: string; finalBytes: Uint8Array; summary: Summary }> | null = null;
function referenceRun() {
  reference ??= (async () => {
    const dir = await tempDir();
    const r = await cli(pretrainArgs(dir, LONG_EPOCHS));
    assert.equal(r.code, 0, r.stderr);
    const run = await runDirOf(dir);
    return {
      dir,
      finalBytes: await Deno.readFile(`${run}/final.safetensors`),
      summary: JSON.parse(r.stdout),
    };
  })();
  return reference;
}

function assertSameBytes(a: Uint8Array, b: Uint8Array, label: string): void {
  assert.equal(a.length, b.length, `${label}: sizes`);
  assert.ok(a.every((v, i) => v === b[i]), `${label}: bytes differ`);
}

Deno.test("SIGKILL mid-run, rerun: resumes from the checkpoint to the same final weights", async () => {
  const ref = await referenceRun();
  const dir = await tempDir();
  try {
    const args = pretrainArgs(dir, LONG_EPOCHS);
    const child = command(args).spawn();
    const result = collect(child);
    await waitFor("a checkpoint", () => hasRecordedCheckpoint(dir));
    child.kill("SIGKILL");
    const killed = await result;
    assert.equal(killed.signal, "SIGKILL", `the run ended before the kill: ${killed.stderr}`);
    const run = await runDirOf(dir);
    assert.equal(await Deno.stat(`${run}/final.safetensors`).then(() => true, () => false), false);

    const rerun = await cli(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    const summary: Summary = JSON.parse(rerun.stdout);
    assert.equal(summary.cacheHit, false);
    assert.ok((summary.metrics.resumedFrom ?? 0) > 0, `resumedFrom ${summary.metrics.resumedFrom}`);
    assert.match(rerun.stderr, /resuming/);
    assertSameBytes(await Deno.readFile(`${run}/final.safetensors`), ref.finalBytes, "final.safetensors");
    assert.equal(summary.metrics.loss, ref.summary.metrics.loss);
    // The dead process's lock was taken over and released.
    assert.equal(await Deno.stat(`${run}/lock`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGINT mid-run exits 130 with a resumable message; the rerun completes identically", async () => {
  const ref = await referenceRun();
  const dir = await tempDir();
  try {
    const args = pretrainArgs(dir, LONG_EPOCHS);
    const child = command(args).spawn();
    const result = collect(child);
    await waitFor("a checkpoint", () => hasRecordedCheckpoint(dir));
    child.kill("SIGINT");
    const interrupted = await result;
    assert.equal(interrupted.code, 130, interrupted.stderr);
    assert.match(interrupted.stderr, /resumable/);
    const run = await runDirOf(dir);
    assert.equal(await Deno.stat(`${run}/final.safetensors`).then(() => true, () => false), false);

    const rerun = await cli(args);
    assert.equal(rerun.code, 0, rerun.stderr);
    const summary: Summary = JSON.parse(rerun.stdout);
    assert.ok((summary.metrics.resumedFrom ?? 0) > 0);
    assertSameBytes(await Deno.readFile(`${run}/final.safetensors`), ref.finalBytes, "final.safetensors");
    assert.equal(summary.metrics.loss, ref.summary.metrics.loss);
    // Every epoch's mean loss, including the one the interruption cut, as in the uninterrupted run.
    assert.deepEqual(summary.history.map((r) => r.loss), ref.summary.history.map((r) => r.loss));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a truncated or bit-flipped final checkpoint is detected, moved aside and recomputed", async () => {
  const dir = await tempDir();
  try {
    const args = pretrainArgs(dir, "2");
    const first = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    const run = await runDirOf(dir);
    const finalPath = `${run}/final.safetensors`;
    const original = await Deno.readFile(finalPath);
    const corruptFiles = async () => {
      const names: string[] = [];
      for await (const e of Deno.readDir(run)) {
        if (e.name.startsWith("final.safetensors.corrupt-") && !e.name.endsWith(".reason.txt")) {
          names.push(e.name);
        }
      }
      return names;
    };
    const damages: [string, (b: Uint8Array) => Uint8Array][] = [
      ["truncated", (b) => b.slice(0, Math.floor(b.length / 2))],
      ["bit-flipped", (b) => {
        const c = b.slice();
        c[c.length - 100] ^= 0x10; // inside the tensor data: only the checksum can tell
        return c;
      }],
    ];
    for (const [i, [what, damage]] of damages.entries()) {
      await Deno.writeFile(finalPath, damage(original));
      const rerun = await cli(args);
      assert.equal(rerun.code, 0, `${what}: ${rerun.stderr}`);
      const summary: Summary = JSON.parse(rerun.stdout);
      assert.equal(summary.cacheHit, false, `${what}: must be recomputed, not served`);
      assert.match(rerun.stderr, /moved aside/, what);
      assert.equal((await corruptFiles()).length, i + 1, `${what}: a .corrupt- file per detection`);
      assertSameBytes(await Deno.readFile(finalPath), original, `${what}: recomputed final.safetensors`);
    }
    // And now it is served from the cache again.
    const hit = await cli(args);
    assert.equal(JSON.parse(hit.stdout).cacheHit, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadFinal after a damaged final file was moved aside: null again, no error (checked twice)", async () => {
  const dir = await tempDir();
  try {
    const warnings: string[] = [];
    const run = await new RunCache(dir, { warn: (m) => warnings.push(m) }).openRun({ test: "fault" });
    await run.saveFinal({ w: { shape: [4], data: new Float32Array([1, 2, 3, 4]) } }, { loss: 1 });
    const bytes = await Deno.readFile(run.finalPath);
    await Deno.writeFile(run.finalPath, bytes.slice(0, bytes.length - 3));
    assert.equal(await run.loadFinal(), null);
    assert.match(warnings[0], /moved aside/);
    // pretrain() looks again once it holds the lock: the orphaned metrics.json must not make that fail.
    assert.equal(await run.loadFinal(), null);
    assert.equal(await run.isComplete(), false);
    await run.saveFinal({ w: { shape: [4], data: new Float32Array([1, 2, 3, 4]) } }, { loss: 1 });
    assert.ok(await run.loadFinal());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two concurrent processes on the same run: trained once, both succeed", async () => {
  const dir = await tempDir();
  try {
    const args = pretrainArgs(dir, "2");
    const [a, b] = await Promise.all([cli(args), cli(args)]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const sa = JSON.parse(a.stdout), sb = JSON.parse(b.stdout);
    assert.equal(sa.hash, sb.hash);
    assert.deepEqual([sa.cacheHit, sb.cacheHit].sort(), [false, true], "one trains, the other reuses");
    assert.equal(sa.metrics.loss, sb.metrics.loss);
    const run = await runDirOf(dir);
    const log = (await Deno.readTextFile(`${run}/log.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    const epochs = log.filter((r) => r.type === "epoch").map((r) => r.epoch);
    assert.deepEqual(epochs, [1, 2], "each epoch logged once");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Every file under `root` as "path mtime-ms", sorted (empty when `root` does not exist). */
async function listing(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`, name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(path, name);
      else out.push(`${name} ${(await Deno.stat(path)).mtime?.getTime()}`);
    }
  };
  await walk(root, "").catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  return out.sort();
}

Deno.test("bad command lines exit 2 with one stderr line naming the problem and leave the cache unchanged", async () => {
  const ref = await referenceRun();
  const dir = ref.dir;
  const before = await treeDigest(dir);
  const common = ["--cache-dir", dir, "--backend", "wasm"];
  const cases: [string[], RegExp][] = [
    [["frobnicate", ...common], /unknown command 'frobnicate'/],
    [["pretrain", "--bogus", ...common], /--bogus/],
    [["pretrain", "--profile", "nope", "--cache-dir", dir], /unknown profile 'nope'/],
    [["pretrain", "--strategy", "nope", ...common], /--strategy.*'nope'/],
    [["pretrain", "--backend", "nope", "--cache-dir", dir], /--backend.*'nope'/],
    [["pretrain", "--mask-ratio", "1.5", ...common], /--mask-ratio.*1\.5/],
    [["pretrain", "--mask-ratio", "abc", ...common], /--mask-ratio.*'abc'/],
    [["pretrain", "--seed", "-1", ...common], /--seed/],
    [["pretrain", "--seed=-1", ...common], /--seed.*-1/],
    [["pretrain", "--epochs", "0", ...common], /--epochs.*\b0\b/],
    [["pretrain", "stray", ...common], /'stray'/],
    [["finetune", "--from", "nope", ...common], /--from.*'nope'/],
    [["segment", "--recipe", "lr=abc", ...common], /--recipe.*'lr=abc'/],
    [["segment", "--recipe", "colour=1", ...common], /--recipe.*'colour=1'/],
    [["segment", "--recipe", "epochs=1.5", ...common], /--recipe epochs.*1\.5/],
    [["finetune", "--recipe", "lr=1", ...common], /--recipe/],
    [
      ["segment", "--recipe", "channels=100000000,epochs=1", ...common],
      /recipe channels must be an integer in \[1, 4096\]/,
    ],
    [["gpa-recall", "--mask-ratio", "1", ...common], /--mask-ratio/],
    [["pretrain", "--soft", ",", ...common], /--soft must be two shares.*','/],
    [["pretrain", "--soft", "0.5,", ...common], /--soft must be two shares.*'0\.5,'/],
    [["pretrain", "--epochs", "-1", ...common], /--epochs must be in \[1, 100000\], got -1/],
    [["pretrain", "--strategy", "gpa", "--teacher-head", "0-shot", ...common], /k-shot needs k in 1/],
    [["bench", "--only", "nope"], /--only: unknown step 'nope'/],
    [["pretrain", "--mam-active-from", "0.5", ...common], /--mam-active-from applies only with --mam/],
    [["pretrain", "--mam-loss-on", "all", ...common], /--mam-loss-on applies only with --mam/],
    [
      ["pretrain", "--strategy", "uniform", "--input-size", "24", "--patch-size", "8", ...common],
      /needs an even patch grid; 24 px with 8-px patches is 3×3/,
    ],
    [
      ["pretrain", "--batch-size", "100000", "--epochs", "1", ...common],
      /batch size 100000 exceeds the \d+ training/,
    ],
    [["export", "0123456789abcdef", "--out", "/tmp/x.safetensors", ...common], /not a finished run/],
    [["table", "1", "--seed-list", "0,00", ...common], /--seed-list must be up to 100 distinct/],
    [
      ["pretrain", "--strategy", "gpa", "--teacher-weights", "", ...common],
      /--teacher-weights must not be empty/,
    ],
    [["plan", "--table", "1", "--cache-dir", ""], /--cache-dir must not be empty/],
    // The paper profile's teacher is the MAE authors' checkpoint: without it, fail before any training.
    [["table", "1", "--profile", "paper", ...common], /needs teacher weights: .*mae_pretrain_vit_base/],
    [
      ["table", "1", "--profile", "smoke", "--teacher-weights", "/nonexistent/t.safetensors", ...common],
      /teacher weights not found: \/nonexistent/,
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => cli(args)));
  results.forEach((r, i) => {
    const label = cases[i][0].slice(0, 3).join(" ");
    assert.equal(r.code, 2, `${label}: exit code (stderr: ${r.stderr})`);
    assert.equal(r.stdout, "", `${label}: nothing on stdout`);
    // Deno itself may report waiting for the node_modules lock when other processes start at the same time.
    const lines = r.stderr.trimEnd().split("\n").filter((l) =>
      !l.startsWith("Blocking waiting for file lock")
    );
    assert.equal(lines.length, 1, `${label}: one line on stderr, got ${JSON.stringify(r.stderr)}`);
    assert.match(lines[0], /^error: /, label);
    assert.match(lines[0], cases[i][1], label);
  });
  assert.deepEqual(await treeDigest(dir), before, "the cache directory is unchanged");

  // `deno task table1 -- --flag` forwards a literal `--`: both call styles work.
  for (
    const args of [["pretrain", "--", ...pretrainArgs(dir, LONG_EPOCHS).slice(1)], [
      "--",
      ...pretrainArgs(dir, LONG_EPOCHS),
    ]]
  ) {
    const r = await cli(args);
    assert.equal(r.code, 0, `${args.slice(0, 3).join(" ")}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).cacheHit, true);
  }
  const help = await cli(["help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /exit codes: 0 ok, 1 runtime error, 2 usage error, 130 interrupted/);
});

for (const jobs of [1, 2]) {
  Deno.test(`an interrupted table (${jobs === 1 ? "in process" : "--jobs 2"}) exits 130 and leaves the previous report untouched`, async () => {
    const dir = await tempDir();
    try {
      const reports = `${dir}/reports`;
      await Deno.mkdir(`${reports}/smoke`, { recursive: true });
      const good = { md: "# the previous, good report\n", json: '{"good": true}\n' };
      await Deno.writeTextFile(`${reports}/smoke/table1.md`, good.md);
      await Deno.writeTextFile(`${reports}/smoke/table1.json`, good.json);
      const args = ["table", "1", "--profile", "smoke", "--backend", "wasm", "--cache-dir", `${dir}/cache`];
      // Neither the coordinator nor its workers may write anywhere but --reports-dir.
      const projectReports = await listing(`${ROOT}/reports/smoke`);
      const child = command([...args, "--reports-dir", reports, ...(jobs > 1 ? ["--jobs", "2"] : [])])
        .spawn();
      // Interrupt once a run is training (it holds a lock), well before the table could finish.
      await waitFor("a run to start", async () => {
        try {
          for await (const r of Deno.readDir(`${dir}/cache/runs`)) {
            if ((await Deno.stat(`${dir}/cache/runs/${r.name}/lock`)).isFile) return true;
          }
        } catch {
          // not yet
        }
        return false;
      });
      child.kill("SIGTERM");
      const r = await collect(child);
      assert.equal(r.code, 130, `exit code (stderr: ${r.stderr.slice(-500)})`);
      assert.equal(await Deno.readTextFile(`${reports}/smoke/table1.md`), good.md, "markdown untouched");
      assert.equal(await Deno.readTextFile(`${reports}/smoke/table1.json`), good.json, "json untouched");
      assert.deepEqual(
        await listing(`${ROOT}/reports/smoke`),
        projectReports,
        "nothing written to the project's reports/",
      );
      assert.deepEqual(
        (await listing(reports)).map((l) => l.split(" ")[0]),
        ["smoke/table1.json", "smoke/table1.md"],
        "no figures either",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("cleanup: the reference run's cache directory", async () => {
  if (!reference) return;
  await Deno.remove((await reference).dir, { recursive: true });
  reference = null;
});

Deno.test("a checksum-consistent final file with a wrong tensor shape is moved aside and recomputed, not wedged", async () => {
  const dir = await tempDir();
  try {
    const args = pretrainArgs(dir, "1");
    const first = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    const hash = JSON.parse(first.stdout).hash;
    const run = new RunCache(dir).runDir(hash);
    const good = await run.loadFinal();
    // Rewrite the final weights through the cache itself: the manifest checksum matches, the shape does not.
    const bad = { ...good!.tensors, cls_token: { shape: [1, 3], data: new Float32Array(3) } };
    await run.saveFinal(bad, good!.metrics);
    const rerun = await cli(args);
    assert.equal(rerun.code, 0, `a wrong shape must not wedge the run: ${rerun.stderr}`);
    assert.equal(JSON.parse(rerun.stdout).cacheHit, false, "recomputed");
    assert.match(rerun.stderr, /do not fit the model.*moved aside/);
    const hit = await cli(args);
    assert.equal(JSON.parse(hit.stdout).cacheHit, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("three concurrent finetune commands on one cache train the fine-tuning run once", async () => {
  const dir = await tempDir();
  try {
    const args = ["finetune", "--profile", "smoke", "--backend", "wasm", "--cache-dir", dir, "--json"];
    const results = await Promise.all([0, 1, 2].map(() => cli(args)));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const trainings = results.map((r) => (r.stderr.match(/^finetune [0-9a-f]{16}: from /gm) ?? []).length);
    assert.equal(trainings.reduce((a, b) => a + b, 0), 1, `fine-tuning started ${trainings} times`);
    const hashes = new Set(results.map((r) => JSON.parse(r.stdout).hash));
    assert.equal(hashes.size, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGTERM while a table renders its figures (after its report is written) exits 130, not 0", async () => {
  const dir = await tempDir();
  try {
    const args = [
      "table",
      "1",
      "--profile",
      "smoke",
      "--backend",
      "wasm",
      "--rows",
      "mae",
      "--seed-list",
      "0",
      "--cache-dir",
      `${dir}/cache`,
      "--reports-dir",
      `${dir}/reports`,
    ];
    const first = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    // All cache hits now: the report is written at once, then the figures render (seconds).
    const child = command(args).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let stderr = "";
    while (!stderr.includes("table1: wrote")) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += value;
    }
    const status = await child.status;
    await child.stdout.cancel();
    assert.equal(status.code, 130, `exit code (stderr: ${stderr.slice(-600)})`);
    assert.match(stderr, /interrupted \(resumable\): stopped after the reports and figures were written/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
