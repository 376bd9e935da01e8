/**
 * The fast-ops layer: every op the models use, with gradients written so that heavy products stay on the
 * backend's fast path.
 *
 * Why: on tfjs-wasm only plain (non-transposed, non-batched) 2-D matMul reaches XNNPACK. tfjs's own matMul
 * gradient multiplies by transposed operands and batched matMul runs a scalar loop, both ~10–30× slower; a sum
 * over the outer axis is ~30× slower than `ones[1, M] @ x`. Each op here therefore has a custom gradient
 * (explicit transposes, then plain products; batched products as depthwise convolutions). Other backends
 * (webgpu, tensorflow, cpu) use plain tfjs ops with autodiff, which are fast there. Both paths are tested
 * against each other in value and gradient.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { blasMatMulActive } from "./blas.ts";
import { NATIVE_KERNELS, nativeKernelsActive } from "./native.ts";

/** Images per chunk of a pass, whose intermediates live until it ends: ≤ 32 on wasm (4 GiB heap; GPA_MICRO_BATCH). */
export function microBatchSize(batch: number): number {
  const env = Number(Deno.env.get("GPA_MICRO_BATCH") ?? NaN);
  if (Number.isInteger(env) && env > 0) return Math.min(env, batch);
  return tf.getBackend() === "wasm" ? Math.min(32, batch) : batch;
}

/** Which implementation the ops use: "custom" (fast-path gradients), "plain" (tfjs autodiff), or "auto". */
export type OpsMode = "auto" | "custom" | "plain";
let mode: OpsMode = "auto";

/** Forces an implementation (tests compare "custom" with "plain"); "auto" = custom on wasm only. */
export function setOpsMode(m: OpsMode): void {
  mode = m;
}

function useCustom(): boolean {
  return mode === "custom" || (mode === "auto" && tf.getBackend() === "wasm");
}

/** Whether LayerNorm, GELU and softmax run as fused native kernels (wasm with `lib/native.ts` installed). */
function useNative(): boolean {
  return nativeKernelsActive() && useCustom() && tf.getBackend() === "wasm";
}

/** Runs a kernel of lib/native.ts (registered for wasm only). */
function runNative<T extends tf.Tensor | tf.Tensor[]>(
  name: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, number> = {},
): T {
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs) as unknown as T;
}

/**
 * Whether transposed and batched matMuls are as fast as plain ones: true off the custom path, and on wasm when
 * its BatchMatMul runs on native BLAS (`lib/blas.ts`), whose sgemm takes transposes as flags.
 */
function flagsAreFree(): boolean {
  return !useCustom() || (tf.getBackend() === "wasm" && blasMatMulActive());
}

/** Save function handed to a custom op's forward. */
export type SaveFn = (tensors: tf.Tensor[]) => void;
/** A custom-gradient op body over `n` tensor inputs. */
type CustomBody = (...args: [...tf.Tensor[], SaveFn]) => {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
};
/** `tf.customGrad` with simple typings: inputs are tensors, the last argument is the save function. */
export function customOp<R extends tf.Tensor>(body: CustomBody): (...inputs: tf.Tensor[]) => R {
  return tf.customGrad(body as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    ...inputs: tf.Tensor[]
  ) => R;
}

/**
 * Tensors kept for the process (on purpose; not a leak), per backend instance: after `tf.engine().reset()` or
 * a backend's re-registration the old tensors' data is gone, so a new instance gets a new cache.
 */
const keptByBackend = new WeakMap<object, Map<string, tf.Tensor>>();

/** The kept tensor `key` of the active backend, made by `make` on first use. */
function kept<T extends tf.Tensor>(key: string, make: () => T): T {
  const backend = tf.backend() as object;
  let cache = keptByBackend.get(backend);
  if (!cache) keptByBackend.set(backend, cache = new Map());
  let t = cache.get(key) as T | undefined;
  if (!t || t.isDisposed) {
    t = tf.keep(make());
    cache.set(key, t);
  }
  return t;
}

/** A cached `[1, n]` row of ones. */
function onesRow(n: number): tf.Tensor2D {
  return kept(`ones:${n}`, () => tf.ones([1, n]) as tf.Tensor2D);
}

