/**
 * Run identity: the canonical JSON of a run's config and the run hash derived from it.
 *
 * The hash is the name of the run's directory (`<cache>/runs/<hash>/`), so these bytes are the cache key:
 * any change to the encoding here renames every run and silently recomputes the whole cache. That is why
 * this lives apart from the file handling, with no dependency but `node:crypto`, and why its output is pinned
 * by tests (`tests/cache_hash_test.ts`, `tests/plan_hashes_test.ts`).
 * @module
 */
import { createHash } from "node:crypto";

/**
 * Deterministic JSON: object keys sorted (recursively), properties whose value is `undefined` dropped,
 * numbers in JSON's shortest round-trip form, no whitespace. Throws `TypeError` for anything that JSON would
 * silently lose or alter (NaN / ±Infinity, `undefined` in arrays, functions, bigint, Map / Set / typed
 * arrays and other non-plain objects, cycles); objects with `toJSON` (e.g. `Date`) are encoded through it.
 */
export function canonicalJson(value: unknown): string {
  return encodeCanonical(value, "$", []);
}

function encodeCanonical(value: unknown, where: string, ancestors: object[]): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${where} is ${value}, not valid JSON`);
      return JSON.stringify(value);
    case "object": {
      if (ancestors.includes(value)) throw new TypeError(`canonicalJson: ${where} is a circular reference`);
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") return encodeCanonical(toJSON.call(value), where, ancestors);
      const inner = [...ancestors, value];
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (let i = 0; i < value.length; i++) {
          if (value[i] === undefined) throw new TypeError(`canonicalJson: ${where}[${i}] is undefined`);
          parts.push(encodeCanonical(value[i], `${where}[${i}]`, inner));
        }
        return `[${parts.join(",")}]`;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new TypeError(`canonicalJson: ${where} is a ${value.constructor?.name ?? "non-plain object"}`);
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).filter((key) => record[key] !== undefined).sort();
      const parts = keys.map((key) =>
        `${JSON.stringify(key)}:${encodeCanonical(record[key], `${where}.${key}`, inner)}`
      );
      return `{${parts.join(",")}}`;
    }
    default:
      throw new TypeError(`canonicalJson: ${where} is a ${typeof value}, not JSON data`);
  }
}

/**
 * The cache key of a run: the first 16 hex characters (64 bits) of SHA-256 over `canonicalJson(config)`.
 * Synchronous (via `node:crypto`), so it can be used anywhere; equals `sha256Hex` of the same text.
 */
export function runHash(config: unknown): string {
  return createHash("sha256").update(canonicalJson(config), "utf8").digest("hex").slice(0, 16);
}

/** What {@linkcode runHash} returns; anything else is not a run directory's name. */
export const RUN_HASH_PATTERN = /^[0-9a-f]{16}$/;
