/**
 * Command-line plumbing: option parsing on `node:util` parseArgs (JSR's std/cli is unreachable from the build
 * machines), typed errors with exit codes, and value validation that names the problem and the fix.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A usage error: bad command, flag or value. Exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Runs a validation of what was asked (a recipe, a spec) before any work, so that its `RangeError` is
 * reported as the usage error it is (exit 2); RangeErrors raised later are failures of the run (exit 1).
 */
export function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}

/** `--help` / `-h` was given: print the command's help and exit 0, doing nothing else. */
export class HelpRequested extends Error {
  override name = "HelpRequested";
  constructor(readonly command: string) {
    super(`help for ${command}`);
  }
}

/** Levenshtein distance (for "did you mean" hints). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length];
}

/** The known flag closest to `given` (underscores read as dashes), when it is close enough to be a typo. */
export function nearestFlag(given: string, known: readonly string[]): string | undefined {
  const g = given.replace(/^-+/, "").replace(/_/g, "-").toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(g, k);
    if (d < bestD) (best = k, bestD = d);
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(g.length / 4)) ? best : undefined;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  profile: { type: "string" },
  backend: { type: "string" },
  "data-dir": { type: "string" },
  "data-path": { type: "string" },
  "cache-dir": { type: "string" },
  seed: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  quiet: { type: "boolean", short: "q" },
} as const satisfies ParseArgsConfig["options"];

/** Parsed options: strings, booleans, and repeated strings. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * Parses `args` strictly with the global options plus `extra`. A literal `--` (what `deno task NAME -- --flag`
 * forwards) is dropped, so both call styles work.
 */
export function parseCommandArgs(
  command: string,
  args: string[],
  extra: NonNullable<ParseArgsConfig["options"]> = {},
  opts: { positionals?: number } = {},
): { values: Values; positionals: string[] } {
  const options = { ...GLOBAL_OPTIONS, ...extra };
  const typed = options as Record<string, { type: string; short?: string }>;
  const known = Object.keys(options);
  const shorts = new Set(Object.values(typed).map((o) => o.short).filter((s) => s !== undefined));
  /** A word that is one of this command's flags (`--name`, `--name=v`, `-h`), not a value. */
  const isFlag = (a: string) =>
    a.startsWith("--") ? a.length > 2 && known.includes(a.slice(2).split("=")[0]) : /^-[a-zA-Z]$/.test(a) &&
      shorts.has(a.slice(1));
  // `--epochs -1`, `--weight-decay -Infinity`: a word starting with '-' after a value flag is that flag's value
  // (then range-checked), unless it is one of the command's flags: `--epochs --cache-dir X` lacks a value.
  const cleaned: string[] = [];
  for (const a of args.filter((x) => x !== "--")) {
    const prev = cleaned.at(-1);
    const flag = prev?.startsWith("--") && !prev.includes("=") ? prev.slice(2) : undefined;
    if (flag && typed[flag]?.type === "string" && a.startsWith("-") && !isFlag(a)) {
      cleaned[cleaned.length - 1] = `${prev}=${a}`;
    } else cleaned.push(a);
  }
  if (cleaned.includes("--help") || cleaned.includes("-h")) throw new HelpRequested(command);
  cleaned.forEach((a, i) => {
    const flag = a.startsWith("--") && !a.includes("=") ? a.slice(2) : undefined;
    if (flag && typed[flag]?.type === "string" && (i + 1 === cleaned.length || isFlag(cleaned[i + 1]))) {
      throw new UsageError(
        `${command}: --${flag} needs a value` +
          (i + 1 < cleaned.length ? `, but is followed by the flag ${cleaned[i + 1]}` : "") +
          ` (see 'main.ts ${command} --help')`,
      );
    }
  });
  try {
    const { values, positionals } = parseArgs({
      args: cleaned,
      options,
      strict: true,
      allowPositionals: (opts.positionals ?? 0) > 0,
    });
    if (positionals.length > (opts.positionals ?? 0)) {
      throw new UsageError(`${command}: unexpected argument '${positionals[opts.positionals ?? 0]}'`);
    }
    return { values: values as Values, positionals };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    const unknown = /Unknown option '(-[^']+)'/.exec(msg)?.[1];
    const near = unknown ? nearestFlag(unknown, known) : undefined;
    throw new UsageError(
      `${command}: ${msg.replace(/\. To specify a positional.*$/, "")}` +
        (near ? `; did you mean --${near}?` : "") + ` (see 'main.ts ${command} --help')`,
    );
  }
}

/** A string option, or the default. */
export function str(values: Values, name: string, fallback?: string): string | undefined {
  const v = values[name];
  if (v === undefined) return fallback;
  if (typeof v !== "string") throw new UsageError(`--${name} expects a value`);
  return v;
}

/**
 * A path option (file or folder): absent → `fallback`; empty or blank → a usage error (an empty path would
 * resolve to the current folder, or `/` once joined with a file name).
 */
export function pathOption(values: Values, name: string, fallback?: string): string | undefined {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (v.trim() === "") throw new UsageError(`--${name} must not be empty`);
  return v;
}

/** A decimal number as a person types it (`1e-3`, `.5`, `-2`); not hex, binary, `Infinity` or blank. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** `text` as a finite decimal number, or NaN (what `Number` accepts beyond that — `0x1`, `0b1` — is not). */
export function decimal(text: string): number {
  return DECIMAL.test(text.trim()) ? Number(text) : NaN;
}

/** An integer option within [min, max]. */
export function int(
  values: Values,
  name: string,
  fallback: number | undefined,
  min = -Infinity,
  max = Infinity,
) {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name} must be an integer, got '${v}'`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`--${name} must be in [${min}, ${max}], got ${n}`);
  return n;
}

/** A float option within (lo, hi) (open interval). */
export function floatOpen(
  values: Values,
  name: string,
  fallback: number | undefined,
  lo: number,
  hi: number,
) {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = decimal(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a decimal number, got '${v}'`);
  if (!(n > lo && n < hi)) throw new UsageError(`--${name} must be in (${lo}, ${hi}), got ${n}`);
  return n;
}

/** A float option within [lo, hi] (closed interval). */
export function floatIn(values: Values, name: string, lo: number, hi: number, fallback?: number) {
  const v = str(values, name);
  if (v === undefined) return fallback;
  const n = decimal(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a decimal number, got '${v}'`);
  if (!(n >= lo && n <= hi)) throw new UsageError(`--${name} must be in [${lo}, ${hi}], got ${n}`);
  return n;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(values: Values, name: string, allowed: readonly T[], fallback: T): T {
  const v = str(values, name);
  if (v === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}; got '${v}'`);
  }
  return v as T;
}

/** `--shard i/n` → {index, count} with 0 ≤ i < n. */
export function shard(values: Values): { index: number; count: number } | undefined {
  const v = str(values, "shard");
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(v);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) {
    throw new UsageError(`--shard must be i/n with 0 ≤ i < n (e.g. 0/4), got '${v}'`);
  }
  return { index: Number(m[1]), count: Number(m[2]) };
}
