/**
 * gpa-repro command line: `deno run -A main.ts <command> [options]`. One file per group of commands in cli/;
 * this one dispatches and maps errors to exit codes.
 * @module
 */
import { BackendError } from "./lib/backend.ts";
import { UsageError } from "./lib/cli.ts";
import { cmdDownstream, cmdKnn, cmdPretrain } from "./cli/train.ts";
import { cmdPlan, cmdTables } from "./cli/tables.ts";
import { cmdBench, cmdData, cmdDoctor, cmdExport, cmdResults, cmdRuns } from "./cli/inspect.ts";
import { cmdFigures, cmdGpaMaps, cmdGpaRecall, cmdTeacher } from "./cli/teacher.ts";
import { COMMAND_HELP, HELP } from "./cli/help.ts";
export { workerArgs } from "./cli/tables.ts";

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const args = argv.filter((a, i) => !(a === "--" && i === 0));
  const [command, ...rest] = args;
  // `<command> --help`: that command's usage, flags with defaults and an example; no work is done.
  if (command && command in COMMAND_HELP && rest.some((a) => a === "--help" || a === "-h")) {
    console.log(COMMAND_HELP[command]);
    return 0;
  }
  try {
    switch (command) {
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(HELP);
        return 0;
      case "pretrain":
        await cmdPretrain(rest);
        return 0;
      case "finetune":
      case "linprobe":
      case "segment":
        await cmdDownstream(command, rest);
        return 0;
      case "doctor":
        await cmdDoctor(rest);
        return 0;
      case "data":
        await cmdData(rest);
        return 0;
      case "results":
        await cmdResults(rest);
        return 0;
      case "bench":
        await cmdBench(rest);
        return 0;
      case "table":
        await cmdTables(null, rest);
        return 0;
      case "all": {
        const { TABLE_IDS } = await import("./experiments/tables/mod.ts");
        await cmdTables(TABLE_IDS, rest);
        return 0;
      }
      case "plan":
        await cmdPlan(rest);
        return 0;
      case "figures":
        await cmdFigures(rest);
        return 0;
      case "knn":
        await cmdKnn(rest);
        return 0;
      case "gpa-recall":
        await cmdGpaRecall(rest);
        return 0;
      case "gpa-maps":
        await cmdGpaMaps(rest);
        return 0;
      case "export":
        await cmdExport(rest);
        return 0;
      case "teacher":
        await cmdTeacher(rest);
        return 0;
      case "runs":
        await cmdRuns(rest);
        return 0;
      default:
        throw new UsageError(`unknown command '${command}'; run 'main.ts help' for the list`);
    }
  } catch (e) {
    return reportError(e);
  }
}

/**
 * A file-system error in words: what could not be done to which file, and where to look. The file named is
 * the one the user knows: a hidden temp file (`.name.tmp-<pid>-<hex>`, written then renamed) is named as
 * the file it becomes.
 */
export function fileErrorMessage(e: Deno.errors.PermissionDenied | Deno.errors.NotFound): string {
  const msg = e.message;
  const quoted = [...msg.matchAll(/'([^']+)'/g)].map((m) => m[1]);
  const path = quoted.at(-1)?.replace(/\/\.([^/]+)\.tmp-\d+-[0-9a-f]+$/, "/$1");
  if (e instanceof Deno.errors.PermissionDenied) {
    // Messages of this suite's own checks already say what to check.
    if (!path) {
      return `permission denied: ${msg}${/check /.test(msg) ? "" : " (check the permissions involved)"}`;
    }
    const folder = path.replace(/\/[^/]*$/, "") || "/";
    return `permission denied: ${path} (${
      msg.split(":")[0]
    }); check that ${folder} is writable and ${path} ` +
      "readable by this user";
  }
  if (!path) return `not found: ${msg}`;
  const folder = path.replace(/\/[^/]*$/, "") || "/";
  return `no such file or folder: ${path} (does ${folder} exist?)`;
}

/** Prints one line for an error and returns its exit code. */
export function reportError(e: unknown): number {
  const name = e instanceof Error ? e.name : "Error";
  const msg = e instanceof Error ? e.message : String(e);
  if (
    // Only mistakes in what was asked exit 2; a RangeError raised while working (a teacher map outside
    // [0, 1], a duplicate seed at report time) is a failure of the run, exit 1 like any other.
    e instanceof UsageError || name === "TeacherWeightsError" || name === "ConfigError"
  ) {
    console.error(`error: ${msg}`);
    return 2;
  }
  if (name === "InterruptedError") {
    console.error(`interrupted (resumable): ${msg}`);
    return 130;
  }
  if (
    e instanceof BackendError ||
    [
      "DataError",
      "NumericError",
      "RunLockedError",
      "CorruptFileError",
      "NotImplementedError",
      "SpeedCheckError",
    ].includes(name)
  ) {
    console.error(`error: ${msg}`);
    return 1;
  }
  if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotFound) {
    console.error(`error: ${fileErrorMessage(e)}`);
    return 1;
  }
  console.error(`error: ${name}: ${msg}`);
  if (Deno.env.get("GPA_DEBUG")) console.error(e instanceof Error ? e.stack : e);
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
