import assert from "node:assert/strict";
import { type StatusReportJson, statusTable } from "../lib/report/status.ts";
import { cli } from "./cli_run.ts";
import { verdictFixture } from "./fixtures.ts";

/** A report as `results` reads it: rows by (key, label, values), the main block first. */
function report(over: Partial<StatusReportJson> & { tableId: string; seeds?: number[] }): StatusReportJson {
  const { tableId, seeds, ...rest } = over;
  return {
    header: {
      tableId,
      title: tableId,
      dataset: "d",
      seeds: seeds ?? [0, 1, 2],
      backend: "wasm (matMul: OpenBLAS)",
      wallTimeSeconds: 3725,
    },
    verdicts: [],
    metrics: [],
    notes: [],
    ...rest,
  };
}

const row = (key: string, perSeed: (number | null)[], label = key) => ({ key, label, perSeed });

Deno.test("statusTable: rows run, not implemented, not run with the partial note's cost, side metrics left", () => {
  const t4 = report({
    tableId: "table4",
    metrics: [
      {
        metric: { label: "fine-tune top-1" },
        rows: [
          row("mae", [17, 18, 17.5]),
          row("gpa", [17, 18], "GPA"),
          row("semmae", [], "SemMAE — not run: SemMAE is not implemented in this suite"),
          row("t3-a", [], "t3 a — not run: left out by --rows (0 of 3 seeds cached)"),
        ],
      },
      { metric: { label: "k-NN top-1" }, rows: [row("mae", [12, 13, 12]), row("gpa", [])] },
      { metric: { label: "apBox — not run: COCO is out of reach" }, rows: [row("mae", [])] },
    ],
    verdicts: [
      verdictFixture({ outcome: "inconclusive" }),
      verdictFixture({ claimId: "b", method: "none", n: "0", outcome: "inconclusive" }),
      verdictFixture({ claimId: "a", outcome: "reproduced" }),
    ],
    notes: [
      "Partial report: this call trained only --rows mae,gpa; t3-a did not run (not all seeds cached; ≈ 70 min " +
      "of compute to run them, `plan`'s estimate). The command above, without --rows, completes the table.",
    ],
  });
  const out = statusTable([{ file: "cpu/table4.md", report: t4 }], {
    missing: [{ id: "table3", claims: 3, command: "deno task table3 --profile cpu" }],
  }).split("\n");
  assert.equal(out.length, 4);
  // The table with no report goes where its number puts it.
  assert.match(out[2], /^\| Table 3 \| — \| no report on this profile yet \| 3 not judged \|/);
  assert.equal(
    out[3],
    "| [Table 4](cpu/table4.md) | 3 | 2 of 4; fewer seeds: GPA (2); not implemented: SemMAE; not measurable " +
      "here: apBox | 1 reproduced, 1 inconclusive, 1 not run (of 3) | wasm (matMul: OpenBLAS) | 1h 02m 05s | " +
      "`t3-a` (≈ 70 min of compute, `plan`'s estimate); k-NN top-1 of `gpa` |",
  );
});

Deno.test("statusTable: a partial note whose rows have run since gives no cost; a complete table reads —", () => {
  const metrics = [{ rows: [row("mae", [1, 2, 3]), row("gpa", [1, 2, 3]), row("hpm", [])] }];
  // The note named gpa and hpm as not run; gpa was added since (results --add-row): its cost is stale.
  const stale = report({
    tableId: "teachers",
    metrics,
    notes: ["Partial report: x; gpa, hpm did not run (not all seeds cached; ≈ 2 h of compute to run them)."],
  });
  const line = statusTable([{ file: "t.md", report: stale }]).split("\n")[2];
  assert.match(line, /\| `hpm` \|$/);
  assert.doesNotMatch(line, /≈ 2 h/);
  // A note with no cost (written without a throughput model) gives none.
  const noCost = report({
    tableId: "teachers",
    metrics,
    notes: [
      "Partial report: this call trained only --rows mae,gpa; hpm did not run (not all seeds cached). The",
    ],
  });
  assert.match(statusTable([{ file: "t.md", report: noCost }]).split("\n")[2], /\| `hpm` \|$/);
  const done = report({ tableId: "table1", metrics: [{ rows: [row("mae", [1, 2, 3])] }] });
  assert.match(
    statusTable([{ file: "t1.md", report: done }]).split("\n")[2],
    /\| 3 \| 1 of 1 \| none \| .* \| — \|$/,
  );
});

