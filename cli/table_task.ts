/**
 * A table's task script (`tasks/tableN.ts`) imports its table module and runs it here: `deno task tableN
 * [options]` takes `main.ts table N`'s options, and its errors exit as the CLI's do.
 * @module
 */
import type { TableModule } from "../experiments/tables/mod.ts";
import { cmdTables } from "./tables.ts";
import { reportError } from "./errors.ts";
import { COMMAND_HELP } from "./help.ts";

/** Runs table `module` (options as for `main.ts table`); resolves to the exit code. */
export async function tableTask(module: TableModule, args: string[]): Promise<number> {
  // `deno task tableN -- --flag` forwards the `--` literally.
  const rest = args.filter((a, i) => !(a === "--" && i === 0));
  if (rest.some((a) => a === "--help" || a === "-h")) {
    console.log(COMMAND_HELP.table);
    return 0;
  }
  try {
    await cmdTables([module], rest);
    return 0;
  } catch (e) {
    return reportError(e);
  }
}
