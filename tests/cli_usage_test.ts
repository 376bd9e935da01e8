/**
 * Usage errors found by the second red-team pass (issue 25, items 2, 3, 8 and 13): empty paths on every flag
 * that takes one, output paths that cannot be written, flags that do not apply to the strategy asked for,
 * settings that would fail after a run directory exists, and mis-parsed values. Each exits 2 with one
 * `error:` line naming the problem, before any work: the cache stays empty.
 */
import assert from "node:assert/strict";
import { cli } from "./cli_run.ts";

Deno.test("usage errors exit 2 with one line, before any work or any file is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli-usage-" });
  try {
    const cache = `${dir}/cache`;
    await Deno.writeTextFile(`${dir}/a-file`, "not a folder");
    const common = ["--profile", "smoke", "--cache-dir", cache];
    const cases: [string[], RegExp, Record<string, string>?][] = [
      // 2: an empty path is never the current folder or the root.
      [["gpa-recall", "--out", "", ...common], /--out must not be empty/],
      [["teacher", "--out", "", ...common], /--out must not be empty/],
      [["export", "0123456789abcdef", "--out", "", ...common], /--out must not be empty/],
      [["results", "--write", ""], /--write must not be empty/],
      [["table", "9", "--reports-dir", "", ...common], /--reports-dir must not be empty/],
      [["pretrain", "--data-dir", " ", ...common], /--data-dir must not be empty/],
      [["results", "--rejudge", ""], /a report path is empty/],
      // 8: where the results go is checked before anything is computed.
      [["gpa-recall", "--out", `${dir}/a-file`, ...common], /--out .*a-file is a file, not a folder/],
      [["teacher", "--out", `${dir}/a-file/t.safetensors`, ...common], /a-file is a file, not a folder/],
      [
        ["table", "9", "--reports-dir", `${dir}/a-file`, ...common],
        /--reports-dir .* is a file, not a folder/,
      ],
      [
        ["export", "0123456789abcdef", "--out", `${dir}/missing/x.safetensors`, ...common],
        /the folder .*missing does not exist/,
      ],
      [["results", "--write", `${dir}/missing.md`], /--write .*missing\.md: no such file/],
      [["pretrain", "--patch-size", "16", ...common], /keeps 0 of 1 patch .*needs at least 2 patches/],
      [["pretrain", ...common], /GPA_DEFER_READS must be 0 or 1, got '2'/, { GPA_DEFER_READS: "2" }],
      // 3: a flag the strategy ignores would give the same run under the same hash.
      [["pretrain", "--mam", ...common], /--mam does not apply to --strategy random: it applies to gpa$/],
      [["pretrain", "--strategy", "block", "--mam", ...common], /--mam does not apply to --strategy block/],
      [
        ["pretrain", "--strategy", "cls-attention", "--mam", ...common],
        /--mam does not apply to --strategy cls-attention/,
      ],
      [
        ["pretrain", "--soft", "0,0.5", ...common],
        /--soft does not apply to --strategy random: it applies to gpa, centre, mean-map, oracle-box/,
      ],
      [
        ["pretrain", "--teacher-head", "b0h0", ...common],
        /--teacher-head does not apply .*: it applies to gpa/,
      ],
      [["pretrain", "--gpa-maps", "cached", ...common], /--gpa-maps does not apply to --strategy random/],
      [["pretrain", "--clip-soft", ...common], /--clip-soft does not apply to --strategy random/],
      [
        ["pretrain", "--teacher-weights", `${dir}/nope.safetensors`, ...common],
        /--teacher-weights does not apply to --strategy random: it applies to gpa, cls-attention, mean-map/,
      ],
      [
        ["pretrain", "--strategy", "cls-attention", "--teacher-head", "b0h0", ...common],
        /--teacher-head does not apply to --strategy cls-attention: it applies to gpa, mean-map/,
      ],
      [["finetune", "--mam", ...common], /--mam does not apply to --strategy random/],
      // 13: values and arguments said plainly.
      [["pretrain", "--weight-decay", "-Infinity", ...common], /--weight-decay must be a decimal number/],
      [["pretrain", "--epochs", "--cache-dir", cache], /--epochs needs a value, but is followed by the flag/],
      [["pretrain", ...common, "--epochs"], /--epochs needs a value/],
      [["runs", "show", "--cache-dir", cache], /runs show: give a run's hash/],
      [["segment", "--recipe", "", ...common], /--recipe must not be empty/],
      [["plan", "1", "--table", "2", ...common], /the table is given twice \('1' and --table 2\)/],
      [["pretrain", "--blr", "0x1", ...common], /--blr must be a decimal number, got '0x1'/],
      [["pretrain", "--strategy", "gpa", "--soft", "0x0,0.5", ...common], /--soft must be two shares/],
      [["table", "9", "--rows", "mae,,mae", ...common], /--rows must name distinct rows/],
      [["table", "9", "--rows", "mae,mae", ...common], /--rows must name distinct rows/],
    ];
    const results = await Promise.all(cases.map(([args, , env]) => cli(args, env)));
    results.forEach((r, i) => {
      const label = cases[i][0].join(" ");
      assert.equal(r.code, 2, `${label}: exit code (stderr: ${r.stderr})`);
      assert.equal(r.stdout, "", `${label}: nothing on stdout`);
      const lines = r.stderr.trimEnd().split("\n").filter((l) => !l.startsWith("Blocking waiting"));
      assert.equal(lines.length, 1, `${label}: one line on stderr, got ${JSON.stringify(r.stderr)}`);
      assert.match(lines[0], /^error: /, label);
      assert.match(lines[0], cases[i][1], label);
    });
    assert.equal(await Deno.stat(`${cache}/runs`).catch(() => null), null, "no run directory was made");
    assert.equal(await Deno.readTextFile(`${dir}/a-file`), "not a folder");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the flags that stay valid: --strategy gpa takes the GPA flags, -1 after --seed is its value", async () => {
  const { checkStrategyFlags, strategyFlagScopes } = await import("../cli/flags.ts");
  const { STRATEGY_NAMES, strategyNeedsTeacher } = await import("../app/strategies.ts");
  const gpaFlags = {
    mam: true,
    soft: "0,0.5",
    "teacher-head": "b0h0",
    "gpa-maps": "cached",
    "clip-soft": true,
  };
  assert.doesNotThrow(() => checkStrategyFlags(gpaFlags, "gpa"));
  assert.doesNotThrow(() =>
    checkStrategyFlags({ "teacher-weights": "t", "teacher-epochs": "3" }, "cls-attention")
  );
  assert.doesNotThrow(() => checkStrategyFlags({ soft: "0,0.5", rounding: "floor" }, "centre"));
  assert.doesNotThrow(() => checkStrategyFlags({ mam: false }, "random"), "an absent boolean flag");
  // Derived from the registry: every teacher-guided strategy takes --teacher-weights.
  const weights = strategyFlagScopes().find((s) => s.flags.includes("teacher-weights"))!;
  assert.deepEqual(weights.strategies, STRATEGY_NAMES.filter((s) => strategyNeedsTeacher(s)));
  const { parseCommandArgs } = await import("../lib/cli.ts");
  const parsed = parseCommandArgs("pretrain", ["--seed", "-1", "-q"], {});
  assert.equal(parsed.values.seed, "-1");
  assert.equal(parsed.values.quiet, true);
});

