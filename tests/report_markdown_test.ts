import assert from "node:assert/strict";
import { join } from "node:path";
import { atomicWriteFiles } from "../lib/fsutil.ts";
import {
  formatDuration,
  renderTableReport,
  SCALE_STATEMENT,
  type TableReportInput,
  tableReportJson,
  writeReport,
} from "../lib/report/markdown.ts";
import { holmVerdicts, judgeClaim } from "../lib/report/verdict.ts";

function sampleInput(): TableReportInput {
  const results = { mae: [40, 41, 42], teacher: [43, 44, 45], full: [44] };
  return {
    header: {
      title: "Table 1 — roles of GPA",
      tableId: "table1",
      profile: "small",
      dataset: "cifar10",
      resolution: 32,
      model: "ViT-Tiny/4",
      epochs: 50,
      backend: "wasm",
      seeds: [0, 1, 2],
      commit: "abc1234",
      date: "2025-01-02",
      wallTimeSeconds: 3723,
      cacheHits: { hits: 2, total: 7 },
    },
    metric: { key: "finetune", label: "fine-tune top-1", unit: "%" },
    rows: [
      { key: "mae", label: "MAE", paper: 82.23, perSeed: results.mae },
      { key: "teacher", label: "GPA (teacher)", paper: 82.73, perSeed: results.teacher, n: 3 },
      { key: "full", label: "GPA (teacher + feature)", paper: 83.22, perSeed: results.full },
    ],
    baseline: "mae",
    verdicts: [
      judgeClaim({
        kind: "greater",
        id: "t1-teacher",
        text: "teacher beats MAE",
        metric: "finetune",
        a: "teacher",
        b: "mae",
      }, results),
      judgeClaim({
        kind: "greater",
        id: "t1-full",
        text: "full beats MAE",
        metric: "finetune",
        a: "full",
        b: "mae",
      }, results),
    ],
    deviations: ["CIFAR-10 at 32 px instead of ImageNet-1K at 224 px"],
    notes: ["a note with a | pipe"],
    figures: [{ title: "Learning curves", path: "figures/t1_curves.png" }],
  };
}

Deno.test("markdown: table rows show paper, ours mean ± std (n) and both deltas", () => {
  const md = renderTableReport(sampleInput());
  assert(md.startsWith("# Table 1 — roles of GPA\n"));
  assert(md.includes(SCALE_STATEMENT));
  // mean 41, sample std 1 (hand-computed), baseline has no delta.
  assert(md.includes("| MAE *(baseline)* | 82.23 | 41.00 ± 1.00 (n=3) | — | — | 40.00, 41.00, 42.00 |"), md);
  // Paper Δ 82.73 − 82.23 = +0.50; ours 44 − 41 = +3.00.
  assert(md.includes("| GPA (teacher) | 82.73 | 44.00 ± 1.00 (n=3) | +0.50 | +3.00 |"), md);
  // One seed: no std; paper Δ +0.99, ours +3.00.
  assert(md.includes("| GPA (teacher + feature) | 83.22 | 44.00 (n=1) | +0.99 | +3.00 |"), md);
  assert(md.includes("Δ paper vs MAE"));
  assert(md.includes("| Compute time | 1h 02m 03s (the runs' own training time, summed) |"), md);
  assert(md.includes("| Cache hits | 2 of 7 runs |"));
  assert(md.includes("| Seeds | 0, 1, 2 (3) |"));
});

Deno.test("markdown: a baseline that did not run is named without its reason in the Δ headings", () => {
  const base = sampleInput();
  const input: TableReportInput = {
    ...base,
    rows: [
      { ...base.rows[0], label: "MAE — not run: left out by --rows (0 of 1 seeds cached)", perSeed: [] },
      ...base.rows.slice(1),
    ],
  };
  const md = renderTableReport(input);
  // The heading once read "Δ paper vs MAE — not run: left out by --rows (0 of 1 seeds cached)".
  assert(md.includes("| Δ paper vs MAE | Δ ours vs MAE |"), md);
  assert(md.includes("| MAE — not run: left out by --rows (0 of 1 seeds cached) *(baseline)* |"), md);
});

