/**
 * A table's task script (`tasks/tableN.ts`) composes its module with the shared table runner: `deno task
 * tableN [options]` is `main.ts table N [options]`.
 * @module
 */
import type { TableModule } from "../experiments/tables/mod.ts";
import { main } from "../main.ts";

/** Runs table `module` through the CLI (options as for `main.ts table`); resolves to the exit code. */
export function tableTask(module: TableModule, args: string[]): Promise<number> {
  return main(["table", module.id, ...args]);
}