Deno.test("statusTable: Holm's counts where they differ; carried runs and copied rows named beside the compute", () => {
  const t = report({
    tableId: "teachers",
    metrics: [{
      rows: [
        row("mae", [1, 2, 3]),
        row("gpa", [1, 2, 3]),
        // A NaN metric is recorded as null: not a seed that ran.
        row("centre", [null, null, null]),
        row("seg", [], "seg — not run: no runnable segmentation data for profile smoke"),
      ],
    }],
    verdicts: [
      verdictFixture({ outcome: "reproduced", holm: { adjustedP: 0.08, outcome: "inconclusive" } }),
      verdictFixture({
        claimId: "d",
        outcome: "reproduced",
        holm: { adjustedP: 0.01, outcome: "reproduced" },
      }),
      verdictFixture({ claimId: "e", outcome: "reproduced", vsPaper: "smaller" }),
    ],
    runs: [{ row: "mae", carriedFrom: "4334e1c (2026-11-30)" }, {
      row: "gpa",
      carriedFrom: "93e48ce (2026-11-30)",
    }],
    notes: [
      "Row 'gpa' (seeds 0, 1, 2) copied from reports/cpu/table1.json (its row 'gpa-teacher'): the same runs.",
    ],
  });
  const cells = statusTable([{ file: "t.md", report: t }]).split("\n")[2].split(" | ");
  assert.equal(cells[2], "2 of 4; not runnable here: seg");
  // "reproduced, smaller than the paper's" is counted as reproduced (the report's own count).
  assert.equal(cells[3], "3 reproduced (of 3); after Holm: 2 reproduced, 1 inconclusive");
  assert.equal(
    cells[5],
    "1h 02m 05s; + 1 carried run not counted; + row gpa copied from reports/cpu/table1.json (its compute and " +
      "engines there)",
  );
  assert.equal(cells[6], "`centre` |");
});

Deno.test("results --write fills the blocks whose markers the file has; a file with none exits 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "results-status-" });
  try {
    await Deno.mkdir(`${dir}/reports/smoke`, { recursive: true });
    const t1 = report({
      tableId: "table1",
      metrics: [{ metric: { label: "fine-tune top-1" }, rows: [row("mae", [1, 2, 3])] }],
    });
    await Deno.writeTextFile(`${dir}/reports/smoke/table1.json`, JSON.stringify(t1));
    const status = `${dir}/reports/README.md`;
    await Deno.writeTextFile(
      status,
      "# Reports\n\n<!-- status:start -->\nold\n<!-- status:end -->\n\nkept\n",
    );
    const args = ["results", "--profile", "smoke", "--reports-dir", `${dir}/reports`, "--write"];
    const ok = await cli([...args, status]);
    assert.equal(ok.code, 0, ok.stderr);
    const text = await Deno.readTextFile(status);
    assert.match(
      text,
      /\| \[Table 1\]\(smoke\/table1\.md\) \| 3 \| 1 of 1 \|/,
      "links are relative to the file",
    );
    assert.doesNotMatch(text, /\nold\n/);
    assert.match(text, /\n\nkept\n$/);
    const none = `${dir}/none.md`;
    await Deno.writeTextFile(none, "no markers here\n");
    const bad = await cli([...args, none]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --write .*none\.md: none of the marker pairs .* found/);
    assert.equal(await Deno.readTextFile(none), "no markers here\n", "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the committed README.md and reports/README.md blocks are what results writes from the reports", async () => {
  // A report committed without `deno task results --write …` leaves the front page or the status page saying
  // something the reports do not: this fails until they are rewritten. Written into copies laid out as the
  // repository is (links are relative to the file written into), compared with whitespace and table
  // alignment (deno fmt's) set aside.
  const root = new URL("..", import.meta.url).pathname;
  const dir = await Deno.makeTempDir({ prefix: "results-committed-" });
  try {
    await Deno.mkdir(`${dir}/reports/cpu`, { recursive: true });
    for await (const e of Deno.readDir(`${root}reports/cpu`)) {
      if (e.isFile && e.name.endsWith(".json")) {
        await Deno.copyFile(`${root}reports/cpu/${e.name}`, `${dir}/reports/cpu/${e.name}`);
      }
    }
    const norm = (s: string) =>
      s.replace(/\s+/g, " ").replace(/ ?\| ?/g, "|").replace(
        /:?-{3,}:?/g,
        (m) => m.endsWith(":") ? "-:" : "-",
      );
    for (const file of ["README.md", "reports/README.md"]) {
      const committed = await Deno.readTextFile(`${root}${file}`);
      await Deno.writeTextFile(`${dir}/${file}`, committed);
      const r = await cli([
        "results",
        "--profile",
        "cpu",
        "--reports-dir",
        `${dir}/reports`,
        "--write",
        `${dir}/${file}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        norm(await Deno.readTextFile(`${dir}/${file}`)),
        norm(committed),
        `${file} is not what the reports say: run deno task results --write ${file} (and deno fmt)`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
