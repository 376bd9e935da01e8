/**
 * Which validation images an evaluation classified correctly, as one compact string a run records in its
 * metrics (the image-level bootstrap of lib/report/bootstrap.ts reads it back).
 * @module
 */

/** One bit per image (1: classified correctly), packed little-endian into bytes: "N:base64" for N images. */
export function packCorrect(correct: Uint8Array): string {
  const bytes = new Uint8Array(Math.ceil(correct.length / 8));
  for (let i = 0; i < correct.length; i++) if (correct[i]) bytes[i >> 3] |= 1 << (i & 7);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return `${correct.length}:${btoa(text)}`;
}

/** The inverse of {@linkcode packCorrect}. */
export function unpackCorrect(packed: string): Uint8Array {
  const m = /^(\d+):([A-Za-z0-9+/=]*)$/.exec(packed);
  if (!m) throw new RangeError("packed correctness is not 'N:base64'");
  const n = Number(m[1]);
  const text = atob(m[2]);
  if (text.length !== Math.ceil(n / 8)) {
    throw new RangeError(`packed correctness holds ${text.length * 8} bits, not ${n} images`);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (text.charCodeAt(i >> 3) >> (i & 7)) & 1;
  return out;
}
