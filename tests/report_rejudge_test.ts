import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { renderTableReport, type TableReportInput, tableReportJson } from "../lib/report/markdown.ts";
import {
  REJUDGE_NOTE_PREFIX,
  rejudgeFile,
  rejudgeReport,
  ReportFormatError,
  writeRejudged,
} from "../lib/report/rejudge.ts";
import { holmVerdicts, judgeClaim } from "../lib/report/verdict.ts";
import { cli } from "./cli_run.ts";

/** Table 1 on the cpu profile as written before this schema (@1), trimmed, plus an exact equality claim. */
const FIXTURE = fileURLToPath(new URL("./fixtures/report_v1_table1.json", import.meta.url));
const STAMP = { commit: "abc1234", date: "2026-12-01" };

async function fixtureCopy(dir: string): Promise<string> {
  const path = join(dir, "table1.json");
  await Deno.copyFile(FIXTURE, path);
  return path;
}

Deno.test("rejudge: Table 1 (@1) re-judged from its per-seed values; everything else kept", async () => {
  const old = JSON.parse(await Deno.readTextFile(FIXTURE));
  const input = rejudgeReport(old, STAMP);
  const by = Object.fromEntries(input.verdicts.map((v) => [v.claimId, v]));
  assert.deepEqual(
    input.verdicts.map((v) => v.claimId),
    old.verdicts.map((v: { claimId: string }) => v.claimId),
  );
  assert.equal(by["t1-teacher-beats-mae"].outcome, "inconclusive");
  assert.equal(by["t1-full-beats-mae"].outcome, "smaller than the paper's");
  assert.equal(by["t1-feature-adds"].outcome, "smaller than the paper's");
  // The exact equality claim keeps its tolerance (read from the @1 rule) and its verdict.
  assert.equal(by["t1-same-params"].outcome, "reproduced");
  assert.equal(by["t1-same-params"].tolerance, 0.01);
  assert.equal(by["t1-same-params"].method, "exact");
  // Same intervals as the committed ones (paired, 5 pairs); the MDE is now the 80 %-power one.
  for (const id of ["t1-teacher-beats-mae", "t1-full-beats-mae", "t1-feature-adds"]) {
    const was = old.verdicts.find((v: { claimId: string }) => v.claimId === id);
    assert.deepEqual(by[id].ci, was.ci, id);
    assert.equal(by[id].halfWidth, was.mde, `${id}: the old 'mde' was the half-width`);
    assert.equal(by[id].n, "5 pairs");
  }
  // Header, rows, deviations, figures, runs as written; one note added.
  const json = JSON.parse(JSON.stringify(tableReportJson(input)));
  assert.deepEqual(json.header, old.header);
  assert.deepEqual(json.metrics, old.metrics);
  assert.deepEqual(json.deviations, old.deviations);
  assert.deepEqual(json.figures, old.figures);
  assert.deepEqual(json.runs, old.runs);
  assert.deepEqual(json.notes.slice(0, -1), old.notes);
  assert.equal(
    json.notes.at(-1),
    `${REJUDGE_NOTE_PREFIX} by commit abc1234 (2026-12-01), with that commit's statistics; the header, rows, ` +
      "runs and other notes are as the table's run wrote them.",
  );
  assert.equal(json.schema, "gpa-repro/table-report@2");
  assert.deepEqual(json.summary, {
    "reproduced": 1,
    "not reproduced": 0,
    "smaller than the paper's": 2,
    "larger than the paper's": 0,
    "inconclusive": 1,
  });
  // Re-judging the result again replaces the note instead of adding a second one.
  const again = rejudgeReport(json, { commit: "def5678", date: "2026-12-02" });
  assert.equal(again.notes.filter((n) => n.startsWith(REJUDGE_NOTE_PREFIX)).length, 1);
  assert.match(again.notes.at(-1)!, /by commit def5678/);
});

