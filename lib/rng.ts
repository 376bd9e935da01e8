/**
 * Seeded, serialisable pseudo-random numbers (xoshiro128** seeded through splitmix32).
 *
 * Every random choice of a run (init, masks, augmentation, shuffling) draws from an `Rng` so that a run is
 * reproducible from its seed and resumable from a saved `state()`.
 * @module
 */

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Hashes a string label to a 32-bit integer (FNV-1a), for deriving independent streams. */
export function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A xoshiro128** generator. */
export class Rng {
  #s: Uint32Array;
  #spareNormal: number | null = null;

  /** Creates a generator from an integer seed, or restores one from `state()`. */
  constructor(seedOrState: number | number[]) {
    this.#s = new Uint32Array(4);
    if (Array.isArray(seedOrState)) {
      if (seedOrState.length !== 4) throw new Error("Rng state must have 4 words");
      this.#s.set(seedOrState.map((v) => v >>> 0));
    } else {
      const sm = splitmix32(seedOrState);
      for (let i = 0; i < 4; i++) this.#s[i] = sm();
      if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
    }
  }

  /** The generator's state, enough to resume the exact stream. */
  state(): number[] {
    return Array.from(this.#s);
  }

  /** An independent generator derived from this one's seed material and a label (does not advance this). */
  fork(label: string): Rng {
    const s = this.#s;
    const mix = splitmix32(
      (s[0] ^ Math.imul(s[1], 31) ^ Math.imul(s[2], 131) ^ s[3] ^ hashLabel(label)) >>> 0,
    );
    const child = new Rng(0);
    child.#s = new Uint32Array([mix(), mix(), mix(), mix()]);
    return child;
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const v = this.#spareNormal;
      this.#spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = a[i];
      a[i] = a[j];
      a[j] = tmp;
    }
    return a;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
