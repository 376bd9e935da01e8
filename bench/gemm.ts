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

/** One GEMM shape `[m, k] × [k, n]` (`batch` of them per product) and how many times a step runs it. */
export interface GemmShape {
  m: number;
  k: number;
  n: number;
  /** Products per call (batched matMul, e.g. attention over batch × heads); 1 for a plain 2-D product. */
  batch: number;
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
      const shape = gemmOf(a, b, (k.outputShapes as number[][])[0]);
      if (shape) {
        const key = `${shape.batch}:${shape.m}x${shape.k}x${shape.n}`;
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
    gemms: [...gemms.values()].sort((x, y) => gemmFlops([y]) - gemmFlops([x])),
  };
}

/**
 * `[m, k] × [k, n]` and the batch of a matMul from its input and output shapes, whichever operand is
 * transposed (a profile does not record the flags; the output fixes m and n, the inputs' sizes give k).
 * Undefined when the shapes are inconsistent.
 */
export function gemmOf(a: number[], b: number[], out: number[]): Omit<GemmShape, "count"> | undefined {
  const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
  if (a.length < 2 || b.length < 2 || out.length < 2) return undefined;
  const m = out[out.length - 2], n = out[out.length - 1];
  const batch = size(out.slice(0, -2));
  const batchA = size(a.slice(0, -2)), batchB = size(b.slice(0, -2));
  if (m * n === 0 || (batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) {
    return undefined;
  }
  const k = size(a) / (batchA * m);
  if (
    !Number.isInteger(k) || k !== size(b) / (batchB * n) ||
    !(a.slice(-2).includes(m) && b.slice(-2).includes(n))
  ) {
    return undefined;
  }
  return { m, k, n, batch };
}

/** FLOPs of a list of GEMMs with multiplicities (multiply-add = 2). */
export function gemmFlops(shapes: GemmShape[]): number {
  return shapes.reduce((s, g) => s + 2 * g.m * g.k * g.n * g.batch * g.count, 0);
}

/**
 * Median milliseconds of `tf.matMul` for each shape alone on the active backend (`[batch, m, k] × [batch, k,
 * n]` when batched; operands untransposed), and the step-equivalent total Σ count × median.
 */
export async function timeGemms(
  shapes: GemmShape[],
  repeats = 7,
): Promise<{ totalMs: number; rows: (GemmShape & { ms: number })[] }> {
  const rows: (GemmShape & { ms: number })[] = [];
  for (const g of shapes) {
    const lead = g.batch > 1 ? [g.batch] : [];
    const a = tf.randomNormal([...lead, g.m, g.k]);
    const b = tf.randomNormal([...lead, g.k, g.n]);
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