/** Column sums `[N, D] → [D]` as `ones[1, N] @ x` (fast on wasm). */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  if (!useCustom()) return tf.sum(x, 0);
  return tf.matMul(onesRow(x.shape[0]), x).reshape([x.shape[1]]);
}

/** `[dx, dw]` of `x @ w` for the cotangent dy: transposes as flags where they are free, else explicit. */
function linearGrads(x: tf.Tensor2D, w: tf.Tensor2D, dy: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  if (flagsAreFree()) return [tf.matMul(dy, w, false, true), tf.matMul(x, dy, true, false)]; // [N, Din], [Din, Dout]
  return [tf.matMul(dy, tf.transpose(w)), tf.matMul(tf.transpose(x), dy)];
}

const linearCustom = customOp<tf.Tensor2D>((...a) => {
  const [x, w, b, save] = a as [tf.Tensor, tf.Tensor, tf.Tensor, SaveFn];
  // x [N, Din], w [Din, Dout], b [Dout]
  save([x, w]);
  // Forward intermediates are freed at once (tidy): only the saved tensors live until the backward pass.
  const value = tf.tidy(() => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b));
  return {
    value,
    gradFunc: (dy, saved) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const dy2 = dy as tf.Tensor2D;
      const [dx, dw] = linearGrads(xs, ws, dy2);
      const db = sumRows(dy2); // [Dout]
      return [dx, dw, db];
    },
  };
});

const linearNoBiasCustom = customOp<tf.Tensor2D>((...a) => {
  const [x, w, save] = a as [tf.Tensor, tf.Tensor, SaveFn];
  save([x, w]);
  const value = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  return {
    value,
    gradFunc: (dy, saved) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      return linearGrads(xs, ws, dy as tf.Tensor2D);
    },
  };
});

/** Affine map `x @ w + b`: x `[N, Din]`, w `[Din, Dout]`, b `[Dout]` → `[N, Dout]`. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor1D): tf.Tensor2D {
  if (!useCustom()) return b ? tf.add(tf.matMul(x, w), b) : tf.matMul(x, w);
  return b ? linearCustom(x, w, b) : linearNoBiasCustom(x, w);
}

const layerNormCustom = (eps: number) =>
  customOp<tf.Tensor2D>((...a) => {
    const [x, gamma, beta, save] = a as [tf.Tensor, tf.Tensor, tf.Tensor, SaveFn];
    // x [N, D]
    const [value, xhat, rstd] = tf.tidy(() => {
      const x2 = x as tf.Tensor2D;
      const mean = tf.mean(x2, 1, true); // [N, 1]
      const xc = tf.sub(x2, mean);
      const variance = tf.mean(tf.square(xc), 1, true);
      const rstd = tf.rsqrt(tf.add(variance, eps)); // [N, 1]
      const xhat = tf.mul(xc, rstd);
      return [tf.add(tf.mul(xhat, gamma), beta), xhat, rstd];
    });
    save([xhat, rstd, gamma]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [xh, rs, g] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const dy2 = dy as tf.Tensor2D;
        const dxhat = tf.mul(dy2, g);
        const meanDxhat = tf.mean(dxhat, 1, true);
        const meanDxhatXhat = tf.mean(tf.mul(dxhat, xh), 1, true);
        const dx = tf.mul(rs, tf.sub(tf.sub(dxhat, meanDxhat), tf.mul(xh, meanDxhatXhat)));
        return [dx, sumRows(tf.mul(dy2, xh)), sumRows(dy2)];
      },
    };
  });

// One pass forward, one backward (lib/native.ts); saves x and the row statistics, whose clones share buffers.
const layerNormNative = (eps: number) =>
  customOp<tf.Tensor2D>((...a) => {
    const [x, gamma, beta, save] = a as [tf.Tensor, tf.Tensor, tf.Tensor, SaveFn];
    const [value, mean, rstd] = runNative<tf.Tensor[]>(NATIVE_KERNELS.layerNorm, { x, gamma, beta }, { eps });
    save([x, gamma, mean, rstd]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [xs, g, mu, rs] = saved;
        return runNative<tf.Tensor[]>(NATIVE_KERNELS.layerNormGrad, {
          dy,
          x: xs,
          gamma: g,
          mean: mu,
          rstd: rs,
        });
      },
    };
  });

const layerNormCache = new Map<number, ReturnType<typeof layerNormCustom>>();
const layerNormNativeCache = new Map<number, ReturnType<typeof layerNormNative>>();

/** LayerNorm over the last axis: x `[N, D]`, gamma/beta `[D]`. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-6): tf.Tensor2D {
  if (!useCustom()) {
    const { mean, variance } = tf.moments(x, 1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, constant(eps)))), gamma), beta);
  }
  const native = useNative();
  const cache = native ? layerNormNativeCache : layerNormCache;
  let f = cache.get(eps);
  if (!f) cache.set(eps, f = (native ? layerNormNative : layerNormCustom)(eps));
  return f(x, gamma, beta);
}

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/**
 * A float32 scalar kept for the process, one per backend and value: the same value `tf.mul(x, 0.5)` would
 * convert, so results are bit-identical. Why: a number operand is a fresh tensor per call, which on webgpu is
 * an upload (a staging buffer, a copy and the end of the compute pass) — 50 per MAE step from these ops.
 */
