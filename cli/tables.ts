/**
 * The table commands: table / all (with --jobs workers and --shard), plan.
 * @module
 */
import { GLOBAL_OPTIONS, int, parseCommandArgs, shard, str, UsageError, type Values } from "../lib/cli.ts";
import {
  checkOutputPath,
  context,
  dirOption,
  installSignalHandlers,
  print,
  PROJECT_ROOT,
  workers,
} from "./context.ts";
import type { RunContext } from "../app/runner.ts";
import type { TableModule, TablePlan } from "../experiments/tables/common.ts";
import { checkRowSelection } from "../app/tables/units.ts";

export const TABLE_OPTIONS = {
  seeds: { type: "string" },
  "seed-list": { type: "string" },
  "teacher-weights": { type: "string" },
  worker: { type: "boolean" },
  jobs: { type: "string" },
  shard: { type: "string" },
  "reports-dir": { type: "string" },
  rows: { type: "string" },
} as const;

/**
 * `table <id>` / `all` / `deno task tableN`: runs tables through the cache and writes their reports. `tables`
 * are the modules to run (`all`, a task script); null reads one table id from the arguments (`table <id>`).
 */
export async function cmdTables(tables: readonly TableModule[] | null, args: string[]) {
  const { values, positionals } = parseCommandArgs(
    tables && tables.length > 1 ? "all" : "table",
    args,
    TABLE_OPTIONS,
    { positionals: tables ? 0 : 1 },
  );
  const wanted = tables ?? await tablesNamed(positionals);
  const jobs = int(values, "jobs", 1, 1, 64)!;
  const sh = shard(values);
  const ctx = await context(values);
  // Each table's plan for this profile, built once for every check and run below.
  const plans = wanted.map((t) => ({ table: t, plan: t.plan(ctx.profile) }));
  const rows = rowSelection(values, plans.map((p) => p.plan), wanted.length > 1);
  const seeds = tableSeeds(values, ctx.profile.seeds);
  const reportsDir = dirOption(values, "reports-dir") ?? `${PROJECT_ROOT}/reports`;
  await checkOutputPath("reports-dir", reportsDir, "dir"); // before the runs, not when the report is due
  await checkTableTeacher(ctx, plans.map((p) => p.plan), rows);
  installSignalHandlers(ctx.stopSignal);
  const { runTable } = await import("../app/tables/mod.ts");
  const out: Record<string, unknown> = {};
  for (const { table, plan } of plans) {
    const id = table.id;
    const r = await runTable(ctx, plan, {
      seeds,
      jobs,
      shard: sh,
      reportsDir,
      rows,
      claim: values.worker === true,
      spawnWorker: (w) => spawnWorker(id, values, seeds, w),
    });
    if (r) {
      ctx.log(`${id}: wrote ${r.markdown}`);
      stoppedAfter(ctx, `${id}'s report was written`);
      out[id] = { markdown: r.markdown, json: r.json, units: r.results.length };
    } else {
      out[id] = { shard: sh, done: true };
    }
  }
  // Tables whose reports link the paper's figures (their modules say which) get them rendered from the same
  // teacher. Workers (--worker) and shards write neither reports nor figures: the coordinating call does.
  if (!sh && values.worker !== true && plans.some((p) => (p.plan.figures ?? []).length > 0)) {
    const { renderFigures } = await import("../app/figures.ts");
    out.figures = await renderFigures(ctx, reportsDir);
    // A signal while the figures rendered: they finish (each file is whole), but the call exits 130.
    stoppedAfter(ctx, "the reports and figures were written");
  }
  // Human mode ends with sentences, not JSON.
  const lines = Object.entries(out).map(([k, v]) => {
    const r = v as { markdown?: string; units?: number; shard?: unknown };
    if (k === "figures") {
      const figs = Object.entries(v as Record<string, string>);
      return `figures: ${figs.filter(([, p]) => !p.startsWith("not rendered")).length} written under ` +
        `${reportsDir}/${ctx.profile.name}/figures` +
        figs.filter(([, p]) => p.startsWith("not rendered")).map(([n, p]) => `; ${n} ${p}`).join("");
    }
    if (r.markdown) return `${k}: wrote ${r.markdown} and its .json (${r.units} row × seed units)`;
    return `${k}: this shard's runs are done; a call without --shard writes the report`;
  });
  print(values, out, lines.join("\n"));
}

/**
 * Ends a table call that was asked to stop (SIGINT/SIGTERM) at a point where nothing more is to be trained:
 * exit 130 (interrupted; rerunning finishes what is left), never 0 as if it had not been interrupted.
 */