Deno.test("rejudge: a report written by this code re-judges to the same report (plus the note)", () => {
  const results = { mae: [40, 41, 42.5], gpa: [41, 42.4, 43], hpm: [40.5, 41, 41] };
  const seeds = { mae: [0, 1, 2], gpa: [0, 1, 2], hpm: [0, 1, 2] };
  const input: TableReportInput = {
    header: {
      title: "T",
      tableId: "table6",
      profile: "cpu",
      dataset: "d",
      resolution: 64,
      model: "m",
      epochs: 4,
      backend: "wasm",
      seeds: [0, 1, 2],
      commit: "1111111",
      date: "2026-01-01",
      wallTimeSeconds: 10,
      cacheHits: { hits: 1, total: 9 },
    },
    metric: { key: "acc", label: "top-1", unit: "%" },
    rows: [
      { key: "mae", label: "MAE", paper: 83.6, perSeed: results.mae, seeds: seeds.mae },
      { key: "gpa", label: "GPA", paper: 84.6, perSeed: results.gpa, seeds: seeds.gpa, baseline: "hpm" },
      { key: "hpm", label: "HPM", paper: 84.2, perSeed: results.hpm, seeds: seeds.hpm },
    ],
    baseline: "mae",
    floorRow: "hpm",
    verdicts: holmVerdicts([
      judgeClaim(
        { kind: "greater", id: "g", text: "gpa > mae", metric: "acc", a: "gpa", b: "mae" },
        results,
        {
          seeds,
          paired: true,
          paperEffect: 1,
        },
      ),
      judgeClaim(
        {
          kind: "best-in-group",
          id: "b",
          text: "gpa best",
          metric: "acc",
          best: "gpa",
          rows: ["mae", "gpa", "hpm"],
        },
        results,
        { seeds, paired: true, paperEffect: 0.4 },
      ),
    ]),
    deviations: ["d1"],
    notes: ["n1"],
    figures: [{ title: "f", path: "figures/f.png" }],
    runs: [{ row: "mae", seed: 0, pretrainHash: "0123456789abcdef", evalHash: "fedcba9876543210" }],
  };
  const json = JSON.parse(JSON.stringify(tableReportJson(input)));
  const back = rejudgeReport(json, STAMP);
  assert.equal(
    renderTableReport(back),
    renderTableReport({ ...input, notes: [...input.notes, back.notes.at(-1)!] }),
  );
  assert.deepEqual(
    JSON.parse(JSON.stringify(tableReportJson(back))),
    { ...json, notes: [...json.notes, back.notes.at(-1)] },
  );
});

