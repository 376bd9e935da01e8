/**
 * Commands that look at the machine, the data, the cache and the reports: doctor, data, runs, export, bench,
 * results.
 * @module
 */
import { parseCommandArgs, pathOption, str, UsageError, type Values } from "../lib/cli.ts";
import { RUN_HASH_PATTERN } from "../lib/cache/hash.ts";
import { CorruptFileError } from "../lib/fsutil.ts";
import type { ReportJson } from "../lib/report/summary.ts";
import type { ProseReportJson } from "../lib/report/prose.ts";
import type { StatusReportJson } from "../lib/report/status.ts";
import { checkOutputPath, context, print, PROJECT_ROOT } from "./context.ts";
import { DISCUSSION_PREFIX } from "../lib/report/report_model.ts";

export async function cmdDoctor(args: string[]) {
  const { values } = parseCommandArgs("doctor", args);
  const ctx = await context(values);
  const { cacheSummary } = await import("../lib/cache/mod.ts");
  const denoJson = JSON.parse(await Deno.readTextFile(`${PROJECT_ROOT}/deno.json`));
  const report = {
    deno: Deno.version,
    backend: { active: ctx.backend, reasons: ctx.backendReasons },
    packages: denoJson.imports,
    cache: { dir: ctx.cacheDir, ...(await cacheSummary(ctx.cacheDir)) },
    datasets: await findDatasets(ctx.dataDir),
  };
  const lines = [
    `deno ${report.deno.deno} (v8 ${report.deno.v8}, typescript ${report.deno.typescript})`,
    `backend: ${ctx.backend}`,
    ...ctx.backendReasons.map((r) => `  - ${r}`),
    `packages:`,
    ...Object.entries(report.packages).map(([k, v]) => `  ${k}: ${v}`),
    `cache: ${report.cache.dir} — ${report.cache.runs} runs (${report.cache.completeRuns} complete), ` +
    `${(report.cache.bytes / 2 ** 20).toFixed(1)} MiB`,
    `datasets:`,
    ...Object.entries(report.datasets).map(([k, v]) => `  ${k}: ${v ?? "not found"}`),
  ];
  print(values, report, lines.join("\n"));
}

/**
 * `data`: gets the profile's dataset ready — downloaded when it is not here, decoded and packed into the
 * cache — and prints what the runs will read (counts, classes, fingerprint). `plan` reads only the
 * fingerprint, so on a fresh machine this is the step that makes a plan's hashes known.
 */
export async function cmdData(args: string[]) {
  const { values } = parseCommandArgs("data", args);
  const ctx = await context(values);
  const { profileData } = await import("../app/runner.ts");
  const { train, val } = await profileData(ctx);
  const summary = (name: string, t: typeof train, v: typeof val, resolution: number) => ({
    dataset: name,
    resolution,
    train: { count: t.count, classes: t.numClasses },
    val: { count: v.count, classes: v.numClasses },
    fingerprint: t.fingerprint ?? null,
  });
  const report: Record<string, unknown> = {
    profile: ctx.profile.name,
    ...summary(ctx.profile.dataset.name, train, val, ctx.profile.dataset.resolution),
  };
  // Tables 2 and 8 segment with the profile's segmentation data (CamVid on cpu): get it ready too.
  const { SEGMENTATION_SETUPS } = await import("../experiments/segmentation.ts");
  const seg = SEGMENTATION_SETUPS[ctx.profile.name]?.dataset;
  if (seg && seg.name !== "synthetic") {
    const { segmentationData } = await import("../app/segment.ts");
    const s = await segmentationData(ctx);
    report.segmentation = summary(seg.name, s.train, s.val, seg.resolution);
  }
  const line = (r: ReturnType<typeof summary>) =>
    `${r.dataset}: ${r.train.count} train + ${r.val.count} val images, ${r.train.classes} classes, ` +
    `${r.resolution} px; fingerprint ${r.fingerprint ?? "(generated data)"}`;
  print(
    values,
    report,
    [
      `profile ${ctx.profile.name}: ${line(report as ReturnType<typeof summary>)}`,
      ...(report.segmentation
        ? [`segmentation: ${line(report.segmentation as ReturnType<typeof summary>)}`]
        : []),
    ].join("\n"),
  );
}

/** Which dataset archives or extracted folders the data layer would read, per dataset. */
export async function findDatasets(dataDir?: string): Promise<Record<string, string | null>> {
  const { locateDataset } = await import("../lib/data/mod.ts");
  const out: Record<string, string | null> = {};
  for (const ds of ["tiny-imagenet", "cifar10", "camvid"] as const) {
    out[ds] = (await locateDataset(ds, { dataDir, projectRoot: PROJECT_ROOT }))?.path ?? null;
  }
  out.synthetic = "built in";
  return out;
}

