/**
 * Reading and writing the safetensors format, independent of any tensor library.
 *
 * Layout: an unsigned 64-bit little-endian header length N; N bytes of UTF-8 JSON mapping each tensor name to
 * `{ dtype, shape, data_offsets: [begin, end] }` (offsets relative to the data section) plus an optional
 * `"__metadata__"` string→string map; then the data section, row-major little-endian values.
 *
 * Written files hold F32 / I32 tensors, sorted by name, with the header padded by spaces so the data starts
 * 8-byte aligned (as the reference writer does). Read files may also hold F16 and BF16 (converted to f32) and
 * I64 (narrowed to i32 when every value fits). Reading works on one buffer: aligned F32 / I32 tensors are
 * zero-copy views into it, everything else is converted per tensor.
 * @module
 */
import { atomicWriteFile, CorruptFileError, sha256Hex } from "./fsutil.ts";

export { CorruptFileError } from "./fsutil.ts";

/** One tensor as plain data: `shape` (row-major) and `data` of length `prod(shape)`. */
export interface TensorData {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Named tensors, e.g. model weights or optimizer moments. */
export type NamedTensors = Record<string, TensorData>;

/** The dtypes this module reads; writes use F32 and I32 only. */
export type SafetensorsDtype = "F32" | "F16" | "BF16" | "I32" | "I64";

const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I32: 4, I64: 8 };

/** One header entry, as stored. */
export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** `[begin, end)` byte offsets within the data section. */
  dataOffsets: [number, number];
}

/** The decoded header of a safetensors file. */
export interface SafetensorsHeader {
  entries: Record<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Absolute offset of the data section (8 + header length). */
  dataStart: number;
}

/** Upper bound on the JSON header, as in the reference implementation (guards against garbage lengths). */
const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function isDtype(value: unknown): value is SafetensorsDtype {
  return typeof value === "string" && Object.hasOwn(DTYPE_BYTES, value);
}

