/**
 * The 3×3 convolution of the segmentation heads (stride 1, zero padding 1, NHWC, no bias) as a custom op:
 * forward is the backend's own `tf.conv2d`, the gradient is written by hand with one matMul per operand and
 * shifted slices, because the wasm backend has no Conv2DBackpropFilter kernel and would otherwise leave the
 * fast path (or fail). Kept apart from the heads so the op and its weight layout can be tested on their own.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { customOp, type SaveFn } from "../ops.ts";

const conv3x3Op = customOp<tf.Tensor4D>((...args) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, SaveFn];
  const [b, h, wd, cin] = (x as tf.Tensor4D).shape;
  const cout = (w as tf.Tensor2D).shape[1] / 9;
  save([tf.reshape(x, [b * h * wd, cin]), w]);
  // Forward: the backend's own convolution (XNNPACK on wasm).
  const value = tf.conv2d(x as tf.Tensor4D, convWeightToFilter(w as tf.Tensor2D), 1, "same");
  return {
    value,
    gradFunc: (dy, saved) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const d = dy as tf.Tensor4D; // [B, h, w, cout]
      // out[y, x] = Σ_k (x @ W_k)[y + ky − 1, x + kx − 1], so dY_k[y, x] = dOut[y − ky + 1, x − kx + 1]:
      // 9 shifted windows of the zero-padded output gradient, `[N, 9·cout]`; then two plain products.
      const dp = tf.pad(d, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      const windows: tf.Tensor4D[] = [];
      for (let ky = 0; ky < 3; ky++) {
        for (let kx = 0; kx < 3; kx++) windows.push(tf.slice(dp, [0, 2 - ky, 2 - kx, 0], [b, h, wd, cout]));
      }
      const dY = tf.reshape(tf.concat(windows, 3), [b * h * wd, 9 * cout]) as tf.Tensor2D;
      const dx = tf.reshape(tf.matMul(dY, tf.transpose(ws)), [b, h, wd, cin]);
      const dw = tf.matMul(tf.transpose(xs), dY);
      return [dx, dw];
    },
  };
});

/**
 * 3×3 convolution, stride 1, zero padding 1, on NHWC maps, without bias. The weight is stored `[Cin, 9·Cout]`:
 * column `(ky·3 + kx)·Cout + o` holds PyTorch's `weight[o, i, ky, kx]` (`convWeightToFilter` converts).
 * Forward is `tf.conv2d`; the gradient is written with plain products and slices because the wasm backend
 * has no Conv2DBackpropFilter kernel.
 */
export function conv3x3(x: tf.Tensor4D, w: tf.Tensor2D): tf.Tensor4D {
  if (w.shape[1] % 9 !== 0 || w.shape[0] !== x.shape[3]) {
    throw new RangeError(`conv3x3 weight [${w.shape}] does not fit ${x.shape[3]} input channels`);
  }
  return conv3x3Op(x, w);
}

/** The `[3, 3, Cin, Cout]` filter of `tf.conv2d` equal to a `conv3x3` weight `[Cin, 9·Cout]`. */
export function convWeightToFilter(w: tf.Tensor2D): tf.Tensor4D {
  const [cin, n] = w.shape;
  return tf.transpose(tf.reshape(w, [cin, 3, 3, n / 9]), [1, 2, 0, 3]);
}
