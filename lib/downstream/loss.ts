/**
 * The segmentation training loss: per-pixel cross-entropy that skips void (ignore-label) pixels and averages
 * over the valid ones, as mmseg's `CrossEntropyLoss` with `ignore_index`. Its own module because the label
 * handling (void pixels, range checks) is what needs testing by hand, apart from the model.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { sumRows } from "../ops.ts";

/**
 * Mean per-pixel cross-entropy over the pixels whose label is not `ignoreLabel` (mmseg's
 * `CrossEntropyLoss` with `ignore_index`, reduction mean over valid pixels). logits `[B, H, W, K]`, labels
 * `[B·H·W]`. A batch without valid pixels has loss 0.
 */
export function pixelCrossEntropy(logits: tf.Tensor4D, labels: Int32Array, ignoreLabel: number): tf.Scalar {
  const [b, h, w, k] = logits.shape;
  const n = b * h * w;
  if (labels.length !== n) throw new RangeError(`${labels.length} labels for ${n} pixels`);
  // Void pixels become −1, whose one-hot row is all zeros.
  const targets = new Int32Array(n);
  let valid = 0;
  for (let i = 0; i < n; i++) {
    const t = labels[i];
    if (t === ignoreLabel) {
      targets[i] = -1;
      continue;
    }
    if (!(t >= 0 && t < k)) throw new RangeError(`label ${t} at pixel ${i} is outside 0..${k - 1}`);
    targets[i] = t;
    valid++;
  }
  const logProbs = tf.logSoftmax(tf.reshape(logits, [n, k]) as tf.Tensor2D); // [N, K]
  const picked = tf.mul(logProbs, tf.oneHot(tf.tensor1d(targets, "int32"), k)) as tf.Tensor2D;
  // Sum rows on the fast path, then the K class columns.
  return tf.div(tf.neg(tf.sum(sumRows(picked))), Math.max(valid, 1)) as tf.Scalar;
}