function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Reads the header length; `byteLength` is the size of the whole file (for bounds checks). */
function readHeaderLength(prefix: Uint8Array, byteLength: number, path: string): number {
  if (prefix.length < 8) {
    throw new CorruptFileError(path, `truncated: ${byteLength} bytes, shorter than the 8-byte header length`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const length = high * 2 ** 32 + low;
  if (length > MAX_HEADER_BYTES) {
    throw new CorruptFileError(path, `header length ${length} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  if (length < 2) throw new CorruptFileError(path, `header length ${length} is too small for a JSON object`);
  if (8 + length > byteLength) {
    throw new CorruptFileError(
      path,
      `truncated: header claims ${length} bytes but the file has only ${byteLength - 8} after the length`,
    );
  }
  return length;
}

/**
 * Decodes and validates a header: JSON syntax, entry fields, and that the tensors tile the data section
 * exactly (no overlap, no gap, nothing past its end — which is how a truncated file shows — and no trailing
 * bytes).
 */
function parseHeader(headerBytes: Uint8Array, dataLength: number, path: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
  } catch (cause) {
    throw new CorruptFileError(path, "header is not valid UTF-8", { cause });
  }
  if (!text.startsWith("{")) throw new CorruptFileError(path, "header does not start with '{'");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CorruptFileError(path, `header is not valid JSON (${(cause as Error).message})`, { cause });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new CorruptFileError(path, "header is not a JSON object");
  }
  const metadata: Record<string, string> = {};
  const entries: Record<string, SafetensorsEntry> = {};
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        throw new CorruptFileError(path, "__metadata__ is not an object");
      }
      for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof value !== "string") {
          throw new CorruptFileError(path, `__metadata__.${key} is not a string`);
        }
        metadata[key] = value;
      }
      continue;
    }
    entries[name] = parseEntry(name, raw, path);
  }
  // The tensors must tile [0, dataLength) exactly.
  const ordered = Object.entries(entries).sort(([, a], [, b]) =>
    a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]
  );
  let cursor = 0;
  let previous = "(start of data)";
  for (const [name, entry] of ordered) {
    const [begin, end] = entry.dataOffsets;
    if (begin < cursor) {
      throw new CorruptFileError(path, `tensor "${name}" [${begin}, ${end}) overlaps "${previous}"`);
    }
    if (begin > cursor) {
      throw new CorruptFileError(path, `gap of ${begin - cursor} bytes before tensor "${name}"`);
    }
    if (end > dataLength) {
      throw new CorruptFileError(
        path,
        `truncated: tensor "${name}" ends at data byte ${end} but the data section has ${dataLength} bytes`,
      );
    }
    cursor = end;
    previous = name;
  }
  if (cursor !== dataLength) {
    throw new CorruptFileError(path, `${dataLength - cursor} unexpected bytes after the last tensor`);
  }
  return { entries, metadata, dataStart: 8 + headerBytes.length };
}

function parseEntry(name: string, raw: unknown, path: string): SafetensorsEntry {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new CorruptFileError(path, `entry "${name}" is not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (!isDtype(dtype)) {
    throw new CorruptFileError(
      path,
      `tensor "${name}" has unsupported dtype ${JSON.stringify(dtype)} (supported: ${
        Object.keys(DTYPE_BYTES).join(", ")
      })`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new CorruptFileError(path, `tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]
  ) {
    throw new CorruptFileError(path, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
  }
  const expected = elementCount(shape) * DTYPE_BYTES[dtype];
  if (offsets[1] - offsets[0] !== expected) {
    throw new CorruptFileError(
      path,
      `tensor "${name}" (${dtype} [${shape.join(", ")}]) needs ${expected} bytes but data_offsets span ${
        offsets[1] - offsets[0]
      }`,
    );
  }
  return { dtype, shape: [...shape], dataOffsets: [offsets[0], offsets[1]] };
}

/** Options of {@linkcode readSafetensors}. */
export interface ReadSafetensorsOptions {
  /** Name used in error messages (default `<memory>`). */
  path?: string;
  /**
   * Copy every tensor out of `bytes` (default false: aligned F32 / I32 tensors are views sharing `bytes`'
   * memory, so mutating one mutates the buffer, and the buffer stays alive while any view does).
   */
  copy?: boolean;
}

/** Tensors and metadata of a safetensors file. */
export interface SafetensorsContent {
  tensors: NamedTensors;
  metadata: Record<string, string>;
}

let halfTable: Float32Array | undefined;

/** All 65536 half-precision values as f32 (256 KiB, built once). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) halfTable[h] = sign * fraction * 2 ** -24; // zero and subnormals
    else if (exponent === 31) halfTable[h] = fraction ? NaN : sign * Infinity;
    else halfTable[h] = sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  return halfTable;
}

/** A zero-copy 16-bit view of `raw` when the host is little-endian and the bytes are 2-aligned. */
function halfWords(raw: Uint8Array, n: number): Uint16Array | null {
  return LITTLE_ENDIAN_HOST && raw.byteOffset % 2 === 0
    ? new Uint16Array(raw.buffer, raw.byteOffset, n)
    : null;
}

/** Decodes one tensor's bytes (`raw` is exactly its data) into f32 / i32. */
function decodeTensor(
  name: string,
  entry: SafetensorsEntry,
  raw: Uint8Array,
  copy: boolean,
  path: string,
): Float32Array | Int32Array {
  const n = elementCount(entry.shape);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (entry.dtype) {
    case "F32":
    case "I32": {
      const Ctor = entry.dtype === "F32" ? Float32Array : Int32Array;
      if (LITTLE_ENDIAN_HOST) {
        // Zero-copy view when aligned; otherwise (or when asked) a copy of just this tensor's bytes.
        const source = !copy && raw.byteOffset % 4 === 0 ? raw : raw.slice();
        return new Ctor(source.buffer as ArrayBuffer, source.byteOffset, n);
      }
      const out = new Ctor(n);
      for (let i = 0; i < n; i++) {
        out[i] = entry.dtype === "F32" ? view.getFloat32(4 * i, true) : view.getInt32(4 * i, true);
      }
      return out;
    }
    case "F16": {
      const table = halfToFloatTable();
      const out = new Float32Array(n);
      const halves = halfWords(raw, n);
      if (halves) { for (let i = 0; i < n; i++) out[i] = table[halves[i]]; }
      else for (let i = 0; i < n; i++) out[i] = table[view.getUint16(2 * i, true)];
      return out;
    }
    case "BF16": {
      // bfloat16 is the upper half of an f32's bits.
      const bits = new Uint32Array(n);
      const halves = halfWords(raw, n);
      if (halves) { for (let i = 0; i < n; i++) bits[i] = halves[i] << 16; }
      else for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
    case "I64": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const low = view.getInt32(8 * i, true);
        const high = view.getInt32(8 * i + 4, true);
        // Fits in i32 exactly when the high word is the sign extension of the low word.
        if (high !== low >> 31) {
          throw new RangeError(
            `${path}: tensor "${name}" (I64) value at index ${i} does not fit in a 32-bit integer`,
          );
        }
        out[i] = low;
      }
      return out;
    }
  }
}

/**
 * Decodes a whole safetensors file held in memory. Throws {@linkcode CorruptFileError} (naming
 * `options.path`) if the header is malformed or the data section does not match it.
 */
export function readSafetensors(bytes: Uint8Array, options: ReadSafetensorsOptions = {}): SafetensorsContent {
  const { path = "<memory>", copy = false } = options;
  const headerLength = readHeaderLength(bytes.subarray(0, 8), bytes.length, path);
  const header = parseHeader(bytes.subarray(8, 8 + headerLength), bytes.length - 8 - headerLength, path);
  const tensors: NamedTensors = {};
  for (const [name, entry] of Object.entries(header.entries)) {
    const raw = bytes.subarray(
      header.dataStart + entry.dataOffsets[0],
      header.dataStart + entry.dataOffsets[1],
    );
    tensors[name] = { shape: entry.shape, data: decodeTensor(name, entry, raw, copy, path) };
  }
  return { tensors, metadata: header.metadata };
}

/** Reads a safetensors file with one read and decodes it (see {@linkcode readSafetensors}). */
export async function readSafetensorsFile(
  path: string,
  options: Omit<ReadSafetensorsOptions, "path"> = {},
): Promise<SafetensorsContent> {
  return readSafetensors(await Deno.readFile(path), { ...options, path });
}

/**
 * Reads and validates only the header of a safetensors file (cheap for large files: reads 8 + N bytes and
 * checks the offsets against the file size).
 */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    const prefix = await readExactly(file, Math.min(8, size));
    const headerLength = readHeaderLength(prefix, size, path);
    const headerBytes = await readExactly(file, headerLength);
    return parseHeader(headerBytes, size - 8 - headerLength, path);
  } finally {
    file.close();
  }
}

async function readExactly(file: Deno.FsFile, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return out.subarray(0, filled);
}

/** Serialises tensors (F32 / I32, sorted by name) and string metadata into safetensors bytes. */
export function encodeSafetensors(tensors: NamedTensors, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  const metadataKeys = Object.keys(metadata).sort();
  if (metadataKeys.length > 0) {
    const sorted: Record<string, string> = {};
    for (const key of metadataKeys) {
      if (typeof metadata[key] !== "string") throw new TypeError(`metadata "${key}" must be a string`);
      sorted[key] = metadata[key];
    }
    header.__metadata__ = sorted;
  }
  let offset = 0;
  for (const name of names) {
    if (name === "" || name === "__metadata__") throw new TypeError(`invalid tensor name "${name}"`);
    const { shape, data } = tensors[name];
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new TypeError(`tensor "${name}" has an invalid shape [${shape.join(", ")}]`);
    }
    if (elementCount(shape) !== data.length) {
      throw new TypeError(
        `tensor "${name}": shape [${shape.join(", ")}] does not match ${data.length} values`,
      );
    }
    let dtype: SafetensorsDtype;
    if (data instanceof Float32Array) dtype = "F32";
    else if (data instanceof Int32Array) dtype = "I32";
    else throw new TypeError(`tensor "${name}": data must be a Float32Array or an Int32Array`);
    header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  const jsonBytesLength = new TextEncoder().encode(json).length;
  json += " ".repeat((8 - ((8 + jsonBytesLength) % 8)) % 8); // data section 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerBytes.length % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerBytes.length / 2 ** 32), true);
  out.set(headerBytes, 8);
  let cursor = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors[name];
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), cursor);
    } else {
      for (let i = 0; i < data.length; i++) {
        if (data instanceof Float32Array) view.setFloat32(cursor + 4 * i, data[i], true);
        else view.setInt32(cursor + 4 * i, data[i], true);
      }
    }
    cursor += data.byteLength;
  }
  return out;
}

/** What {@linkcode writeSafetensors} wrote. */
export interface WrittenFile {
  /** Size in bytes. */
  size: number;
  /** SHA-256 of the bytes, lower-case hex. */
  sha256: string;
}

/**
 * Writes tensors and metadata to `path` atomically (temp file + rename) and returns the file's size and
 * SHA-256 (computed from the same bytes, so no second read is needed).
 */
export async function writeSafetensors(
  path: string,
  tensors: NamedTensors,
  metadata: Record<string, string> = {},
): Promise<WrittenFile> {
  const bytes = encodeSafetensors(tensors, metadata);
  const sha256 = await sha256Hex(bytes);
  await atomicWriteFile(path, bytes);
  return { size: bytes.length, sha256 };
}