/** `runs` / `runs show HASH`: the cached runs. */
export async function cmdRuns(args: string[]) {
  const { values, positionals } = parseCommandArgs("runs", args, {}, { positionals: 2 });
  const ctx = await context(values);
  const { listRuns } = await import("../lib/runs.ts");
  const runs = await listRuns(ctx.cacheDir);
  if (positionals[0] === "show") {
    const hash = positionals[1];
    if (!hash) throw new UsageError("runs show: give a run's hash (runs show HASH; `runs` lists them)");
    const run = runs.find((r) => r.hash === hash);
    if (!run) throw new UsageError(`runs show: no run '${hash}' in ${ctx.cacheDir}`);
    print(values, run, JSON.stringify(run, null, 2));
    return;
  }
  if (positionals.length > 0) {
    throw new UsageError(`runs: unexpected '${positionals[0]}' (runs | runs show HASH)`);
  }
  print(
    values,
    runs,
    runs.length === 0 ? `no runs in ${ctx.cacheDir}` : runs.map((r) =>
      [
        r.hash,
        r.kind.padEnd(9),
        (r.strategy ?? "").padEnd(14),
        `seed ${r.seed ?? "?"}`.padEnd(8),
        `${r.epochs ?? "?"} ep`.padEnd(7),
        r.status.padEnd(8),
        Object.entries(r.keyMetrics).map(([k, v]) => `${k} ${v}`).join(", "),
      ].join("  ")
    ).join("\n"),
  );
}

/** `export HASH --out FILE`: a cached run's encoder as a timm/MAE safetensors file. */
export async function cmdExport(args: string[]) {
  const { values, positionals } = parseCommandArgs("export", args, { out: { type: "string" } }, {
    positionals: 1,
  });
  const hash = positionals[0];
  if (!hash || !RUN_HASH_PATTERN.test(hash)) throw new UsageError("export: give a run hash (16 hex digits)");
  const out = pathOption(values, "out");
  if (out === undefined) throw new UsageError("export: give --out FILE.safetensors");
  await checkOutputPath("out", out, "file", { parentMustExist: true });
  const ctx = await context(values);
  const { exportEncoder, NotExportableError } = await import("../lib/export.ts");
  const { runCache } = await import("../app/runner.ts");
  // An unknown, unfinished or non-pre-training HASH is a mistake in what was asked: exit 2.
  const r = await exportEncoder(runCache(ctx), hash, out).catch((e) => {
    throw e instanceof NotExportableError ? new UsageError(e.message) : e;
  });
  print(
    values,
    r,
    `wrote ${r.path}: encoder of run ${r.run} in timm layout (${r.tensors} tensors, ${r.bytes} bytes, sha256 ${r.sha256})`,
  );
}

export async function cmdBench(args: string[]) {
  const { runBenchCommand } = await import("../bench/mod.ts");
  await runBenchCommand(args, { context });
}

/**
 * `results`: one line per claim of a profile's reports (reports/<profile>/table*.json, codevspaper.json) —
 * the front page's results table, then the prose numbers (each table's rows against their baseline, post-hoc
 * pairwise differences with Holm's correction); `--write FILE` puts them between the results and prose markers
 * of FILE, and a status line per table (rows run, claims, engines, compute, what is left) between its status
 * markers — each block where FILE has its markers.
 * `results --rejudge FILE.json…`: recomputes the verdicts of those reports from their recorded per-seed
 * values with this code's statistics and rewrites each report's .json and .md (every file is read and
 * checked before any is written); claims and profile deviations added since the report was written are
 * added (claims on rows it lacks read "not run"), and `--note TEXT` adds a note.
 */