Deno.test("markdown: verdict words, summary, rules, deviations, escaped notes, figures", () => {
  const md = renderTableReport(sampleInput());
  assert(md.includes("1 reproduced, 0 not reproduced, 1 inconclusive (of 2)."), md);
  assert(/\| teacher beats MAE \(`t1-teacher`\) \| \*\*reproduced\*\* \| — \| \+3\.000 \| \[\+/.test(md), md);
  assert(md.includes("| full beats MAE (`t1-full`) | **inconclusive** | — | +3.000 | — |"), md);
  assert(md.includes("- `t1-full`: full > mae"));
  assert(md.includes("- CIFAR-10 at 32 px instead of ImageNet-1K at 224 px"));
  assert(md.includes("a note with a | pipe")); // list items need no escaping
  assert(md.includes("![Learning curves](figures/t1_curves.png)"));
  // The reading at this scale is written from the verdicts, between the rules and the deviations.
  const reading = md.indexOf("## What this table says at this scale");
  assert(reading > md.indexOf("Rules:") && reading < md.indexOf("## Deviations from the paper"), md);
  assert(
    md.includes("Of the 2 claims judged on the runs here, 1 holds (`t1-teacher`) and 1 is inconclusive"),
    md,
  );
});

Deno.test("markdown: per-row baselines (grouped tables) and bad input", () => {
  const input = sampleInput();
  input.rows = [
    { key: "r75", label: "α=0.75 random", paper: 82.69, perSeed: [1, 2], baseline: "r75" },
    { key: "s75", label: "α=0.75 0.5→0", paper: 82.73, perSeed: [2, 3], baseline: "r75" },
    { key: "r90", label: "α=0.9 random", paper: 82.41, perSeed: [5, 5], baseline: "r90" },
    { key: "s90", label: "α=0.9 0.5→0", paper: 82.51, perSeed: [4, 4], baseline: "r90" },
  ];
  input.baseline = null;
  const md = renderTableReport(input);
  assert(md.includes("| α=0.9 0.5→0 | 82.51 | 4.00 ± 0.00 (n=2) | +0.10 | −1.00 | 4.00, 4.00 |"), md);
  assert(md.includes("Deltas are taken against the baseline row of each group."));
  const bad = sampleInput();
  bad.rows = [{ key: "x", label: "x", paper: 1, perSeed: [1], n: 2 }];
  bad.baseline = null;
  assert.throws(() => renderTableReport(bad), RangeError);
  const unknown = sampleInput();
  unknown.baseline = "nope";
  assert.throws(() => renderTableReport(unknown), RangeError);
});

Deno.test("markdown: JSON object carries derived statistics and no NaN", () => {
  const json = tableReportJson(sampleInput());
  const text = JSON.stringify(json);
  assert(!text.includes("NaN"));
  const parsed = JSON.parse(text);
  assert.equal(parsed.schema, "gpa-repro/table-report@2");
  const rows = parsed.metrics[0].rows;
  assert.deepEqual(rows.map((r: { key: string }) => r.key), ["mae", "teacher", "full"]);
  assert.equal(rows[1].mean, 44);
  assert.equal(rows[1].std, 1);
  assert.equal(rows[2].std, null);
  assert(Math.abs(rows[1].paperDelta - 0.5) < 1e-9);
  assert.equal(rows[1].oursDelta, 3);
  assert.deepEqual(parsed.summary, {
    "reproduced": 1,
    "not reproduced": 0,
    "smaller than the paper's": 0,
    "larger than the paper's": 0,
    "inconclusive": 1,
  });
  assert.equal(parsed.floorRow, null);
  assert.equal(parsed.gainOverFloor, null);
  assert.equal(parsed.verdicts[0].shareOfGain, null);
  assert.equal(parsed.verdicts[1].ci, null);
  assert.deepEqual(parsed.runs, [], "no runs given, an empty list");
  const runs = [{ row: "mae", seed: 0, pretrainHash: "0123456789abcdef", evalHash: "fedcba9876543210" }];
  assert.deepEqual(JSON.parse(JSON.stringify(tableReportJson({ ...sampleInput(), runs }))).runs, runs);
});

Deno.test("markdown: additional metric blocks render their own tables", () => {
  const input = sampleInput();
  input.additionalMetrics = [{
    metric: { key: "miou", label: "ADE20K mIoU", digits: 1 },
    rows: [
      { key: "mae", label: "MAE", paper: 40.5, perSeed: [10, 12] },
      { key: "teacher", label: "GPA (teacher)", paper: 41.6, perSeed: [13, 13] },
    ],
    baseline: "mae",
  }];
  const md = renderTableReport(input);
  assert(md.includes("## ADE20K mIoU"));
  assert(md.includes("| GPA (teacher) | 41.6 | 13.0 ± 0.0 (n=2) | +1.1 | +2.0 | 13.0, 13.0 |"), md);
});

Deno.test("markdown: durations", () => {
  assert.equal(formatDuration(12.34), "12.3s");
  assert.equal(formatDuration(245), "4m 05s");
  assert.equal(formatDuration(3723), "1h 02m 03s");
});

Deno.test("markdown: writeReport writes both files atomically and overwrites cleanly", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpa_report_" });
  try {
    const target = join(dir, "nested");
    const paths = await writeReport(target, "table1", sampleInput());
    assert.equal(paths.markdown, join(target, "table1.md"));
    const md = await Deno.readTextFile(paths.markdown);
    assert.equal(md, renderTableReport(sampleInput()));
    const parsed = JSON.parse(await Deno.readTextFile(paths.json));
    assert.equal(parsed.header.commit, "abc1234");
    // Second write replaces the files and leaves no temporaries.
    const changed = sampleInput();
    changed.header.commit = "def5678";
    await writeReport(target, "table1", changed);
    assert.equal(JSON.parse(await Deno.readTextFile(paths.json)).header.commit, "def5678");
    const names = [...Deno.readDirSync(target)].map((e) => e.name).sort();
    assert.deepEqual(names, ["table1.json", "table1.md"]);
    await assert.rejects(() => writeReport(target, "../escape", sampleInput()), RangeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("atomic write: a failing file leaves earlier targets untouched and no temporaries", async () => {
  const dir = await Deno.makeTempDir({ prefix: "gpa_atomic_" });
  try {
    const first = join(dir, "a.txt");
    await Deno.writeTextFile(first, "old");
    await assert.rejects(() =>
      atomicWriteFiles([
        { path: first, content: "new" },
        { path: join(dir, "missing-dir", "b.txt"), content: "x" },
      ])
    );
    assert.equal(await Deno.readTextFile(first), "old");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["a.txt"]);
    await atomicWriteFiles([{ path: first, content: new Uint8Array([104, 105]) }]);
    assert.equal(await Deno.readTextFile(first), "hi");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("markdown: per-seed values name their seeds; no signed zero; the reproducing command; invocation time", () => {
  const input = sampleInput();
  input.rows = [
    { key: "mae", label: "MAE", paper: 82.23, perSeed: [40, 41], seeds: [0, 3] },
    { key: "teacher", label: "GPA (teacher)", paper: 82.23, perSeed: [40, 41], seeds: [0, 3] },
  ];
  input.header = {
    ...input.header,
    command: "deno task table1 --profile cpu --seeds 2",
    invocationSeconds: 4.2,
  };
  const md = renderTableReport(input);
  assert(md.includes("| s0: 40.00, s3: 41.00 |"), md);
  assert(md.includes("| GPA (teacher) | 82.23 | 40.50 ± 0.71 (n=2) | 0.00 | 0.00 |"), md);
  assert(!/[±−-]0\.00\b/.test(md.split("## Verdicts")[0].replace(/ ± 0\.71/g, "")), md);
  assert(md.includes("```sh\ndeno task table1 --profile cpu --seeds 2\n```"), md);
  assert(md.includes("| This invocation | 4.2s (cached runs cost nothing) |"), md);
});

Deno.test("markdown: claims on rows that did not run are named so and left out of Holm's family", async () => {
  const { holmVerdicts } = await import("../lib/report/verdict.ts");
  const input = sampleInput();
  const results = { mae: [40, 41, 42], teacher: [43, 44, 45] };
  const claim = (id: string, a: string) => ({
    kind: "greater" as const,
    id,
    text: id,
    metric: "finetune",
    a,
    b: "mae",
  });
  input.verdicts = holmVerdicts([
    judgeClaim(claim("ran", "teacher"), results),
    judgeClaim(claim("missing-1", "convmae"), results),
    judgeClaim(claim("missing-2", "cae"), results),
  ]);
  const md = renderTableReport(input);
  assert(md.includes("(of 3; 2 of them on rows that did not run)."), md);
  // One tested claim: no Holm sentence (a family of one), and the tested claim keeps its verdict under Holm.
  assert(!md.includes("With Holm's correction over"), md);
  assert.equal(input.verdicts[0].holm!.outcome, input.verdicts[0].outcome);
});

/** Table 1's cpu values (reports/cpu/table1.json) with a random-init floor row, for the new columns. */
function table1Input(floor: number[] | null): TableReportInput {
  const input = sampleInput();
  const results: Record<string, number[]> = {
    mae: [18.16, 16.64, 17.44, 16.52, 16.48],
    teacher: [18, 17.12, 17.68, 16.68, 16.8],
    full: [17.56, 17.32, 17.44, 17.08, 16.44],
    ...(floor ? { random: floor } : {}),
  };
  const seeds = Object.fromEntries(Object.keys(results).map((k) => [k, [0, 1, 2, 3, 4]]));
  input.rows = [
    { key: "mae", label: "MAE", paper: 82.23, perSeed: results.mae, seeds: seeds.mae },
    { key: "teacher", label: "GPA (teacher)", paper: 82.73, perSeed: results.teacher, seeds: seeds.teacher },
    { key: "full", label: "GPA (teacher + feature)", paper: 83.22, perSeed: results.full, seeds: seeds.full },
    {
      key: "random",
      label: "random init",
      paper: null,
      perSeed: floor ?? [],
      seeds: floor ? seeds.random : [],
    },
  ];
  const claim = (id: string, a: string, b: string, paperEffect: number) =>
    judgeClaim({ kind: "greater", id, text: id, metric: "finetune", a, b }, results, {
      seeds,
      paired: true,
      paperEffect,
    });
  input.verdicts = holmVerdicts([
    claim("t1-teacher", "teacher", "mae", 0.5),
    claim("t1-full", "full", "mae", 83.22 - 82.23),
    claim("t1-mam", "full", "teacher", 83.22 - 82.73),
  ]);
  input.floorRow = "random";
  return input;
}

Deno.test("markdown: the paper-Δ outcomes are counted, shown, explained; MDE at 80 % power; seeds' range", () => {
  const md = renderTableReport(table1Input(null));
  assert(
    md.includes("0 reproduced, 0 not reproduced, 2 smaller than the paper's, 1 inconclusive (of 3)."),
    md,
  );
  assert(
    md.includes(
      "With Holm's correction over the 3 seed-dependent claims: 0 reproduced, 0 not reproduced, " +
        "0 smaller than the paper's, 3 inconclusive.",
    ),
    md,
  );
  assert(md.includes("| MDE (80 % power) |"), md);
  assert(md.includes("| seeds for 80 % power if paper Δ holds here |"), md);
  // t1-full: se 0.230825, MDE (2.776445 + 0.940965)·0.230825 = 0.858; the CI's half-width 0.641 is the CI's.
  assert(
    md.includes(
      "| t1-full (`t1-full`) | **smaller than the paper's** | inconclusive | +0.120 | [−0.521, +0.761] | " +
        "paired, 5 pairs | 0.858 | +0.99 | — |",
    ),
    md,
  );
  // t1-teacher: inconclusive, 4 seeds for the paper's +0.50, and the range over the spread's 95 % interval.
  assert(
    /\| t1-teacher \(`t1-teacher`\) \| \*\*inconclusive\*\* .* \| \+0\.50 \| 4 \(\d+ to \d+\) \|/.test(md),
    md,
  );
  assert(
    md.includes("Smaller than the paper's: the 95 % interval of Δ ours contains 0 but lies wholly below"),
    md,
  );
  assert(md.includes("MDE (80 % power): (t₀.₉₇₅ + t₀.₈) × the standard error of Δ ours"), md);
  assert(!md.includes("% of baseline's gain over floor"), "no floor results: no share column");
  const json = tableReportJson(table1Input(null)) as { verdicts: { halfWidth: number; mde: number }[] };
  assert(Math.abs(json.verdicts[1].halfWidth - 2.776445 * 0.230825) < 1e-5);
  assert(Math.abs(json.verdicts[1].mde - 3.71741 * 0.230825) < 1e-5);
});

Deno.test("markdown: with a floor row, each a > b claim's Δ as a share of the baseline's gain over it", () => {
  // MAE's mean 17.048, random init's 2.048: gain 15.0; t1-teacher Δ 0.208 → 1.39 % → "1 %"; t1-mam −0.088
  // → −0.59 % → "−1 %".
  const input = table1Input([2.5, 1.5, 2.0, 2.24, 2.0]);
  const md = renderTableReport(input);
  assert(md.includes("| Δ paper | % of baseline's gain over floor | seeds for 80 % power"), md);
  assert(/\| t1-teacher \(`t1-teacher`\) .* \| \+0\.50 \| 1 % \| 4 /.test(md), md);
  assert(/\| t1-mam \(`t1-mam`\) .* \| \+0\.49 \| −1 % \| — \|/.test(md), md);
  assert(md.includes("Δ ours as a share of MAE's gain over random init (17.05 − 2.05 = 15.00)"), md);
  const json = JSON.parse(JSON.stringify(tableReportJson(input)));
  assert.equal(json.floorRow, "random");
  assert.equal(json.gainOverFloor.baseline, "mae");
  assert(Math.abs(json.gainOverFloor.gain - 15) < 1e-9);
  assert(Math.abs(json.verdicts[0].shareOfGain - 0.208 / 15) < 1e-9);
  // Not shown without a baseline, and an unknown floor row is an error like an unknown baseline.
  assert.equal(tableReportJson({ ...input, baseline: null }).gainOverFloor, null);
  assert.throws(() => renderTableReport({ ...input, floorRow: "nope" }), /unknown floor row/);
});

Deno.test("markdown: a best-in-group loss shows its Bonferroni interval's level", () => {
  const input = sampleInput();
  const results = { x: [10, 10, 10], y: [13.9, 14, 14.1], z: [5, 5.5, 6], w: [6, 6.2, 6.4] };
  const s = [0, 1, 2];
  input.verdicts = [
    judgeClaim(
      {
        kind: "best-in-group",
        id: "b",
        text: "x best",
        metric: "finetune",
        best: "x",
        rows: ["x", "y", "z", "w"],
      },
      results,
      {
        seeds: { x: s, y: s, z: s, w: s },
        paired: true,
      },
    ),
  ];
  const md = renderTableReport(input);
  assert(md.includes("[−4.442, −3.558] (98.33 %, Bonferroni)"), md);
  assert(md.includes("Best-in-group: a row beating the claimed one decides"), md);
});
