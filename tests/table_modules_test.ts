/** Each table module's runs line up with the paper's rows: a mismatched row key cannot go unnoticed. */
import assert from "node:assert/strict";
import { PAPER_TABLE_MODULES, TABLES } from "../experiments/tables/mod.ts";
import { getProfile, PROFILES } from "../experiments/profiles.ts";
import { headRecallNote, teacherHeadOfRun } from "../experiments/tables/table5.ts";

Deno.test("table modules: every planned row is a row of the paper's table; every claimed row is planned", () => {
  for (const name of Object.keys(PROFILES)) {
    const profile = getProfile(name);
    for (const m of PAPER_TABLE_MODULES) {
      const plan = m.plan(profile);
      const paperRows = new Set(m.paper!.rows.map((r) => r.key));
      const planned = new Set(plan.rows.map((r) => r.key));
      for (const row of plan.rows) {
        // The random-init floor is the suite's own row (no paper number); a borrowed row is another table's.
        if (row.randomInit) continue;
        if (row.paperRow) {
          const other = PAPER_TABLE_MODULES.find((t) => t.id === row.paperRow!.table)!;
          assert.ok(
            other.paper!.rows.some((r) => r.key === row.paperRow!.key),
            `${name}/${m.id}: ${row.key}`,
          );
          continue;
        }
        const key = row.key;
        assert.ok(paperRows.has(key), `${name}/${m.id}: row ${key} is not in the paper`);
      }
      for (const c of m.paper!.claims) {
        const rows = c.kind === "best-in-group" ? c.rows : [c.a, c.b];
        const metricRows = plan.exactMetrics?.find((x) => x.key === c.metric)?.values;
        for (const r of rows) {
          assert.ok(
            planned.has(r) || (metricRows && r in metricRows),
            `${name}/${m.id}: claim ${c.id} row ${r}`,
          );
        }
      }
      assert.equal(plan.id, m.id);
    }
  }
  assert.deepEqual(Object.keys(TABLES), [
    ...PAPER_TABLE_MODULES.map((m) => m.id),
    "codevspaper",
    "teachers",
    "teachers-long",
  ]);
});

Deno.test("codevspaper says when per-epoch progress keeps MAM off and where the schedule stops", async () => {
  const { perEpochDeviations } = await import("../experiments/tables/codevspaper.ts");
  const [schedule, mam] = perEpochDeviations(4, [0, 0.5]);
  assert.match(schedule, /t ends at 0\.75 after 4 epochs/);
  assert.match(schedule, /hard share 0\.375 of the masked patches at the end instead of 0\.5/);
  assert.match(mam, /never runs at 4 epochs/);
  // t = 9/10 > 0.75 and 8/10 > 0.75: two of ten epochs.
  assert.match(perEpochDeviations(10, [0, 0.5])[1], /runs in 2 of 10 epochs/);
  const cpu = TABLES.codevspaper.plan(getProfile("cpu"));
  assert.ok(cpu.deviations?.some((d) => /never runs at 4 epochs/.test(d)), "the cpu report says so");
});