export async function cmdResults(args: string[]) {
  const { values, positionals } = parseCommandArgs("results", args, {
    "reports-dir": { type: "string" },
    write: { type: "string" },
    rejudge: { type: "boolean" },
    "add-row": { type: "string" },
    from: { type: "string" },
    note: { type: "string" },
  }, { positionals: 1000 });
  if (values.rejudge) return await rejudgeReports(values, positionals);
  for (const flag of ["note", "add-row", "from"]) {
    if (values[flag] !== undefined) throw new UsageError(`results: --${flag} applies only with --rejudge`);
  }
  if (positionals.length > 0) {
    throw new UsageError(`results: unexpected argument '${positionals[0]}' (report files go with --rejudge)`);
  }
  const { getProfile, UnknownProfileError } = await import("../experiments/profiles.ts");
  const profile = str(values, "profile", "cpu")!;
  try {
    getProfile(profile);
  } catch (e) {
    throw e instanceof UnknownProfileError ? new UsageError(e.message) : e;
  }
  const { dirOption } = await import("./context.ts");
  const reportsDir = dirOption(values, "reports-dir") ?? `${PROJECT_ROOT}/reports`;
  const { TABLE_IDS } = await import("../experiments/tables/mod.ts");
  const { RESULTS_MARKERS, resultsSummary, replaceBetweenMarkers } = await import("../lib/report/summary.ts");
  const write = pathOption(values, "write");
  if (write !== undefined) {
    const st = await Deno.stat(write).catch(() => null);
    if (!st?.isFile) {
      throw new UsageError(
        `--write ${write}: ${st ? "is not a file" : "no such file"} (it must hold a block's marker lines)`,
      );
    }
  }
  const { dirname, relative, resolve } = await import("node:path");
  const reports: { file: string; report: ReportJson }[] = [];
  for (const id of TABLE_IDS) {
    const path = `${reportsDir}/${profile}/${id}.json`;
    const text = await Deno.readTextFile(path).catch((e) => {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    });
    if (text === null) continue;
    // Links are relative to the file written into (else to the project root).
    const base = write ? dirname(resolve(write)) : PROJECT_ROOT;
    const file = relative(base, resolve(path.replace(/\.json$/, ".md")));
    const report = parseReport(path, text);
    // A report of the right outline whose verdicts still cannot be summarised is named, not a TypeError.
    try {
      resultsSummary([{ file, report }]);
    } catch (e) {
      throw new CorruptFileError(path, `not a table report this code can read (${(e as Error).message})`);
    }
    reports.push({ file, report });
  }
  if (reports.length === 0) throw new UsageError(`no reports under ${reportsDir}/${profile}/`);
  // The paper's tables with no report yet are listed too (the summary shows every table), each with the
  // claims its report would judge at this profile.
  const { PAPER_TABLE_MODULES } = await import("../experiments/tables/mod.ts");
  const { judgedMetrics } = await import("../app/tables/report.ts");
  const profileSpec = getProfile(profile);
  const missing = PAPER_TABLE_MODULES.filter((t) => !reports.some((r) => r.report.header.tableId === t.id))
    .map((t) => {
      const judged = judgedMetrics(t.plan(profileSpec));
      return {
        id: t.id,
        claims: (t.paper?.claims ?? []).filter((c) => judged.has(c.metric)).length,
        command: `deno task ${t.id} --profile ${profile}`,
        plan: `deno task plan ${t.id} --profile ${profile}`,
      };
    });
  const table = resultsSummary(reports, { missing });
  // The prose numbers come from the same reports (paired differences, post hoc with Holm).
  const { PROSE_MARKERS, resultsProse } = await import("../lib/report/prose.ts");
  const prose = resultsProse(
    reports.map((r) => ({ file: r.file, report: r.report as unknown as ProseReportJson })),
  );
  if (write) {
    const { atomicWriteFiles } = await import("../lib/fsutil.ts");
    const { STATUS_MARKERS, statusTable } = await import("../lib/report/status.ts");
    // Each block is written where the file has its markers (the front page: results and prose; the reports'
    // README: the status table); a file with none of them is a usage error.
    const blocks: [readonly [string, string], string][] = [
      [RESULTS_MARKERS, table],
      [PROSE_MARKERS, prose],
      [STATUS_MARKERS, statusTable(reports as { file: string; report: StatusReportJson }[], { missing })],
    ];
    let content = await Deno.readTextFile(write);
    const present = blocks.filter(([m]) => content.includes(m[0]));
    if (present.length === 0) {
      throw new UsageError(
        `--write ${write}: none of the marker pairs ${blocks.map(([m]) => m[0]).join(", ")} found; add the ` +
          "two marker lines of a block where it goes",
      );
    }
    try {
      for (const [markers, inner] of present) content = replaceBetweenMarkers(content, inner, markers);
    } catch (e) {
      throw new UsageError(
        `--write ${write}: ${(e as Error).message}; add the two marker lines where it goes`,
      );
    }
    await atomicWriteFiles([{ path: write, content }]);
    console.error(`results of ${reports.length} report(s) written into ${write}`);
    return;
  }
  print(
    values,
    [
      ...reports.map((r) => ({ file: r.file, verdicts: r.report.verdicts.length })),
      ...missing.map((m) => ({ file: null, table: m.id, verdicts: 0, claims: m.claims, command: m.command })),
    ],
    `${table}\n\n${prose}`,
  );
}

