/**
 * TensorBoard scalar event files (`events.out.tfevents.*`) without TensorFlow: no maintained npm writer exists,
 * and the format is small. A file is a sequence of TFRecords — `uint64 length`, `uint32 masked CRC-32C of the
 * length`, the bytes, `uint32 masked CRC-32C of the bytes` (little-endian) — each holding one `Event` protocol
 * buffer: the first names the file version (`brain.Event:2`), the others carry `Summary` values with a
 * `simple_value` (a scalar). Only the fields TensorBoard's scalar dashboard reads are written.
 * @module
 */

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as TFRecord uses it: `crc32c("123456789") = 0xe3069283`. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC32C_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits plus 0xa282ead8 (so a CRC of CRCs stays informative). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord around `data`. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Protocol-buffer writer for the few field kinds an Event needs. */
class Proto {
  #parts: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt(v);
    if (x < 0n) x = BigInt.asUintN(64, x);
    do {
      const byte = Number(x & 0x7fn);
      x >>= 7n;
      this.#parts.push(x > 0n ? byte | 0x80 : byte);
    } while (x > 0n);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  double(field: number, v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.tag(field, 1).#parts.push(...b);
    return this;
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5).#parts.push(...b);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length).#parts.push(...b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

/** The first event of a file: its wall time and `file_version: "brain.Event:2"`. */
export function fileVersionEvent(wallTime: number): Uint8Array {
  return new Proto().double(1, wallTime).string(3, "brain.Event:2").done();
}

/**
 * An event of scalars at `step` (proto3: a zero step is left out, as TensorFlow writes it). Non-finite values
 * are written as they are (TensorBoard shows NaN).
 */
export function scalarEvent(wallTime: number, step: number, scalars: Record<string, number>): Uint8Array {
  const summary = new Proto();
  for (const [tag, value] of Object.entries(scalars)) {
    summary.bytes(1, new Proto().string(1, tag).float(2, value).done());
  }
  const e = new Proto().double(1, wallTime);
  if (step !== 0) e.tag(2, 0).varint(step);
  return e.bytes(5, summary.done()).done();
}

/** A whole event file: the version record, then one record of scalars per point. */
export function eventFile(
  points: { step: number; wallTime: number; scalars: Record<string, number> }[],
  startWallTime: number,
): Uint8Array {
  const records = [
    tfRecord(fileVersionEvent(startWallTime)),
    ...points.map((p) => tfRecord(scalarEvent(p.wallTime, p.step, p.scalars))),
  ];
  const out = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
  let o = 0;
  for (const r of records) (out.set(r, o), o += r.length);
  return out;
}

/** The name TensorBoard looks for (`events.out.tfevents.<seconds>.<host>`), fixed per run folder. */
export const EVENT_FILE_NAME = "events.out.tfevents.0.gpa-repro";