function stoppedAfter(ctx: RunContext, done: string): void {
  if (!ctx.stopSignal.stopped) return;
  const e = new Error(`stopped after ${done}; rerun the same command to finish (all cached runs are hits)`);
  e.name = "InterruptedError";
  throw e;
}

/**
 * A table whose rows need the GPA teacher checks its weights file — readable, whole, of the profile's model,
 * finite, and its card's bytes where a card is beside it — before anything is trained (not after every MAE
 * seed).
 */
async function checkTableTeacher(ctx: RunContext, plans: readonly TablePlan[], rows: string[] | undefined) {
  const path = ctx.profile.gpa.teacher.weightsPath;
  if (!path) return;
  const { checkTeacherWeights } = await import("../app/teacher.ts");
  const { strategyNeedsTeacher } = await import("../app/strategies.ts");
  const needs = plans.some((plan) =>
    plan.rows.some((r) =>
      (!rows || rows.includes(r.key)) && r.request !== undefined && strategyNeedsTeacher(r.request.name)
    )
  );
  if (!needs) return;
  await checkTeacherWeights(ctx.profile.gpa.teacher); // "not found", with where to get it
  const { verifyTeacherWeights } = await import("../app/teacher_weights.ts");
  await verifyTeacherWeights(path, ctx.profile.model);
}

/** The table modules `table <id>` names (`4` or `table4`, `teachers`); a usage error for any other name. */
async function tablesNamed(positionals: string[]): Promise<TableModule[]> {
  const { TABLES, TABLE_IDS } = await import("../experiments/tables/mod.ts");
  const ids = positionals.map((p) => (/^\d+$/.test(p) ? `table${p}` : p));
  if (ids.length === 0) throw new UsageError(`table: which table? one of ${TABLE_IDS.join(", ")}`);
  return ids.map((id) => {
    if (!Object.hasOwn(TABLES, id)) {
      throw new UsageError(`unknown table '${id}'; valid: ${TABLE_IDS.join(", ")}`);
    }
    return TABLES[id];
  });
}

/**
 * `--rows a,b`: the rows of one table that a call trains (checked against its plan); undefined when absent.
 */
function rowSelection(values: Values, plans: readonly TablePlan[], all: boolean): string[] | undefined {
  const text = str(values, "rows");
  if (text === undefined) return undefined;
  if (all || plans.length !== 1) {
    throw new UsageError("--rows names one table's rows: give it with one table");
  }
  const rows = text.split(",").map((x) => x.trim());
  if (rows.some((x) => x === "") || new Set(rows).size !== rows.length) {
    throw new UsageError(`--rows must name distinct rows separated by commas (e.g. mae,gpa); got '${text}'`);
  }
  const error = checkRowSelection(plans[0], rows);
  if (error) throw new UsageError(error);
  return rows;
}

/**
 * The seeds of a table call: `--seed-list 3,7` (as given), `--seeds N` (0..N−1), `--seed S` (the profile's
 * seeds were set to [S]), or the profile's.
 */
export function tableSeeds(values: Values, profileSeeds: readonly number[]): number[] {
  const list = str(values, "seed-list");
  if (list !== undefined) {
    if (values.seeds !== undefined || values.seed !== undefined) {
      throw new UsageError("--seed-list names the seeds itself: give it without --seeds or --seed");
    }
    const texts = list.split(",").map((x) => x.trim());
    const seeds = texts.map(Number);
    // Seeds as numbers ("0" and "00" are one seed), within --seed's range (larger ones would wrap onto
    // another seed's random stream), at most 100 like --seeds.
    if (
      texts.some((x) => !/^\d+$/.test(x)) || seeds.some((x) => x > 2 ** 31 - 1) ||
      new Set(seeds).size !== seeds.length || seeds.length > 100
    ) {
      throw new UsageError(
        `--seed-list must be up to 100 distinct integers in [0, ${2 ** 31 - 1}] like 0,3,7; got '${list}'`,
      );
    }
    return seeds;
  }
  const n = int(values, "seeds", undefined, 1, 100);
  return n ? Array.from({ length: n }, (_, i) => i) : [...profileSeeds];
}

/**
 * The command line of a `--jobs` worker: the table, worker mode, the seeds, and every global and table option
 * of this invocation (profile, backend, directories, teacher weights, quiet, …) — a worker must run exactly
 * the runs its coordinator would, and write where it would.
 */
