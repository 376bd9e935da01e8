/**
 * How the command line turns an error into one line on stderr and an exit code: 2 for a mistake in what was
 * asked, 130 for an interrupt (resumable), 1 for everything else. Shared by `main.ts` and the table tasks.
 * @module
 */
import { BackendError } from "../lib/backend.ts";
import { UsageError } from "../lib/cli.ts";

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
