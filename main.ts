/**
 * gpa-repro command line: `deno run -A main.ts <command> [options]`. One file per group of commands in cli/;
 * this one dispatches and maps errors to exit codes.
 * @module
 */
import { UsageError } from "./lib/cli.ts";
import { cmdDownstream, cmdKnn, cmdPretrain } from "./cli/train.ts";
import { cmdPlan, cmdTables } from "./cli/tables.ts";
import { cmdBench, cmdData, cmdDoctor, cmdExport, cmdResults, cmdRuns } from "./cli/inspect.ts";
import { cmdFigures, cmdGpaMaps, cmdGpaRecall, cmdTeacher } from "./cli/teacher.ts";
import { COMMAND_HELP, HELP } from "./cli/help.ts";
import { reportError } from "./cli/errors.ts";
export { workerArgs } from "./cli/tables.ts";
export { fileErrorMessage, reportError } from "./cli/errors.ts";

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
        const { TABLES } = await import("./experiments/tables/mod.ts");
        await cmdTables(Object.values(TABLES), rest);
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

if (import.meta.main) Deno.exit(await main(Deno.args));