/**
 * A report's .json as `results` reads it: JSON (empty, garbage: named), an object with a header (`tableId`,
 * `seeds`) and a list of verdicts. Throws `CorruptFileError` (exit 1) naming the file and what is wrong.
 */
function parseReport(path: string, text: string): ReportJson {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CorruptFileError(
      path,
      text.trim() === ""
        ? "empty, not a report"
        : `not JSON (${(e as Error).message}); rewrite it with its table's command`,
    );
  }
  const r = json as {
    header?: { tableId?: unknown; seeds?: unknown };
    verdicts?: unknown;
    metrics?: unknown;
  };
  const isObj = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null;
  // Each metric block: its metric's label and rows with their per-seed values (the prose and status read them).
  const badBlock = (b: unknown) =>
    !isObj(b) || !isObj(b.metric) || typeof b.metric.label !== "string" || !Array.isArray(b.rows) ||
    b.rows.some((row) => !isObj(row) || typeof row.key !== "string" || !Array.isArray(row.perSeed));
  const problem = json === null || typeof json !== "object" || Array.isArray(json)
    ? "not a JSON object"
    : typeof r.header !== "object" || r.header === null
    ? "no header"
    : typeof r.header.tableId !== "string"
    ? "no header.tableId"
    : !Array.isArray(r.header.seeds)
    ? "no header.seeds list"
    : !Array.isArray(r.verdicts) || r.verdicts.some((v) => v === null || typeof v !== "object")
    ? "no list of verdicts"
    : !Array.isArray(r.metrics) || r.metrics.some(badBlock)
    ? "no list of metric blocks (each a metric with a label and rows with per-seed values)"
    : null;
  if (problem) {
    throw new CorruptFileError(path, `${problem}: not a table report; rewrite it with its table's command`);
  }
  return json as ReportJson;
}

/** The short commit of HEAD, marked when lib/report/ (the statistics) differs from it; "unknown" without git. */
async function statisticsCommit(): Promise<string> {
  const git = async (args: string[]) => {
    const out = await new Deno.Command("git", { args, cwd: PROJECT_ROOT, stdout: "piped", stderr: "null" })
      .output().catch(() => null);
    return out ? { code: out.code, text: new TextDecoder().decode(out.stdout).trim() } : null;
  };
  const head = await git(["rev-parse", "--short", "HEAD"]);
  if (!head || head.code !== 0) return "unknown";
  const dirty = await git(["status", "--porcelain", "--", "lib/report"]);
  return dirty && dirty.text !== "" ? `${head.text} (with uncommitted changes to lib/report/)` : head.text;
}

/**
 * `--add-row KEY --from OTHER.json` (with `--rejudge` and one report): the transform that copies row KEY's
 * values and runs from OTHER.json, checked against the evaluation hashes the report's own table plans for it
 * (the data's fingerprint is read from its source, as `plan` does).
 */
async function rowTransfer(values: Values, files: string[]) {
  const spec = str(values, "add-row");
  const from = str(values, "from");
  if (spec === undefined && from === undefined) return undefined;
  if (!spec || !from) {
    throw new UsageError("results --rejudge: --add-row KEY and --from FILE.json go together");
  }
  if (files.length !== 1) throw new UsageError("results --rejudge --add-row: give exactly one report");
  // KEY, or KEY=SOURCE_KEY when the other report names the row differently.
  const [key, sourceKey = key] = spec.split("=");
  const { addRowFrom, ReportFormatError } = await import("../lib/report/rejudge.ts");
  const read = async (path: string) => {
    try {
      return JSON.parse(await Deno.readTextFile(path));
    } catch (e) {
      throw new UsageError(`results --rejudge: cannot read ${path}: ${e instanceof Error ? e.message : e}`);
    }
  };
  const target = await read(files[0]);
  const source = await read(from);
  const { getProfile } = await import("../experiments/profiles.ts");
  const { allPlans } = await import("../experiments/tables/mod.ts");
  const { planTable } = await import("../app/tables/plan.ts");
  const header = target?.header ?? {};
  const plan = allPlans(getProfile(String(header.profile)))[String(header.tableId)];
  const row = plan?.rows.find((r) => r.key === key);
  if (!row) throw new UsageError(`results --rejudge: ${files[0]}'s table has no row '${key}' in its plan`);
  const ctx = await context({ ...values, profile: String(header.profile) });
  const seeds: number[] = Array.isArray(header.seeds) ? header.seeds : [];
  const planned = await planTable(ctx, { ...plan, rows: [row] }, seeds);
  const expectedEvalHashes = Object.fromEntries(
    planned.filter((u) => u.evalHash).map((u) => [u.seed, u.evalHash!]),
  );
  // The target table's own paper value for the row (the other report's is its table's).
  const { planPaperValue } = await import("../app/tables/mod.ts");
  const paper = planPaperValue(plan, key, plan.metric.key);
  return (json: unknown) => {
    try {
      return addRowFrom(json, {
        key,
        sourceKey,
        label: row.label,
        paper,
        order: plan.rows.map((r) => r.key),
        seeds,
        from: source,
        fromPath: from,
        expectedEvalHashes,
      });
    } catch (e) {
      throw e instanceof ReportFormatError ? new UsageError(`results --rejudge: ${e.message}`) : e;
    }
  };
}

