/**
 * The matrix products inside one training step, and what they cost on their own.
 *
 * `stepKernelProfile` runs a step under `tf.profile` and returns where its kernel time goes and which GEMM
 * shapes it issues (with multiplicities). `timeGemms` then times those shapes alone on the active backend.
 * The sum of those times is a floor for the step on that backend, whatever happens to the rest of the step:
 * (PyTorch's whole step) ÷ (our GEMMs alone) bounds how close to PyTorch the engine can get while its matrix
 * products run on the same GEMM library.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** One GEMM shape `[m, k] × [k, n]` and how many times a step runs it. */
export interface GemmShape {
  m: number;
  k: number;
  n: number;
  count: number;
}

/** Kernel time of one step, by kernel name, and its GEMMs. */
export interface StepKernelProfile {
  /** Sum of leaf kernel times (custom ops' wrappers are not counted twice). */
  totalMs: number;
  /** Milliseconds per kernel name, largest first. */
  byKernel: { name: string; calls: number; ms: number }[];
  /** Share of `totalMs` spent in BatchMatMul. */
  matmulShare: number;
  /** The step's 2-D matrix products (a batch dimension of 1 folded away). */
  gemms: GemmShape[];
}

// Kernels that only wrap others (tf.customGrad's forward) — their time is already in their children.
const WRAPPERS = new Set(["forward"]);

/** Profiles one call of `step` (run a few warm-up steps first) and summarises its kernels and GEMMs. */
export async function stepKernelProfile(step: () => Promise<void>): Promise<StepKernelProfile> {
  const info = await tf.profile(step);
  const byName = new Map<string, { calls: number; ms: number }>();
  const gemms = new Map<string, GemmShape>();
  let totalMs = 0;
  for (const k of info.kernels) {
    if (WRAPPERS.has(k.name)) continue;
    const ms = Number(await k.kernelTimeMs);
    const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += ms;
    byName.set(k.name, e);
    totalMs += ms;
    if (k.name === "BatchMatMul") {
      const [a, b] = k.inputShapes as number[][];
      const shape = gemmOf(a, b);
      if (shape) {
        const key = `${shape.m}x${shape.k}x${shape.n}`;
        const g = gemms.get(key) ?? { ...shape, count: 0 };
        g.count++;
        gemms.set(key, g);
      }
    }
  }
  const byKernel = [...byName].map(([name, e]) => ({ name, ...e })).sort((x, y) => y.ms - x.ms);
  const matmulMs = byName.get("BatchMatMul")?.ms ?? 0;
  return {
    totalMs,
    byKernel,
    matmulShare: totalMs > 0 ? matmulMs / totalMs : 0,
    gemms: [...gemms.values()].sort((x, y) => y.m * y.k * y.n * y.count - x.m * x.k * x.n * x.count),
  };
}

/** `[m, k] × [k, n]` of a (possibly rank-3, batch-1) matMul's input shapes; undefined for batched products. */
export function gemmOf(a: number[], b: number[]): Omit<GemmShape, "count"> | undefined {
  const strip = (s: number[]) => s.length === 3 && s[0] === 1 ? s.slice(1) : s;
  const [sa, sb] = [strip(a), strip(b)];
  if (sa.length !== 2 || sb.length !== 2 || sa[1] !== sb[0]) return undefined;
  return { m: sa[0], k: sa[1], n: sb[1] };
}

/** FLOPs of a list of GEMMs with multiplicities (multiply-add = 2). */
export function gemmFlops(shapes: GemmShape[]): number {
  return shapes.reduce((s, g) => s + 2 * g.m * g.k * g.n * g.count, 0);
}

/**
 * Median milliseconds of `tf.matMul` for each shape alone on the active backend, and the step-equivalent
 * total Σ count × median.
 */
export async function timeGemms(
  shapes: GemmShape[],
  repeats = 7,
): Promise<{ totalMs: number; rows: (GemmShape & { ms: number })[] }> {
  const rows: (GemmShape & { ms: number })[] = [];
  for (const g of shapes) {
    const a = tf.randomNormal([g.m, g.k]);
    const b = tf.randomNormal([g.k, g.n]);
    // wasm and cpu kernels run synchronously; other backends are timed through a read-back.
    const sync = ["wasm", "cpu"].includes(tf.getBackend());
    const once = async () => {
      const t0 = performance.now();
      const c = tf.matMul(a, b);
      if (!sync) await c.data();
      const ms = performance.now() - t0;
      c.dispose();
      return ms;
    };
    await once();
    await once();
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) times.push(await once());
    times.sort((x, y) => x - y);
    rows.push({ ...g, ms: times[Math.floor(times.length / 2)] });
    a.dispose();
    b.dispose();
  }
  return { totalMs: rows.reduce((s, r) => s + r.ms * r.count, 0), rows };
}