Deno.test("Table 6: each row's epochs follow the paper's column; the 'BEiT' row is labelled for what it is", () => {
  const cpu = TABLES.table6.plan(getProfile("cpu"));
  const scale = Object.fromEntries(cpu.rows.map((r) => [r.key, r.epochsScale ?? 1]));
  // Paper: BEiT 800, AMT 400, GPA 300 epochs against 200 for MAE, UM-MAE, HPM and GPA.
  assert.deepEqual(
    { beit: scale.beit, amt: scale.amt, "gpa-300": scale["gpa-300"], mae: scale.mae, hpm: scale.hpm },
    { beit: 4, amt: 2, "gpa-300": 1.5, mae: 1, hpm: 1 },
  );
  assert.equal(scale["um-mae"], 1);
  const beit = cpu.rows.find((r) => r.key === "beit")!;
  assert.match(beit.label, /^MAE with BEiT's block-wise mask \(75 %, pixel target; stands in for BEiT\)/);
  assert.ok(
    cpu.deviations.some((d) => /'BEiT' row: not BEiT .*about 40 %.*dVAE/.test(d)),
    "the deviation is listed",
  );
  assert.ok(
    cpu.deviations.some((d) =>
      /BEiT 16 \(paper 800\), AMT 8 \(400\), GPA 1\.5× 6 \(300\).*cost 4×, 2× and 1\.5×/.test(d)
    ),
    cpu.deviations.join("\n"),
  );
});

Deno.test("codevspaper: mam-late runs with the code's loss; differences no row switches are listed", () => {
  const cpu = TABLES.codevspaper.plan(getProfile("cpu"));
  const late = cpu.rows.find((r) => r.key === "mam-late")!;
  assert.deepEqual(late.request!.mam, { activeFrom: 0.75, lossOn: "all" });
  assert.ok(cpu.deviations.some((d) => /"mam-late" .*gives the encoder no MAM gradient/.test(d)));
  assert.ok(
    cpu.deviations.some((d) => /in an alternating way.*neither the authors' code nor the suite/.test(d)),
  );
  assert.ok(cpu.deviations.some((d) => /p²·3 values per patch.*averages them/.test(d)));
  assert.ok(cpu.deviations.some((d) => /^fine-tuning 4 epochs/.test(d)), "the recipe deviations too");
});

Deno.test("every report of the cpu and smoke profiles lists the recipe deviations found missing in Audit II", () => {
  for (const name of ["cpu", "smoke"]) {
    const profile = getProfile(name);
    for (const m of [...PAPER_TABLE_MODULES, TABLES.codevspaper]) {
      const d = m.plan(profile).deviations.join("\n");
      for (
        const want of [
          /fine-tuning RandAugment: none \(paper: rand-m9-mstd0\.5-inc1/,
          /fine-tuning warm-up \S+ of \d+ epochs \(paper: 5 of 100\)/,
          /pre-training decoder \d+-d × \d+ blocks, as wide as the encoder .*paper: 512-d × 8, narrower/,
          /pre-training warm-up is [\d.]+ % of the schedule .*paper: 10 %, 20 of 200/,
          /layer decay 0\.75 over \d blocks scales the patch embedding's learning rate by [\d.]+ \(paper: 0\.8 over 12 blocks, 0\.055\)/,
        ]
      ) assert.match(d, want, `${name}/${m.id}`);
    }
  }
  // The paper profile fine-tunes with MAE's RandAugment and lists none of these.
  assert.equal(getProfile("paper").finetune.randAugment, "rand-m9-mstd0.5-inc1");
  assert.ok(!TABLES.table1.plan(getProfile("paper")).deviations.some((d) => /RandAugment/.test(d)));
});

Deno.test("Table 4's hard-vs-soft claims read Table 3's α_s 0 → 0 rows with Table 3's own runs", async () => {
  const { paperEffect } = await import("../app/tables/mod.ts");
  for (const name of ["cpu", "smoke"]) {
    const profile = getProfile(name);
    const t4 = TABLES.table4.plan(profile), t3 = TABLES.table3.plan(profile);
    for (const a of ["0.75", "0.5", "0.9"]) {
      const borrowed = t4.rows.find((r) => r.key === `t3-a${a}-s0to0`)!;
      assert.deepEqual(borrowed.request, t3.rows.find((r) => r.key === `a${a}-s0to0`)!.request, "same runs");
      const claim = TABLES.table4.paper!.claims.find((c) => c.id === `t4-hard-matters-more-a${a}`)!;
      assert.deepEqual([claim.kind, (claim as { a: string }).a, (claim as { b: string }).b], [
        "greater",
        `t3-a${a}-s0to0`,
        `a${a}-h0to0`,
      ]);
    }
  }
  // The paper's differences: Table 3's random rows minus Table 4's soft rows.
  const plan = TABLES.table4.plan(getProfile("cpu"));
  const effect = (a: string) =>
    paperEffect(
      "table4",
      TABLES.table4.paper!.claims.find((c) => c.id === `t4-hard-matters-more-a${a}`)!,
      plan,
    );
  assert.ok(Math.abs(effect("0.75")! - (82.69 - 82.25)) < 1e-9);
  assert.ok(Math.abs(effect("0.5")! - (82.5 - 82.22)) < 1e-9);
  assert.ok(Math.abs(effect("0.9")! - (82.41 - 82.2)) < 1e-9);
});

Deno.test("Table 5 reads each run's teacher head as block.head; all heads of a block as block.99", () => {
  const head = (block: number, h: number) => teacherHeadOfRun({ strategy: { teacher: { block, head: h } } });
  assert.equal(head(9, 11), 9.11);
  assert.equal(head(0, 0), 0);
  // Head −1 (the sum over a block's heads) once read b3h-1 as 2.99: block 2, head 99.
  assert.equal(head(3, -1), 3.99);
  assert.equal(teacherHeadOfRun({ strategy: { name: "random" } }), null);
});

Deno.test("Table 5's note gives the held-out recall of each rule's head from the teacher's recall file", () => {
  const json = {
    images: 2500,
    maskRatio: 0.75,
    selectedHead: "b1h0",
    randomRecall: 0.75,
    centerRecall: 0.872,
    // [blocks][heads + 1]: the last column is all heads summed.
    matrix: [[0.71, 0.69, 0.7], [0.86, 0.81, 0.862]],
  };
  const note = headRecallNote(json, 2, 2)!;
  assert.match(note, /2500 val images, the top 75 % of patches/);
  assert.match(note, /random patches 0\.750, a centre prior 0\.872\)/);
  assert.match(note, /first head b0h0 0\.710, last head b1h1 0\.810, all heads of b1 0\.862, /);
  assert.match(note, /the head the profile's teacher selects, b1h0, 0\.860\./);
  // Another model's file (3 blocks, or 4 heads) or none: no note rather than a wrong one.
  assert.equal(headRecallNote(json, 3, 2), null);
  assert.equal(headRecallNote(json, 2, 4), null);
  assert.equal(headRecallNote({}, 2, 2), null);
  // A selected head of all heads reads the last column; a malformed one is left out, not a TypeError.
  assert.match(headRecallNote({ ...json, selectedHead: "b1h-1" }, 2, 2)!, /selects, b1h-1, 0\.862\./);
  const odd = headRecallNote({ ...json, selectedHead: "b1h-2", maskRatio: undefined }, 2, 2)!;
  assert.doesNotMatch(odd, /selects|NaN/);
  assert.match(odd, /the top \? % of patches/);
});