Deno.test("rejudge: the .json and .md are rewritten together; bad files are refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpa_rejudge_" });
  try {
    const path = await fixtureCopy(dir);
    const r = await rejudgeFile(path, STAMP);
    assert.deepEqual(r.changes.find((c) => c.claimId === "t1-full-beats-mae"), {
      claimId: "t1-full-beats-mae",
      before: "inconclusive",
      after: "smaller than the paper's",
    });
    await writeRejudged(r);
    const md = await Deno.readTextFile(join(dir, "table1.md"));
    assert.equal(md, renderTableReport(r.input));
    assert(md.includes("**smaller than the paper's**"), md);
    assert.equal(JSON.parse(await Deno.readTextFile(path)).verdicts[1].outcome, "smaller than the paper's");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["table1.json", "table1.md"]);
    // Not a report: wrong name, missing, not JSON, another schema, a verdict on an unknown metric or claim kind.
    const bad = async (name: string, text: string | null, pattern: RegExp) => {
      const p = join(dir, name);
      if (text !== null) await Deno.writeTextFile(p, text);
      await assert.rejects(() => rejudgeFile(p, STAMP), (e: Error) => {
        assert(e instanceof ReportFormatError, String(e));
        assert.match(e.message, pattern);
        return true;
      });
    };
    await bad("x.md", "", /not a report's \.json file/);
    await bad("missing.json", null, /no such file/);
    await bad("broken.json", "{", /not JSON/);
    await bad(
      "other.json",
      JSON.stringify({ schema: "something" }),
      /schema "something" is not a table report/,
    );
    const fixture = JSON.parse(await Deno.readTextFile(FIXTURE));
    fixture.verdicts[0].metric = "miou";
    await bad("metric.json", JSON.stringify(fixture), /verdicts\[0\]: no rows for metric 'miou'/);
    fixture.verdicts[0].kind = "less";
    await bad("kind.json", JSON.stringify(fixture), /verdicts\[0\]: unknown claim kind "less"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rejudge CLI: results --rejudge rewrites the reports; a bad file exits 2 with one line, writing nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpa_rejudge_cli_" });
  try {
    const path = await fixtureCopy(dir);
    const before = await Deno.readTextFile(path);
    await Deno.writeTextFile(join(dir, "bad.json"), "[]");
    const refused = await cli(["results", "--rejudge", path, join(dir, "bad.json")]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
    assert.match(refused.stderr, /^error: results --rejudge: .*bad\.json: not a JSON object/);
    assert.equal(await Deno.readTextFile(path), before, "a bad file in the list writes nothing");
    assert.equal((await cli(["results", "--rejudge"])).code, 2);
    assert.equal((await cli(["results", path])).code, 2, "files without --rejudge");
    const ok = await cli(["results", "--rejudge", path]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /t1-full-beats-mae: inconclusive → smaller than the paper's/);
    const json = JSON.parse(await Deno.readTextFile(path));
    assert.match(json.notes.at(-1), new RegExp(`^${REJUDGE_NOTE_PREFIX} by commit [0-9a-f]{7,}`));
    assert(await Deno.stat(join(dir, "table1.md")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("addRowFrom: copies a row's values and runs when their evaluation hashes are the table's own", async () => {
  const { addRowFrom } = await import("../lib/report/rejudge.ts");
  const metric = { key: "finetune", label: "fine-tune top-1" };
  const target = {
    metrics: [{
      metric,
      baseline: "mae",
      rows: [{ key: "mae", label: "MAE", perSeed: [17, 18], seeds: [0, 1] }],
    }],
    runs: [{ row: "mae", seed: 0, pretrainHash: "p0", evalHash: "e0" }],
    notes: [],
  };
  const source = {
    floorRow: "random-init",
    metrics: [{
      metric,
      baseline: "mae",
      rows: [{ key: "random-init", label: "random init", perSeed: [15, 16], seeds: [0, 1] }],
    }],
    runs: [
      { row: "random-init", seed: 0, pretrainHash: "", evalHash: "r0" },
      { row: "random-init", seed: 1, pretrainHash: "", evalHash: "r1" },
    ],
  };
  const t = {
    key: "random-init",
    from: source,
    fromPath: "teachers.json",
    expectedEvalHashes: { 0: "r0", 1: "r1" },
  };
  const out = addRowFrom(target, t) as typeof target & { floorRow?: string };
  assert.deepEqual(out.metrics[0].rows.map((r) => r.key), ["random-init", "mae"]);
  assert.deepEqual(out.metrics[0].rows[0].perSeed, [15, 16]);
  assert.equal(out.floorRow, "random-init");
  assert.equal(out.runs.length, 3);
  assert.match(out.notes.at(-1)!, /copied from teachers\.json/);
  assert.equal((out.metrics[0].rows[0] as { paper?: number | null }).paper, null);
  // The target table's paper value, where it has one (Table 9's HPM row copied from Table 6).
  const withPaper = addRowFrom(target, { ...t, paper: 83 }) as typeof target;
  assert.equal((withPaper.metrics[0].rows[0] as { paper?: number | null }).paper, 83);
  // A run of another identity (here seed 1's hash differs from the plan's) is refused, naming it.
  assert.throws(
    () => addRowFrom(target, { ...t, expectedEvalHashes: { 0: "r0", 1: "other" } }),
    /seed 1 ran as r1, the report's table plans other/,
  );
  assert.throws(() => addRowFrom(target, { ...t, key: "gpa" }), /no row 'gpa'/);
  // The copied runs name the commit that recorded them (the other report's, unknown here: no header).
  assert.match(out.notes.at(-1)!, / Recorded by commit unknown \(unknown\)\.$/);
  assert.equal((out.runs.at(-1) as { carriedFrom?: string }).carriedFrom, "unknown (unknown)");
  // Runs that report had itself carried from an earlier one keep the commit that recorded them; the note
  // names each commit with its seeds.
  const carried = {
    ...source,
    header: { commit: "b0e1f61 (dirty)", date: "2026-12-07T11:59:14.752Z" },
    runs: [{ ...source.runs[0], carriedFrom: "4334e1c (2026-11-30)" }, source.runs[1]],
  };
  const again = addRowFrom(target, { ...t, from: carried }) as typeof target;
  assert.match(
    again.notes.at(-1)!,
    / Recorded by commit 4334e1c \(2026-11-30\) \(seed 0\), commit b0e1f61 \(2026-12-07\) \(seed 1\)\.$/,
  );
  assert.deepEqual(
    again.runs.slice(-2).map((r) => (r as { carriedFrom?: string }).carriedFrom),
    ["4334e1c (2026-11-30)", "b0e1f61 (2026-12-07)"],
  );
});

Deno.test("addRowFrom: copies the row into every metric the two reports share (a long arm's k-NN)", async () => {
  const { addRowFrom } = await import("../lib/report/rejudge.ts");
  const probe = { key: "linprobe", label: "linear-probe top-1" };
  const knn = { key: "knn", label: "k-NN top-1" };
  const other = { key: "recall", label: "recall" };
  type Row = { key: string; label: string; perSeed: number[]; seeds: number[] };
  const block = (metric: object, rows: Row[]) => ({ metric, baseline: "mae", rows });
  const mae = { key: "mae", label: "MAE", perSeed: [20, 21], seeds: [0, 1] };
  const target = {
    metrics: [block(probe, [mae]), block(knn, [mae]), block(other, [mae])],
    runs: [],
    notes: [],
  };
  const centre = (perSeed: number[], seeds: number[]) => ({ key: "centre", label: "centre", perSeed, seeds });
  const source = {
    metrics: [block(probe, [centre([19, 20], [0, 1])]), block(knn, [centre([12], [1])])],
    runs: [
      { row: "centre", seed: 0, pretrainHash: "p0", evalHash: "c0" },
      { row: "centre", seed: 1, pretrainHash: "p1", evalHash: "c1" },
    ],
  };
  const out = addRowFrom(target, {
    key: "centre",
    from: source,
    fromPath: "long.json",
    order: ["mae", "centre"],
    expectedEvalHashes: { 0: "c0", 1: "c1" },
  }) as typeof target;
  const rowOf = (i: number) =>
    (out.metrics[i].rows as { key: string; perSeed: number[]; seeds: number[] }[]).find((r) =>
      r.key === "centre"
    );
  assert.deepEqual(out.metrics[0].rows.map((r) => r.key), ["mae", "centre"]);
  assert.deepEqual([rowOf(0)!.perSeed, rowOf(0)!.seeds], [[19, 20], [0, 1]]);
  // The k-NN block has only seed 1 in the source: only that seed is copied.
  assert.deepEqual([rowOf(1)!.perSeed, rowOf(1)!.seeds], [[12], [1]]);
  // A metric the source does not have is left as it was.
  assert.equal(rowOf(2), undefined);
});

Deno.test("rejudge: claims and deviations added since a report was written are added; new claims on missing rows read not run", async () => {
  const { rejudgeReport } = await import("../lib/report/rejudge.ts");
  const { tableReportJson } = await import("../lib/report/markdown.ts");
  const rows = (key: string, perSeed: number[]) => ({
    key,
    label: key,
    paper: null,
    perSeed,
    seeds: [0, 1, 2],
  });
  const json = {
    schema: "gpa-repro/table-report@2",
    header: { title: "T4", tableId: "table4", profile: "cpu", seeds: [0, 1, 2] },
    metrics: [{
      metric: { key: "finetune", label: "fine-tune top-1" },
      baseline: "a",
      rows: [rows("a", [1, 2, 3]), rows("b", [2, 3, 4.5])],
    }],
    verdicts: [],
    deviations: ["old line"],
    notes: ["kept"],
  };
  const input = rejudgeReport(json, {
    commit: "abc",
    date: "2026-01-01",
    claims: [
      {
        claim: { kind: "greater", id: "on-rows", text: "b > a", metric: "finetune", a: "b", b: "a" },
        paperEffect: 0.3,
      },
      {
        claim: { kind: "greater", id: "borrowed", text: "t3 > a", metric: "finetune", a: "t3-row", b: "a" },
        paperEffect: 0.44,
      },
      {
        // A metric the report has no rows of (Table 9's linear probe before Table 7 ran): not judged, noted.
        claim: { kind: "greater", id: "unrun-metric", text: "b > a", metric: "linprobe", a: "b", b: "a" },
        paperEffect: 4.1,
      },
    ],
    deviations: ["old line", "fine-tuning RandAugment: none"],
    notes: ["beit ran at 1×"],
  });
  const v = Object.fromEntries(input.verdicts.map((x) => [x.claimId, x]));
  assert.equal(v["on-rows"].outcome, "reproduced");
  assert.equal(v.borrowed.n, "0", "not run");
  assert.equal(v.borrowed.paperEffect, 0.44);
  assert.deepEqual(input.deviations, ["old line", "fine-tuning RandAugment: none"]);
  assert.deepEqual(input.notes.slice(0, 3), [
    "kept",
    "claim unrun-metric (linprobe) not judged: that metric was not run",
    "beit ran at 1×",
  ]);
  assert.equal(v["unrun-metric"], undefined);
  assert.ok(input.notes.includes("claim unrun-metric (linprobe) not judged: that metric was not run"));
  // Idempotent: a second re-judge adds nothing twice (and a claim on an unrun metric does not break it).
  const again = rejudgeReport(JSON.parse(JSON.stringify(tableReportJson(input))), {
    commit: "abc",
    date: "2026-01-01",
    claims: [{
      claim: { kind: "greater", id: "unrun-metric", text: "b > a", metric: "linprobe", a: "b", b: "a" },
      paperEffect: 4.1,
    }],
    deviations: ["fine-tuning RandAugment: none"],
    notes: ["beit ran at 1×"],
  });
  assert.equal(again.verdicts.length, 2);
  assert.deepEqual(again.deviations, input.deviations);
  assert.equal(again.notes.filter((n) => n === "beit ran at 1×").length, 1);
  assert.equal(again.notes.filter((n) => n.startsWith("claim unrun-metric")).length, 1);
  for (const r of [input, again]) {
    assert.match(
      r.notes[r.notes.length - 1],
      /claims and profile deviations listed since the table ran were added/,
    );
  }
});

Deno.test("addRowFrom: a row named differently there, only the report's seeds, in the plan's order", async () => {
  const { addRowFrom } = await import("../lib/report/rejudge.ts");
  const metric = { key: "finetune", label: "fine-tune top-1" };
  const target = {
    metrics: [{
      metric,
      baseline: "mae",
      rows: [
        { key: "mae", label: "MAE", perSeed: [17, 18], seeds: [0, 1] },
        { key: "oracle", label: "oracle", perSeed: [17.5, 18.5], seeds: [0, 1] },
      ],
    }],
    runs: [],
    notes: [
      "Partial report: this call trained only --rows mae,oracle; gpa did not run (not all seeds cached).",
    ],
  };
  const source = {
    metrics: [{
      metric,
      baseline: "mae",
      rows: [{ key: "gpa-teacher", label: "GPA as teacher", perSeed: [17.2, 18.1, 16.9], seeds: [0, 1, 2] }],
    }],
    runs: [0, 1, 2].map((s) => ({ row: "gpa-teacher", seed: s, pretrainHash: `p${s}`, evalHash: `e${s}` })),
  };
  const out = addRowFrom(target, {
    key: "gpa",
    sourceKey: "gpa-teacher",
    label: "GPA (shipped teacher)",
    order: ["mae", "gpa", "oracle"],
    seeds: [0, 1],
    from: source,
    fromPath: "table1.json",
    expectedEvalHashes: { 0: "e0", 1: "e1" }, // seed 2 is not asked for, so its hash is not needed
  }) as typeof target;
  assert.deepEqual(out.metrics[0].rows.map((r) => r.key), ["mae", "gpa", "oracle"]);
  const gpa = out.metrics[0].rows[1];
  assert.deepEqual([gpa.label, gpa.perSeed, gpa.seeds], ["GPA (shipped teacher)", [17.2, 18.1], [0, 1]]);
  assert.deepEqual((out.runs as { row: string; seed: number }[]).map((r) => `${r.row}/${r.seed}`), [
    "gpa/0",
    "gpa/1",
  ]);
  assert.match(out.notes.at(-1)!, /copied from table1\.json \(its row 'gpa-teacher'\)/);
  assert.match(out.notes[0], /gpa did not run .* Row 'gpa' is copied from another report since/);
  // Copying again replaces the row and its note; nothing is said twice.
  const again = addRowFrom(out, {
    key: "gpa",
    sourceKey: "gpa-teacher",
    seeds: [0, 1],
    from: source,
    fromPath: "table1.json",
    expectedEvalHashes: { 0: "e0", 1: "e1" },
  }) as typeof target;
  assert.deepEqual(again.notes, out.notes);
  assert.equal(again.metrics[0].rows.filter((r) => r.key === "gpa").length, 1);
});
