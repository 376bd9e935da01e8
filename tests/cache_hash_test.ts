import assert from "node:assert/strict";
import { canonicalJson, runHash } from "../lib/cache/hash.ts";
import { sha256Hex } from "../lib/fsutil.ts";
import { CONFIG } from "./cache_helpers.ts";

Deno.test("canonicalJson sorts keys recursively, drops undefined properties, keeps arrays in order", () => {
  const value = { b: 1, a: { d: [3, { y: 2, x: "é" }], c: "s" }, u: undefined, n: null, t: true, f: -0.5e-7 };
  assert.equal(
    canonicalJson(value),
    '{"a":{"c":"s","d":[3,{"x":"é","y":2}]},"b":1,"f":-5e-8,"n":null,"t":true}',
  );
  assert.equal(canonicalJson([]), "[]");
  assert.equal(canonicalJson({}), "{}");
  assert.equal(canonicalJson(new Date(0)), '"1970-01-01T00:00:00.000Z"');
  assert.equal(canonicalJson({ "10": 1, "9": 2, "a b": 3 }), '{"10":1,"9":2,"a b":3}');
});

Deno.test("canonicalJson rejects values JSON would lose or alter", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  for (
    const [bad, pattern] of [
      [{ x: NaN }, /\$\.x is NaN/],
      [{ x: [1, Infinity] }, /\$\.x\[1\] is Infinity/],
      [[1, undefined], /\$\[1\] is undefined/],
      [{ m: new Map() }, /\$\.m is a Map/],
      [{ t: new Float32Array(2) }, /Float32Array/],
      [{ f: () => 1 }, /function/],
      [{ big: 1n }, /bigint/],
      [undefined, /undefined/],
      [cyclic, /circular/],
    ] as const
  ) {
    assert.throws(() => canonicalJson(bad), pattern);
  }
  // Shared (non-circular) references are fine.
  const shared = { k: 1 };
  assert.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"k":1},"b":{"k":1}}');
});

Deno.test("runHash: 16 hex of SHA-256 of the canonical JSON, independent of key order", async () => {
  // sha256("{}") = 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a (sha256sum)
  assert.equal(runHash({}), "44136fa355b3678a");
  assert.equal(runHash({ undefinedIsDropped: undefined }), "44136fa355b3678a");
  const text = canonicalJson(CONFIG);
  assert.equal(runHash(CONFIG), (await sha256Hex(new TextEncoder().encode(text))).slice(0, 16));
  const reordered = { seed: 1, mask: { alpha: [0, 0.5], kind: "gpa" }, maskRatio: 0.75, model: "vit-tiny" };
  assert.equal(runHash(reordered), runHash(CONFIG));
});

Deno.test("runHash changes when any value changes", () => {
  const base = runHash(CONFIG);
  const variants: unknown[] = [
    { ...CONFIG, maskRatio: 0.7500001 },
    { ...CONFIG, model: "vit-tiny " },
    { ...CONFIG, seed: 2 },
    { ...CONFIG, seed: "1" },
    { ...CONFIG, mask: { kind: "gpa", alpha: [0, 0.6] } },
    { ...CONFIG, mask: { kind: "gpa", alpha: [0.5, 0] } },
    { ...CONFIG, mask: { kind: "gpa", alpha: [0, 0.5, 0] } },
    { ...CONFIG, mask: { kind: "gpa" } },
    { ...CONFIG, extra: null },
    { ...CONFIG, extra: false },
    { model: CONFIG.model, maskRatio: CONFIG.maskRatio, mask: CONFIG.mask },
  ];
  const hashes = new Set(variants.map((v) => runHash(v)));
  assert.equal(hashes.size, variants.length);
  assert(!hashes.has(base));
  for (const hash of hashes) assert.match(hash, /^[0-9a-f]{16}$/);
});