/**
 * What this code adds to a re-judged report of a paper table: the table's claims the report lacks (with the
 * paper's differences; exact on the plan's deterministic metrics), the profile's recipe deviations it lacks
 * (facts of the profile, true of its runs too), and `--note` texts.
 */
async function rejudgeAdditions(values: Values) {
  const note = str(values, "note");
  if (note !== undefined && note.trim() === "") throw new UsageError("results --rejudge: --note is empty");
  const { PAPER_TABLES } = await import("../experiments/paper.ts");
  const { getProfile } = await import("../experiments/profiles.ts");
  const { allPlans, recipeDeviations } = await import("../experiments/tables/mod.ts");
  const { paperEffect } = await import("../app/tables/mod.ts");
  return (json: unknown) => {
    const header = (json as { header?: { tableId?: unknown; profile?: unknown } })?.header ?? {};
    const notes = note !== undefined ? [note] : [];
    const table = PAPER_TABLES.find((t) => t.id === header.tableId);
    let profile;
    try {
      profile = getProfile(String(header.profile));
    } catch {
      return { notes };
    }
    if (!table) return { notes, deviations: recipeDeviations(profile) };
    const plan = allPlans(profile)[table.id];
    const exact = [...(plan.exactMetrics ?? []), ...(plan.recordedMetrics ?? [])].map((m) => m.key);
    return {
      notes,
      deviations: recipeDeviations(profile),
      claims: table.claims.map((claim) => ({
        claim,
        paperEffect: paperEffect(table.id, claim, plan),
        exact: exact.includes(claim.metric),
      })),
    };
  };
}

/** `results --rejudge FILE…`: see {@linkcode cmdResults}. */
async function rejudgeReports(values: Values, files: string[]) {
  if (values.write !== undefined || values["reports-dir"] !== undefined) {
    throw new UsageError("results --rejudge: takes reports' .json files, not --write or --reports-dir");
  }
  if (files.length === 0) throw new UsageError("results --rejudge: give one or more reports' .json files");
  if (files.some((f) => f.trim() === "")) throw new UsageError("results --rejudge: a report path is empty");
  const { rejudgeFile, writeRejudged, ReportFormatError } = await import("../lib/report/rejudge.ts");
  const commit = await statisticsCommit();
  const date = new Date().toISOString().slice(0, 10);
  const transform = await rowTransfer(values, files);
  const additions = await rejudgeAdditions(values);
  // Every file is read and re-judged before any is written: a bad one writes nothing.
  const done = [];
  for (const file of files) {
    done.push(
      await rejudgeFile(file, { commit, date, transform, additions }).catch((e) => {
        throw e instanceof ReportFormatError ? new UsageError(`results --rejudge: ${e.message}`) : e;
      }),
    );
  }
  // The suite's own tables write a discussion from their verdicts: written anew from the re-judged ones.
  const { getProfile } = await import("../experiments/profiles.ts");
  const { allPlans } = await import("../experiments/tables/mod.ts");
  for (const r of done) {
    const h = r.input.header;
    const own = (() => {
      try {
        return allPlans(getProfile(h.profile))[h.tableId ?? ""]?.own;
      } catch {
        return undefined;
      }
    })();
    if (own?.discuss) {
      const { readingsByMetric } = await import("../lib/report/readings.ts");
      r.input.notes = [
        ...r.input.notes.filter((n) => !n.startsWith(DISCUSSION_PREFIX)),
        own.discuss(
          r.input.verdicts,
          readingsByMetric(own.claims, r.input.metric.key, r.input.additionalMetrics ?? []),
        ),
      ];
    }
  }
  for (const r of done) await writeRejudged(r);
  print(
    values,
    done.map((r) => ({ file: r.path, commit, verdicts: r.changes })),
    done.map((r) =>
      `${r.path} (and .md) re-judged by ${commit}:\n` +
      r.changes.map((c) => `  ${c.claimId}: ${c.before === c.after ? c.after : `${c.before} → ${c.after}`}`)
        .join("\n")
    ).join("\n"),
  );
}
