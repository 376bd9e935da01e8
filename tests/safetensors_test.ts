import assert from "node:assert/strict";
import { sha256File } from "../lib/fsutil.ts";
import {
  CorruptFileError,
  encodeSafetensors,
  type NamedTensors,
  readSafetensors,
  readSafetensorsFile,
  readSafetensorsHeader,
  writeSafetensors,
} from "../lib/safetensors.ts";

/** A file built byte by byte: 8-byte LE header length, the header text as given, then the data bytes. */
function buildFile(header: string, data: number[]): Uint8Array {
  const headerBytes = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + headerBytes.length + data.length);
  let n = headerBytes.length;
  for (let i = 0; i < 8; i++) {
    out[i] = n & 0xff;
    n = Math.floor(n / 256);
  }
  out.set(headerBytes, 8);
  out.set(data, 8 + headerBytes.length);
  return out;
}

function assertCorrupt(fn: () => unknown, pattern: RegExp, path = "<memory>"): void {
  assert.throws(fn, (error: unknown) => {
    assert(error instanceof CorruptFileError, `expected CorruptFileError, got ${error}`);
    assert.equal(error.path, path);
    assert.match(error.message, pattern);
    return true;
  });
}

const HAND_HEADER = JSON.stringify({
  __metadata__: { who: "test" },
  h: { dtype: "F16", shape: [2, 3], data_offsets: [0, 12] },
  b: { dtype: "BF16", shape: [2], data_offsets: [12, 16] },
  f: { dtype: "F32", shape: [1], data_offsets: [16, 20] },
  i: { dtype: "I32", shape: [], data_offsets: [20, 24] },
  l: { dtype: "I64", shape: [2], data_offsets: [24, 40] },
});
const HAND_DATA = [
  // h, F16: 1.0, -2.0, 2^-24 (smallest subnormal), +Inf, 65504 (largest finite), -0
  ...[0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c, 0xff, 0x7b, 0x00, 0x80],
  // b, BF16: 1.0, -3.0
  ...[0x80, 0x3f, 0x40, 0xc0],
  // f, F32: 0.5 = 0x3F000000
  ...[0x00, 0x00, 0x00, 0x3f],
  // i, I32: -2
  ...[0xfe, 0xff, 0xff, 0xff],
  // l, I64: -5, 7
  ...[0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
  ...[0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
];

Deno.test("reads a hand-built file: F16, BF16, F32, I32, I64 and metadata", () => {
  const { tensors, metadata } = readSafetensors(buildFile(HAND_HEADER, HAND_DATA));
  assert.deepEqual(metadata, { who: "test" });
  assert.deepEqual(Object.keys(tensors).sort(), ["b", "f", "h", "i", "l"]);
  assert.deepEqual(tensors.h.shape, [2, 3]);
  assert(tensors.h.data instanceof Float32Array);
  assert.deepEqual(Array.from(tensors.h.data), [1, -2, 2 ** -24, Infinity, 65504, -0]);
  assert(Object.is(tensors.h.data[5], -0));
  assert(tensors.b.data instanceof Float32Array);
  assert.deepEqual(Array.from(tensors.b.data), [1, -3]);
  assert(tensors.f.data instanceof Float32Array);
  assert.deepEqual(Array.from(tensors.f.data), [0.5]);
  assert.deepEqual(tensors.i.shape, []);
  assert(tensors.i.data instanceof Int32Array);
  assert.deepEqual(Array.from(tensors.i.data), [-2]);
  assert(tensors.l.data instanceof Int32Array);
  assert.deepEqual(Array.from(tensors.l.data), [-5, 7]);
  // The same file at an odd byte offset (exercises both the aligned fast paths and the unaligned ones).
  const file = buildFile(HAND_HEADER, HAND_DATA);
  const shifted = new Uint8Array(file.length + 1);
  shifted.set(file, 1);
  const fromShifted = readSafetensors(shifted.subarray(1));
  for (const name of Object.keys(tensors)) assert.deepEqual(fromShifted.tensors[name], tensors[name], name);
});

Deno.test("F16 NaN and I64 values that do not fit in 32 bits", () => {
  const nan = readSafetensors(
    buildFile('{"x":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}', [0x01, 0x7e]),
  );
  assert(Number.isNaN(nan.tensors.x.data[0]));
  const i64 = (bytes: number[]) =>
    readSafetensors(buildFile('{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', bytes));
  assert.deepEqual(Array.from(i64([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]).tensors.x.data), [2147483647]);
  assert.deepEqual(Array.from(i64([0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff]).tensors.x.data), [-2147483648]);
  assert.throws(() => i64([0, 0, 0, 0x80, 0, 0, 0, 0]), /does not fit in a 32-bit integer/); // 2^31
  assert.throws(() => i64([0, 0, 0, 0, 1, 0, 0, 0]), /does not fit in a 32-bit integer/); // 2^32
});

function sampleTensors(): NamedTensors {
  return {
    b: { shape: [2, 3], data: new Float32Array([0, 1.5, -2.25, 3e-8, 1e30, -0]) },
    a: { shape: [2], data: new Int32Array([-1, 7]) },
    e: { shape: [0, 4], data: new Float32Array(0) },
    s: { shape: [], data: new Float32Array([3.5]) },
  };
}

Deno.test("encodeSafetensors lays out the format exactly (checked field by field)", () => {
  const bytes = encodeSafetensors(sampleTensors(), { z: "1", a: "2" });
  const view = new DataView(bytes.buffer);
  const headerLength = view.getUint32(0, true);
  assert.equal(view.getUint32(4, true), 0);
  assert.equal((8 + headerLength) % 8, 0, "data section starts 8-byte aligned");
  const headerText = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
  assert.match(headerText, /^\{.*\} *$/);
  const header = JSON.parse(headerText);
  assert.deepEqual(Object.keys(header), ["__metadata__", "a", "b", "e", "s"]);
  assert.deepEqual(header.__metadata__, { a: "2", z: "1" });
  assert.deepEqual(header.a, { dtype: "I32", shape: [2], data_offsets: [0, 8] });
  assert.deepEqual(header.b, { dtype: "F32", shape: [2, 3], data_offsets: [8, 32] });
  assert.deepEqual(header.e, { dtype: "F32", shape: [0, 4], data_offsets: [32, 32] });
  assert.deepEqual(header.s, { dtype: "F32", shape: [], data_offsets: [32, 36] });
  assert.equal(bytes.length, 8 + headerLength + 36);
  const start = 8 + headerLength;
  assert.equal(view.getInt32(start, true), -1);
  assert.equal(view.getInt32(start + 4, true), 7);
  assert.equal(view.getFloat32(start + 8 + 4 * 2, true), -2.25);
  assert.equal(view.getFloat32(start + 32, true), 3.5);
});

Deno.test("round trip: values, shapes, metadata, and identical bytes when re-encoded", () => {
  const original = sampleTensors();
  const bytes = encodeSafetensors(original, { note: "ünïcode ✓" });
  const { tensors, metadata } = readSafetensors(bytes);
  assert.deepEqual(metadata, { note: "ünïcode ✓" });
  for (const name of Object.keys(original)) {
    assert.deepEqual(tensors[name].shape, original[name].shape);
    assert.equal(tensors[name].data.constructor, original[name].data.constructor);
    assert.deepEqual(tensors[name].data, original[name].data);
  }
  assert(Object.is(tensors.b.data[5], -0));
  assert.deepEqual(encodeSafetensors(tensors, metadata), bytes);
});

Deno.test("aligned F32/I32 tensors are zero-copy views unless copy is requested", () => {
  const bytes = encodeSafetensors(sampleTensors());
  const views = readSafetensors(bytes);
  assert.equal(views.tensors.b.data.buffer, bytes.buffer);
  const copies = readSafetensors(bytes, { copy: true });
  assert.notEqual(copies.tensors.b.data.buffer, bytes.buffer);
  views.tensors.b.data[0] = 42; // writes through to the buffer
  assert.equal(readSafetensors(bytes).tensors.b.data[0], 42);
  assert.equal(copies.tensors.b.data[0], 0);
  // A buffer whose data section is misaligned (offset by 1) is copied per tensor and still decodes.
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const fromShifted = readSafetensors(shifted.subarray(1));
  assert.deepEqual(fromShifted.tensors.a.data, new Int32Array([-1, 7]));
  assert.equal(fromShifted.tensors.b.data[0], 42);
});

Deno.test("truncated files are rejected with a clear error naming the file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "safetensors_test_" });
  try {
    const path = `${dir}/t.safetensors`;
    const bytes = encodeSafetensors(sampleTensors());
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 1));
    await assert.rejects(() => readSafetensorsFile(path), (error: unknown) => {
      assert(error instanceof CorruptFileError);
      assert.equal(error.path, path);
      assert.match(error.message, /truncated: tensor "s" ends at data byte 36 but the data section has 35/);
      return true;
    });
    await assert.rejects(() => readSafetensorsHeader(path), /truncated/);
    await Deno.writeFile(path, bytes.subarray(0, 20)); // inside the header
    await assert.rejects(() => readSafetensorsFile(path), /truncated: header claims/);
    await assert.rejects(() => readSafetensorsHeader(path), /truncated: header claims/);
    await Deno.writeFile(path, bytes.subarray(0, 5)); // inside the length prefix
    await assert.rejects(() => readSafetensorsFile(path), /shorter than the 8-byte header length/);
    await assert.rejects(() => readSafetensorsHeader(path), /shorter than the 8-byte header length/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("single bit flips in the header are detected", () => {
  const bytes = encodeSafetensors({ a: { shape: [3], data: new Float32Array([1, 2, 3]) } });
  const flipped = (index: number, bit: number) => {
    const copy = bytes.slice();
    copy[index] ^= 1 << bit;
    return copy;
  };
  const headerText = new TextDecoder().decode(bytes.subarray(8));
  // '{' → 'z'
  assertCorrupt(() => readSafetensors(flipped(8, 0)), /does not start with '\{'/);
  // the '2' of data_offsets [0,12] → '3': the span no longer matches the shape
  const offsetDigit = 8 + headerText.indexOf("[0,12]") + 4;
  assert.equal(bytes[offsetDigit], 0x32);
  assertCorrupt(() => readSafetensors(flipped(offsetDigit, 0)), /needs 12 bytes but data_offsets span 13/);
  // the '3' of shape [3] → '2'
  const shapeDigit = 8 + headerText.indexOf('"shape":[3]') + 9;
  assertCorrupt(() => readSafetensors(flipped(shapeDigit, 0)), /needs 8 bytes but data_offsets span 12/);
  // a high bit in the header text → invalid UTF-8
  assertCorrupt(() => readSafetensors(flipped(8 + headerText.indexOf("dtype"), 7)), /not valid UTF-8/);
  // a quote → JSON syntax error
  assertCorrupt(() => readSafetensors(flipped(9, 1)), /not valid JSON/);
  // high bits of the length prefix
  assertCorrupt(() => readSafetensors(flipped(7, 0)), /exceeds the 100000000-byte limit/);
  assertCorrupt(() => readSafetensors(flipped(1, 0)), /truncated: header claims/);
});

Deno.test("structural errors: overlap, gap, trailing bytes, dtype, metadata, bad fields", () => {
  const f32 = (begin: number, end: number) => ({ dtype: "F32", shape: [1], data_offsets: [begin, end] });
  const build = (header: unknown, dataLength: number) =>
    buildFile(JSON.stringify(header), new Array(dataLength).fill(0));
  assertCorrupt(() => readSafetensors(build({ a: f32(0, 4), b: f32(2, 6) }, 6)), /"b" \[2, 6\) overlaps "a"/);
  assertCorrupt(() => readSafetensors(build({ a: f32(4, 8) }, 8)), /gap of 4 bytes before tensor "a"/);
  assertCorrupt(
    () => readSafetensors(build({ a: f32(0, 4) }, 6)),
    /2 unexpected bytes after the last tensor/,
  );
  assertCorrupt(
    () => readSafetensors(build({ a: f32(0, 4) }, 2)),
    /truncated: tensor "a" ends at data byte 4/,
  );
  assertCorrupt(
    () => readSafetensors(build({ a: { dtype: "F64", shape: [1], data_offsets: [0, 8] } }, 8)),
    /unsupported dtype "F64"/,
  );
  assertCorrupt(() => readSafetensors(build({ __metadata__: { k: 1 }, a: f32(0, 4) }, 4)), /__metadata__\.k/);
  assertCorrupt(
    () => readSafetensors(build({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4)),
    /invalid shape/,
  );
  assertCorrupt(
    () => readSafetensors(build({ a: { dtype: "F32", shape: [1], data_offsets: [4, 0] } }, 4)),
    /invalid data_offsets/,
  );
  assertCorrupt(() => readSafetensors(build([1, 2], 0)), /header does not start with/);
  assertCorrupt(() => readSafetensors(build({ a: 5 }, 0)), /entry "a" is not an object/);
  // An empty file (no tensors at all) is valid.
  assert.deepEqual(readSafetensors(build({}, 0)), { tensors: {}, metadata: {} });
});

Deno.test("encodeSafetensors rejects inconsistent input", () => {
  assert.throws(
    () => encodeSafetensors({ a: { shape: [2, 2], data: new Float32Array(3) } }),
    /shape \[2, 2\] does not match 3 values/,
  );
  const float64 = new Float64Array(1) as unknown as Float32Array;
  assert.throws(
    () => encodeSafetensors({ a: { shape: [1], data: float64 } }),
    /Float32Array or an Int32Array/,
  );
  assert.throws(() => encodeSafetensors({ __metadata__: { shape: [0], data: new Float32Array(0) } }), /name/);
  assert.throws(() => encodeSafetensors({}, { k: 3 as unknown as string }), /must be a string/);
});

Deno.test("writeSafetensors writes atomically and reports size and SHA-256 of what it wrote", async () => {
  const dir = await Deno.makeTempDir({ prefix: "safetensors_test_" });
  try {
    const path = `${dir}/w.safetensors`;
    const written = await writeSafetensors(path, sampleTensors(), { k: "v" });
    assert.equal(written.size, (await Deno.stat(path)).size);
    assert.equal(written.sha256, await sha256File(path));
    assert.deepEqual(await Deno.readFile(path), encodeSafetensors(sampleTensors(), { k: "v" }));
    const { tensors, metadata } = await readSafetensorsFile(path);
    assert.deepEqual(metadata, { k: "v" });
    assert.deepEqual(tensors.b.data, sampleTensors().b.data);
    const header = await readSafetensorsHeader(path);
    assert.deepEqual(header.entries.b, { dtype: "F32", shape: [2, 3], dataOffsets: [8, 32] });
    assert.equal(header.dataStart % 8, 0);
    assert.deepEqual(Array.from(Deno.readDirSync(dir), (e) => e.name), ["w.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