function constant(value: number): tf.Scalar {
  return kept(`scalar:${value}`, () => tf.scalar(value, "float32"));
}

const geluCustom = customOp<tf.Tensor>((...a) => {
  const [x, save] = a as [tf.Tensor, SaveFn];
  // GELU, tanh form, written as x·σ(2u) with u = c(x + a x³): Exp is ~4× cheaper than Tanh on wasm.
  const [value, s] = tf.tidy(() => {
    const z = tf.mul(tf.mul(x, tf.add(tf.mul(tf.square(x), GELU_A), 1)), 2 * GELU_C);
    const sig = tf.sigmoid(z);
    return [tf.mul(x, sig), sig];
  });
  save([x, s]);
  return {
    value,
    gradFunc: (dy, saved) => {
      const [xs, ss] = saved;
      // d/dx x·σ(z) = σ + x·σ(1−σ)·z',  z' = 2c(1 + 3a x²)
      const dz = tf.mul(tf.add(tf.mul(tf.square(xs), 3 * GELU_A), 1), 2 * GELU_C);
      const grad = tf.add(ss, tf.mul(tf.mul(xs, tf.mul(ss, tf.sub(1, ss))), dz));
      return [tf.mul(dy, grad)];
    },
  };
});

const geluNative = customOp<tf.Tensor>((...a) => {
  const [x, save] = a as [tf.Tensor, SaveFn];
  save([x]); // σ is recomputed in the backward kernel: cheaper than a saved tensor
  return {
    value: runNative<tf.Tensor>(NATIVE_KERNELS.gelu, { x }),
    gradFunc: (dy, saved) => [runNative<tf.Tensor>(NATIVE_KERNELS.geluGrad, { dy, x: saved[0] })],
  };
});

/** GELU in its tanh approximation (max deviation from the erf form ≈ 3e-4). */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (!useCustom()) {
    const z = tf.mul(
      tf.mul(x, tf.add(tf.mul(tf.square(x), constant(GELU_A)), constant(1))),
      constant(2 * GELU_C),
    );
    return tf.mul(x, tf.sigmoid(z)) as T;
  }
  return (useNative() ? geluNative(x) : geluCustom(x)) as T;
}

const softmaxNative = customOp<tf.Tensor>((...a) => {
  const [x, save] = a as [tf.Tensor, SaveFn];
  const value = tf.softmax(x);
  save([value]);
  return {
    value,
    gradFunc: (dy, saved) => [runNative<tf.Tensor>(NATIVE_KERNELS.softmaxGrad, { dy, y: saved[0] })],
  };
});

/** Softmax over the last axis; on wasm with the native kernels, its backward is one fused pass. */
export function softmax<T extends tf.Tensor>(x: T): T {
  return (useNative() ? softmaxNative(x) : tf.softmax(x)) as T;
}