export function workerArgs(id: string, values: Values, seeds: readonly number[]): string[] {
  // The exact seed list, so that a worker runs the coordinator's units whatever --seed/--seeds said.
  const args = [
    "run",
    "-A",
    `${PROJECT_ROOT}/main.ts`,
    "table",
    id,
    "--worker",
    "--seed-list",
    seeds.join(","),
    // A worker never spawns workers (worker mode claims units instead); --jobs tells it how many share them.
    ...(values.jobs !== undefined ? ["--jobs", String(values.jobs)] : []),
  ];
  const skip = new Set(["seeds", "seed-list", "seed", "worker", "jobs", "shard", "json", "help"]);
  for (const k of Object.keys({ ...GLOBAL_OPTIONS, ...TABLE_OPTIONS })) {
    const v = values[k];
    if (skip.has(k) || v === undefined || v === false) continue;
    if (v === true) args.push(`--${k}`);
    else args.push(`--${k}`, String(v));
  }
  return args;
}

/** Starts this CLI as a `--jobs` worker of a table (units claimed dynamically); resolves to its exit code. */
export async function spawnWorker(id: string, values: Values, seeds: readonly number[], _worker: number) {
  const args = workerArgs(id, values, seeds);
  const child = new Deno.Command(Deno.execPath(), { args, stdin: "null", stdout: "null", stderr: "inherit" })
    .spawn();
  workers.add(child);
  try {
    return (await child.status).code;
  } finally {
    workers.delete(child);
  }
}

/** `plan`: every run a table needs, with its hash and cache status. */
export async function cmdPlan(args: string[]) {
  const { values, positionals } = parseCommandArgs("plan", args, {
    ...TABLE_OPTIONS,
    table: { type: "string" },
  }, {
    positionals: 1,
  });
  const ctx = await context(values);
  const { TABLE_IDS, TABLES } = await import("../experiments/tables/mod.ts");
  const flagged = str(values, "table");
  if (flagged !== undefined && positionals[0] !== undefined) {
    throw new UsageError(
      `plan: the table is given twice ('${positionals[0]}' and --table ${flagged}); give it once`,
    );
  }
  const t = flagged ?? positionals[0];
  if (!t) throw new UsageError(`plan: give --table N (one of ${TABLE_IDS.join(", ")})`);
  const id = /^\d+$/.test(t) ? `table${t}` : t;
  if (!Object.hasOwn(TABLES, id)) {
    throw new UsageError(`unknown table '${t}'; valid: ${TABLE_IDS.join(", ")}`);
  }
  const seeds = tableSeeds(values, ctx.profile.seeds);
  const tablePlan = TABLES[id].plan(ctx.profile);
  const rowKeys = rowSelection(values, [tablePlan], false);
  const selected = rowKeys
    ? { ...tablePlan, rows: tablePlan.rows.filter((r) => rowKeys.includes(r.key)) }
    : tablePlan;
  const { planTable, planEstimate } = await import("../app/tables/plan.ts");
  const { formatEstimate } = await import("../app/tables/estimate.ts");
  const rows = await planTable(ctx, selected, seeds, shard(values));
  const est = planEstimate(ctx.profile, rows);
  const summary = rows.every((r) => r.status === "not-run")
    ? "no row of this table can run on this profile (see each row's reason)"
    : est.pending === 0
    ? "every unit is cached: the report is a cache hit"
    : est.estimated === 0
    ? `${est.pending} units to run; no measured throughput for profile ${ctx.profile.name}, so no estimate`
    : rows.some((r) => r.waitingFor === "data")
    ? `${est.pending} units to run once the data is there (${ctx.profile.dataset.name}: see docs/datasets.md)`
    : `${est.pending} units to run${
      est.estimated < est.pending ? ` (${est.estimated} with an estimate)` : ""
    }: ` +
      `≈ ${formatEstimate(est.computeSeconds)} of compute${
        est.teacherSeconds ? ` (teacher ${formatEstimate(est.teacherSeconds)})` : ""
      }, ≈ ${formatEstimate(est.computeSeconds / 2)} with --jobs 2 (throughput measured on ${est.measured})`;
  print(
    values,
    { table: id, profile: ctx.profile.name, units: rows, estimate: est },
    rows.map((r) =>
      `${r.row.padEnd(22)} seed ${r.seed}  ${r.status.padEnd(9)} pretrain ${
        r.pretrainHash ??
          (r.randomInit
            ? "none (random init)"
            : r.status === "not-run"
            ? "—"
            : `(after ${r.waitingFor ?? "teacher"})`)
      }${r.evalHash ? ` eval ${r.evalHash}` : ""}` +
      (r.shares
        ? `  soft/hard/random ${r.shares.t0.soft}/${r.shares.t0.hard}/${r.shares.t0.random} → ` +
          `${r.shares.t1.soft}/${r.shares.t1.hard}/${r.shares.t1.random}`
        : "") +
      (r.notRun ? `  not run: ${r.notRun}` : "")
    ).join("\n") + `\n${summary}`,
  );
}