Deno.test("results names a report it cannot read: garbage, empty, another shape (exit 1)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli-results-" });
  try {
    await Deno.mkdir(`${dir}/smoke`);
    const file = `${dir}/smoke/table1.json`;
    const cases: [string, RegExp][] = [
      ["{not json", /table1\.json: not JSON/],
      ["", /table1\.json: empty, not a report/],
      ["[1, 2]", /table1\.json: not a JSON object: not a table report/],
      ['{"header": {"tableId": "table1"}}', /table1\.json: no header\.seeds list/],
      ['{"header": {"tableId": "table1", "seeds": [0]}, "verdicts": [{"paperEffect": "x"}]}', /table1\.json/],
      [
        '{"header": {"tableId": "table1", "seeds": [0]}, "verdicts": [], "metrics": [{"rows": []}]}',
        /no list of metric blocks/,
      ],
    ];
    for (const [text, message] of cases) {
      await Deno.writeTextFile(file, text);
      const r = await cli(["results", "--profile", "smoke", "--reports-dir", dir]);
      assert.equal(r.code, 1, `${JSON.stringify(text)}: ${r.stderr}`);
      assert.match(r.stderr, /^error: /);
      assert.match(r.stderr, message, JSON.stringify(text));
      assert.doesNotMatch(r.stderr, /SyntaxError|TypeError/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file errors say what and where: the file a person knows, not a hidden temp file or the cache", async () => {
  const { fileErrorMessage, reportError } = await import("../main.ts");
  const denied = new Deno.errors.PermissionDenied(
    "Permission denied (os error 13): open '/srv/reports/smoke/.table1.md.tmp-4242-1a2b3c'",
  );
  assert.equal(
    fileErrorMessage(denied),
    "permission denied: /srv/reports/smoke/table1.md (Permission denied (os error 13)); check that " +
      "/srv/reports/smoke is writable and /srv/reports/smoke/table1.md readable by this user",
  );
  assert.doesNotMatch(fileErrorMessage(denied), /cache directory/);
  const teacher = new Deno.errors.PermissionDenied(
    "cannot read the teacher weights /t/x.safetensors (check its permissions)",
  );
  assert.equal(fileErrorMessage(teacher), `permission denied: ${teacher.message}`);
  const missing = new Deno.errors.NotFound(
    "No such file or directory (os error 2): open '/missing/dir/.x.safetensors.tmp-99-ff'",
  );
  assert.equal(
    fileErrorMessage(missing),
    "no such file or folder: /missing/dir/x.safetensors (does /missing/dir exist?)",
  );
  const said: string[] = [];
  const quiet = console.error;
  console.error = (l: string) => said.push(l);
  try {
    assert.equal(reportError(denied), 1);
    assert.equal(reportError(missing), 1);
  } finally {
    console.error = quiet;
  }
  assert.match(said[0], /^error: permission denied: \/srv\/reports\/smoke\/table1\.md/);
  assert.match(said[1], /^error: no such file or folder: \/missing\/dir\/x\.safetensors/);
});

Deno.test("a taken-over lock is described (holder, or an unreadable file), not printed as raw bytes", async () => {
  const { RunCache } = await import("../lib/cache/run_cache.ts");
  const { CONFIG } = await import("./cache_helpers.ts");
  const dir = await Deno.makeTempDir({ prefix: "cli-lock-" });
  try {
    const warnings: string[] = [];
    const run = await new RunCache(dir, { warn: (m) => warnings.push(m) }).openRun({
      ...CONFIG,
      lock: "raw",
    });
    const garbage = "\u0000\u0001garbage{{";
    await Deno.writeTextFile(run.lockPath, garbage);
    const old = new Date(Date.now() - 600_000);
    await Deno.utime(run.lockPath, old, old);
    const lock = await run.acquireLock({ staleMs: 60_000, heartbeatMs: 0 });
    await lock.release();
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0],
      /took over a stale lock \(unreadable lock file .*\); its 11 bytes named no holder$/,
    );
    assert.ok(!warnings[0].includes("garbage"), warnings[0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a finished run whose config.json is garbage: listed as unknown (not random init), repaired on its next hit", async () => {
  const cache = await Deno.makeTempDir({ prefix: "cli-config-" });
  try {
    const args = ["pretrain", "--profile", "smoke", "--epochs", "1", "--cache-dir", cache, "--json", "-q"];
    const first = await cli(args);
    assert.equal(first.code, 0, first.stderr);
    const hash = JSON.parse(first.stdout).hash as string;
    const config = `${cache}/runs/${hash}/config.json`;
    const original = await Deno.readTextFile(config);
    await Deno.writeTextFile(config, "garbage{");
    const listed = JSON.parse((await cli(["runs", "--cache-dir", cache, "--json", "-q"])).stdout);
    assert.equal(listed[0].kind, "unknown (no readable config.json)");
    assert.equal(listed[0].strategy, undefined, "not 'random init'");
    const again = await cli(args);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).cacheHit, true);
    assert.equal(await Deno.readTextFile(config), original, "the record is written again from the identity");
    const shown = JSON.parse((await cli(["runs", "show", hash, "--cache-dir", cache, "--json"])).stdout);
    assert.equal(shown.kind, "pretrain");
    assert.equal(shown.strategy, "random");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