/**
 * Channel-batched product `out[m, c, n] = Σ_k a[m, k, c] · b[n, k, c]` for a `[M, K, C]`, b `[N, K, C]`.
 *
 * On wasm this is a depthwise convolution (input a as `[1, M, K, C]`, filter b as `[1, K, C, N]`), which runs
 * on XNNPACK; its gradient is built from the same op. Elsewhere it is a batched matMul.
 */
export function channelBatchedMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (!useCustom()) {
    const at = tf.transpose(a, [2, 0, 1]); // [C, M, K]
    const bt = tf.transpose(b, [2, 0, 1]); // [C, N, K]
    return tf.transpose(tf.matMul(at, bt, false, true), [1, 0, 2]); // [M, C, N]
  }
  return cbmmCustom(a, b);
}

function cbmmForward(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [M, K, C] = a.shape;
  const N = b.shape[0];
  const filter = tf.reshape(tf.transpose(b, [1, 2, 0]), [1, K, C, N]); // [1, K, C, N]
  const out = tf.depthwiseConv2d(
    tf.reshape(a, [1, M, K, C]) as tf.Tensor4D,
    filter as tf.Tensor4D,
    1,
    "valid",
  );
  return tf.reshape(out, [M, C, N]); // channel index = c·N + n
}

const cbmmCustom = customOp<tf.Tensor3D>((...args) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, SaveFn];
  save([a, b]);
  return {
    value: tf.tidy(() => cbmmForward(a as tf.Tensor3D, b as tf.Tensor3D)),
    gradFunc: (dy, saved) => {
      const [as, bs] = saved as [tf.Tensor3D, tf.Tensor3D];
      const d = dy as tf.Tensor3D; // [M, C, N]
      // da[m, k, c] = Σ_n d[m, c, n] b[n, k, c]
      const da = tf.transpose(cbmmForward(tf.transpose(d, [0, 2, 1]), tf.transpose(bs, [1, 0, 2])), [
        0,
        2,
        1,
      ]);
      // db[n, k, c] = Σ_m d[m, c, n] a[m, k, c]
      const db = tf.transpose(cbmmForward(tf.transpose(d, [2, 0, 1]), tf.transpose(as, [1, 0, 2])), [
        0,
        2,
        1,
      ]);
      return [da, db];
    },
  };
});

/** Output of multi-head attention with the pre-softmax logits exposed. */
export interface AttentionResult {
  /** `[B·T, D]` attended values (before the output projection). */
  out: tf.Tensor2D;
  /** Pre-softmax logits `q·kᵀ/√(D/H)`, layout `[Tq, B·H, Tk]` (only when requested). */
  logits?: tf.Tensor3D;
}

/** Splits `[B·T, D]` into per-head layout `[T, dh, B·H]` (the channel-batched layout). */
export function toHeadLayout(x: tf.Tensor2D, batch: number, heads: number): tf.Tensor3D {
  const [bt, d] = x.shape;
  const t = bt / batch;
  const dh = d / heads;
  return tf.reshape(tf.transpose(tf.reshape(x, [batch, t, heads, dh]), [1, 3, 0, 2]), [t, dh, batch * heads]);
}

/**
 * Multi-head scaled dot-product attention on token-major inputs q, k, v `[B·T, D]` (q, k, v already
 * projected). Returns `[B·T, D]`; optionally the pre-softmax logits (what GPA sums).
 */
export function multiHeadAttention(
  q: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  batch: number,
  heads: number,
  opts: { returnLogits?: boolean } = {},
): AttentionResult {
  const [bt, d] = q.shape;
  const dims = { batch, heads, t: bt / batch, dh: d / heads };
  const qs = tf.mul(q, constant(1 / Math.sqrt(dims.dh))) as tf.Tensor2D;
  const wantLogits = opts.returnLogits ?? false;
  const { out, logits } = flagsAreFree()
    ? headBatchedCore(qs, k, v, dims, wantLogits)
    : channelBatchedCore(qs, k, v, dims);
  return { out: tf.reshape(out, [bt, d]) as tf.Tensor2D, logits: wantLogits ? logits : undefined };
}

