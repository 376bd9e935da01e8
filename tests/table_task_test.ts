import assert from "node:assert/strict";
import { tableTask } from "../cli/table_task.ts";
import { table9 } from "../experiments/tables/table9.ts";

/** Runs `fn` with console.log and console.error captured; returns what they printed. */
async function captured(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = "", err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { code: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("tableTask: --help (also after a literal --) prints the table usage and exits 0", async () => {
  const r = await captured(() => tableTask(table9, ["--", "--help"]));
  assert.equal(r.code, 0);
  assert.match(r.out, /--rows/);
});

Deno.test("tableTask: a bad flag or row is a one-line usage error, exit 2, before anything runs", async () => {
  const bad = await captured(() => tableTask(table9, ["--profile", "smoke", "--rows", "nope"]));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^error: .*nope/);
  assert.equal(bad.err.trim().split("\n").length, 1);
  const flag = await captured(() => tableTask(table9, ["--profile", "smoke", "--frobnicate"]));
  assert.equal(flag.code, 2);
  // A task names its table by module: a positional table id is not accepted.
  const extra = await captured(() => tableTask(table9, ["4", "--profile", "smoke"]));
  assert.equal(extra.code, 2);
});

Deno.test("tableTask: runs its own module (no table id) and writes that table's report", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await captured(() =>
      tableTask(table9, [
        "--",
        "--profile",
        "smoke",
        "--seeds",
        "1",
        "--rows",
        "mae",
        "--quiet",
        "--cache-dir",
        `${dir}/cache`,
        "--reports-dir",
        `${dir}/reports`,
      ])
    );
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/reports/smoke/table9.json`));
    assert.equal(json.header.tableId, "table9");
    assert.equal(json.header.command, "deno task table9 --profile smoke --seeds 1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
