/**
 * Bilinear resampling of NHWC feature maps as products with constant interpolation matrices, one per axis.
 * The heads resample at every pyramid level and the logits back to the image; written this way each axis is
 * one matMul whose gradient is the product with the transposed matrix, so the op has a gradient on the wasm
 * backend and stays on its fast path (no gather).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { customOp, type SaveFn } from "../ops.ts";

/**
 * The `[m, n]` matrix of 1-D bilinear resampling from n to m samples with half-pixel centres (PyTorch's
 * `align_corners=False`, OpenCV, TF `halfPixelCenters`): output o reads source position
 * `(o + 0.5)·n/m − 0.5`, clamped to the edges. Halving an even length gives exactly pairwise averages.
 */
export function interpolationMatrix(n: number, m: number): Float32Array {
  const a = new Float32Array(m * n);
  for (let o = 0; o < m; o++) {
    let s = ((o + 0.5) * n) / m - 0.5;
    if (s < 0) s = 0;
    if (s > n - 1) s = n - 1;
    const lo = Math.floor(s);
    const hi = Math.min(lo + 1, n - 1);
    const f = s - lo;
    a[o * n + lo] += 1 - f;
    a[o * n + hi] += f;
  }
  return a;
}

const matrixCache = new Map<string, { a: tf.Tensor2D; at: tf.Tensor2D }>();
/** Cached constant resampling matrix `[m, n]` and its transpose (kept across steps on purpose). */
function resampleMatrices(n: number, m: number): { a: tf.Tensor2D; at: tf.Tensor2D } {
  const key = `${tf.getBackend()}:${n}:${m}`;
  let e = matrixCache.get(key);
  if (!e || e.a.isDisposed || e.at.isDisposed) {
    const a = interpolationMatrix(n, m);
    const at = new Float32Array(n * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) at[j * m + i] = a[i * n + j];
    e = { a: tf.keep(tf.tensor2d(a, [m, n])), at: tf.keep(tf.tensor2d(at, [n, m])) };
    matrixCache.set(key, e);
  }
  return e;
}

/** `A @ x` for a constant `A [m, n]` and x `[n, R]`; the gradient is the plain product `Aᵀ @ dy`. */
function mixRows(x: tf.Tensor2D, m: number): tf.Tensor2D {
  const n = x.shape[0];
  const { a, at } = resampleMatrices(n, m);
  const op = customOp<tf.Tensor2D>((...args) => {
    const [input] = args as [tf.Tensor, SaveFn];
    return {
      value: tf.matMul(a, input as tf.Tensor2D),
      gradFunc: (dy) => [tf.matMul(at, dy as tf.Tensor2D)],
    };
  });
  return op(x);
}

/**
 * Bilinear resize of NHWC maps `[B, h, w, C]` to `[B, H, W, C]` (half-pixel centres, edge clamping), as two
 * products with constant interpolation matrices; identity when the size is unchanged.
 */
export function resample(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  let [b, h, w, c] = x.shape;
  let y = x;
  if (h !== height) {
    const rows = tf.reshape(tf.transpose(y, [1, 0, 2, 3]), [h, b * w * c]) as tf.Tensor2D; // [h, B·w·C]
    y = tf.transpose(tf.reshape(mixRows(rows, height), [height, b, w, c]), [1, 0, 2, 3]);
    h = height;
  }
  if (w !== width) {
    const cols = tf.reshape(tf.transpose(y, [2, 0, 1, 3]), [w, b * h * c]) as tf.Tensor2D; // [w, B·h·C]
    y = tf.transpose(tf.reshape(mixRows(cols, width), [width, b, h, c]), [1, 2, 0, 3]);
  }
  return y;
}