/** Sizes of one attention call: batch, heads, tokens, head width. */
interface AttentionDims {
  batch: number;
  heads: number;
  t: number;
  dh: number;
}

/**
 * Attention as batched matMuls over `[B·H, T, dh]` (where batched and transposed products are fast).
 * Returns `[B, T, H, dh]` values and, when asked, `[Tq, B·H, Tk]` logits.
 */
function headBatchedCore(
  qs: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  { batch, heads, t, dh }: AttentionDims,
  wantLogits: boolean,
): { out: tf.Tensor; logits?: tf.Tensor3D } {
  const split = (x: tf.Tensor) =>
    tf.reshape(tf.transpose(tf.reshape(x, [batch, t, heads, dh]), [0, 2, 1, 3]), [batch * heads, t, dh]);
  const logits = tf.matMul(split(qs) as tf.Tensor3D, split(k) as tf.Tensor3D, false, true); // [BH, Tq, Tk]
  const pv = tf.matMul(softmax(logits), split(v) as tf.Tensor3D); // [BH, Tq, dh]
  return {
    out: tf.transpose(tf.reshape(pv, [batch, heads, t, dh]), [0, 2, 1, 3]),
    logits: wantLogits ? tf.transpose(logits, [1, 0, 2]) as tf.Tensor3D : undefined, // [Tq, BH, Tk]
  };
}

/** Attention with channel-batched products (depthwise convolutions on wasm's XNNPACK); same outputs. */
function channelBatchedCore(
  qs: tf.Tensor2D,
  k: tf.Tensor2D,
  v: tf.Tensor2D,
  { batch, heads, t, dh }: AttentionDims,
): { out: tf.Tensor; logits?: tf.Tensor3D } {
  const qh = toHeadLayout(qs, batch, heads); // [T, dh, BH]
  const kh = toHeadLayout(k, batch, heads); // [T, dh, BH]
  const logits = channelBatchedMatMul(qh, kh); // [Tq, BH, Tk]
  const probs = softmax(logits); // over Tk
  const vh = tf.reshape(
    tf.transpose(tf.reshape(v, [batch, t, heads, dh]), [3, 1, 0, 2]),
    [dh, t, batch * heads],
  ); // [dh, Tk, BH]
  const pv = channelBatchedMatMul(tf.transpose(probs, [0, 2, 1]) as tf.Tensor3D, vh as tf.Tensor3D); // [Tq, BH, dh]
  return { out: tf.transpose(tf.reshape(pv, [t, batch, heads, dh]), [1, 0, 2, 3]), logits };
}

/** Broadcasts a `[1, D]` row to `[N, D]` with a gradient that sums rows on the fast path. */
export function repeatRow(row: tf.Tensor2D, n: number): tf.Tensor2D {
  if (!useCustom()) return tf.tile(row, [n, 1]);
  return repeatRowCustom(row, tf.zeros([n, 1]));
}

const repeatRowCustom = customOp<tf.Tensor2D>((...a) => {
  const [row, shapeCarrier] = a as unknown as [tf.Tensor, tf.Tensor];
  const n = (shapeCarrier as tf.Tensor2D).shape[0];
  const value = tf.matMul(tf.ones([n, 1]), row as tf.Tensor2D);
  return {
    value,
    gradFunc: (dy) => [sumRows(dy as tf.Tensor2D).reshape([1, -1]), tf.zeros([n, 1])],
  };
});

const detachCustom = customOp<tf.Tensor>((...a) => {
  const [x] = a as [tf.Tensor, SaveFn];
  return { value: tf.clone(x), gradFunc: (dy) => [tf.zerosLike(dy)] };
});

/** Identity whose gradient is zero (PyTorch's `detach()` inside a differentiated function). */
export function detach<T extends tf.Tensor>(x: T): T {
  return detachCustom(x) as T;
}

/** Mean over the token axis of `[B, T, D]` → `[B, D]` (pooling for fine-tuning). */
export function meanTokens(x: tf.Tensor3D): tf.Tensor2D {
  return tf.mean(x, 1);
}
