import assert from "node:assert/strict";
import {
  claimRows,
  PAPER_TABLES,
  paperClaim,
  paperRow,
  type PaperTable,
  paperTable,
  paperValue,
  type TableId,
} from "../experiments/paper.ts";

function close(actual: number | null, expected: number, eps = 1e-9): void {
  assert(actual !== null && Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);
}

Deno.test("paper: ten tables in order with unique ids", () => {
  assert.deepEqual(PAPER_TABLES.map((t) => t.number), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(new Set(PAPER_TABLES.map((t) => t.id)).size, 10);
});

Deno.test("paper: row counts per table", () => {
  const counts: Record<TableId, number> = {
    table1: 3,
    table2: 3,
    table3: 10,
    table4: 10,
    table5: 6,
    table6: 10,
    table7: 4,
    table8: 6,
    table9: 3,
    table10: 8, // 4 printed rows × (baseline, GPA)
  };
  for (const table of PAPER_TABLES) assert.deepEqual(table.rows.length, counts[table.id], table.id);
});

Deno.test("paper: spot values of every table", () => {
  // Table 1
  close(paperValue("table1", "mae", "finetune"), 82.23);
  close(paperValue("table1", "gpa-teacher", "finetune"), 82.73);
  close(paperValue("table1", "gpa-teacher-feature", "finetune"), 83.22);
  assert.deepEqual(paperRow("table1", "gpa-teacher").cells.feature, false);
  // Table 2
  close(paperValue("table2", "mae", "apBox"), 33.0);
  close(paperValue("table2", "gpa-teacher", "apMask"), 30.1);
  close(paperValue("table2", "gpa-teacher-feature", "miou"), 44.3);
  // Table 3
  close(paperValue("table3", "a0.75-s0to0", "finetune"), 82.69);
  close(paperValue("table3", "a0.9-s0.5to0", "finetune"), 82.51);
  close(paperValue("table3", "a0.5-s1to1", "finetune"), 82.53);
  assert.deepEqual(paperRow("table3", "a0.75-s1to0").printedDelta?.finetune, null);
  // Table 4
  close(paperValue("table4", "a0.75-h0to0", "finetune"), 82.25);
  close(paperValue("table4", "a0.9-h0to1", "finetune"), 81.82);
  close(paperValue("table4", "a0.75-h1to1", "finetune"), 82.27);
  // Table 5
  close(paperValue("table5", "first", "finetune"), 82.31);
  close(paperValue("table5", "shots1", "finetune"), 82.68);
  assert.deepEqual(paperRow("table5", "shots10").cells.head, "b9h11");
  assert.deepEqual(paperRow("table5", "last").cells.head, "b11h11");
  // Table 6
  close(paperValue("table6", "hpm", "finetune"), 83.0);
  close(paperValue("table6", "gpa-300", "finetune"), 83.4);
  assert.deepEqual(paperRow("table6", "beit").cells.epochs, 800);
  assert.deepEqual(paperRow("table6", "milan").cells.epochs, 400);
  // Table 7
  close(paperValue("table7", "cae", "linprobe"), 64.1);
  close(paperValue("table7", "gpa", "linprobe"), 64.9);
  // Table 8
  close(paperValue("table8", "semmae", "miou"), 46.3);
  close(paperValue("table8", "mocov3", "miou"), 47.3);
  // Table 9
  close(paperValue("table9", "hpm", "flops"), 1.3);
  close(paperValue("table9", "hpm", "params"), 1.2);
  close(paperValue("table9", "gpa", "linprobe"), 64.9);
  // Table 10
  close(paperValue("table10", "convmae-s/baseline", "acc"), 80.0);
  close(paperValue("table10", "ibot-b/gpa", "acc"), 48.4);
  assert.deepEqual(paperRow("table10", "cae-s/gpa").cells.epochs, 50);
});

Deno.test("paper: values repeated across tables agree", () => {
  close(paperValue("table9", "gpa", "linprobe"), paperValue("table7", "gpa", "linprobe")!);
  close(paperValue("table9", "hpm", "finetune"), paperValue("table6", "hpm", "finetune")!);
  close(paperValue("table10", "mae-b/gpa", "acc"), 82.7);
  // The default setting (α 0.75, soft 0.5→0, hard 0→0.5, head b9h11) is 82.73 in Tables 1, 3, 4 and 5.
  for (const [id, key] of [["table3", "a0.75-s0.5to0"], ["table4", "a0.75-h0to0.5"], ["table5", "shots10"]]) {
    close(paperValue(id as TableId, key, "finetune"), 82.73);
    assert(paperRow(id as TableId, key).paperDefault, `${id}/${key} is the default`);
  }
});

Deno.test("paper: printed deltas match the values against the group baseline", () => {
  let checked = 0;
  for (const table of PAPER_TABLES) {
    for (const row of table.rows) {
      if (!row.printedDelta) continue;
      const group = table.groups.find((g) => g.rows.includes(row.key));
      const baseline = group?.baseline;
      assert(baseline, `${table.id}/${row.key} has a group baseline`);
      for (const [metric, printed] of Object.entries(row.printedDelta)) {
        const delta = paperValue(table.id, row.key, metric)! - paperValue(table.id, baseline, metric)!;
        // A printed "(-)" (null) stands for no change.
        close(delta, printed ?? 0, 1e-6);
        checked++;
      }
    }
  }
  assert.deepEqual(checked, 1 * 2 + 3 * 2 + 7 + 7 + 4);
});

function checkStructure(table: PaperTable): void {
  const keys = table.rows.map((r) => r.key);
  assert.deepEqual(new Set(keys).size, keys.length, `${table.id}: unique row keys`);
  const columnKeys = new Set(table.columns.map((c) => c.key));
  for (const row of table.rows) {
    assert.deepEqual(
      new Set(Object.keys(row.cells)),
      columnKeys,
      `${table.id}/${row.key}: one cell per column`,
    );
    for (const column of table.columns) {
      const cell = row.cells[column.key];
      if (column.type === "number") assert(cell === null || typeof cell === "number");
      if (column.type === "flag") assert(typeof cell === "boolean");
      if (column.type === "text") assert(typeof cell === "string");
    }
  }
  if (table.baseline !== null) assert(keys.includes(table.baseline), `${table.id}: baseline exists`);
  const grouped = table.groups.flatMap((g) => g.rows);
  assert.deepEqual([...grouped].sort(), [...keys].sort(), `${table.id}: groups partition the rows`);
  for (const g of table.groups) assert(g.baseline === null || g.rows.includes(g.baseline));
  assert(table.claims.length > 0, `${table.id}: has claims`);
  assert(table.caption.length > 10 && table.paperColumns.length >= 2);
}

Deno.test("paper: structure — cells, baselines, groups", () => {
  for (const table of PAPER_TABLES) checkStructure(table);
});

Deno.test("paper: every claim refers to existing rows and metric columns, and holds on the paper's numbers", () => {
  const ids = new Set<string>();
  for (const table of PAPER_TABLES) {
    // Claims may read rows another table holds (Table 4's hard-vs-soft claims read Table 3's).
    const rowKeys = new Set([...table.rows.map((r) => r.key), ...Object.keys(table.borrowedRows ?? {})]);
    for (const claim of table.claims) {
      assert(!ids.has(claim.id), `duplicate claim id ${claim.id}`);
      ids.add(claim.id);
      const column = table.columns.find((c) => c.key === claim.metric);
      assert(column?.metric, `${claim.id}: metric ${claim.metric} is a metric column of ${table.id}`);
      for (const key of claimRows(claim)) assert(rowKeys.has(key), `${claim.id}: row ${key} exists`);
      const v = (key: string) => paperValue(table.id, key, claim.metric)!;
      if (claim.kind === "greater") assert(v(claim.a) > v(claim.b), `${claim.id} holds on paper values`);
      if (claim.kind === "equal") assert(Math.abs(v(claim.a) - v(claim.b)) <= claim.tolerance, claim.id);
      if (claim.kind === "best-in-group") {
        assert(claim.rows.includes(claim.best), `${claim.id}: best is in its group`);
        for (const other of claim.rows) {
          if (other !== claim.best) assert(v(claim.best) > v(other), `${claim.id}: ${claim.best} > ${other}`);
        }
      }
    }
  }
  assert(ids.size >= 25, `expected at least 25 claims, got ${ids.size}`);
  assert.deepEqual(paperClaim("t1-teacher-beats-mae").table.id, "table1");
  assert.deepEqual(paperClaim("t4-hard-half-best-a0.9").claim.kind, "best-in-group");
});

Deno.test("paper: lookups throw on unknown ids", () => {
  assert.throws(() => paperTable("table11" as TableId));
  assert.throws(() => paperRow("table1", "nope"));
  assert.throws(() => paperValue("table1", "mae", "model"));
  assert.throws(() => paperClaim("nope"));
});
