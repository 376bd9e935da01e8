/**
 * The mechanics of one training step shared by pre-training and fine-tuning: the micro-batch size for
 * gradient accumulation, the accumulation itself (gradients and metrics averaged over micro-batches by size),
 * and whether the step leaves its metrics on the device instead of reading them.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ConfigError } from "../backend.ts";

/**
 * Whether a training step leaves its metrics on the device (`PendingMetrics`) instead of reading them: on
 * webgpu, where a read waits for the GPU to finish everything queued (GPA_DEFER_READS=0|1 overrides). Off
 * elsewhere: on wasm and cpu a read costs nothing, and the step keeps skipping the update on a non-finite
 * loss.
 */
export function deferredReads(): boolean {
  const env = Deno.env.get("GPA_DEFER_READS");
  if (env === "0" || env === "1") return env === "1";
  if (env) throw new ConfigError(`GPA_DEFER_READS must be 0 or 1, got '${env}'`);
  return tf.getBackend() === "webgpu";
}

/** Metric key a chunk may use to report its objective when the differentiated value includes observers. */
export const OBJECTIVE = "__objective";

/**
 * Runs `chunk(start, end)`'s objective on micro-batches and returns the size-weighted average of their
 * gradients (by parameter name); scalar metrics (the objective as `loss`, plus each chunk's `extraMetrics`) are
 * averaged the same way into `sums`, or, when `deviceSums` is given, into kept scalar tensors there (nothing is
 * read back: the caller owns them, e.g. through `PendingMetrics`).
 */
export async function accumulateGradients(
  batch: number,
  micro: number,
  vars: tf.Variable[],
  byVarName: Map<string, string>,
  chunk: (start: number, end: number) => {
    f: () => tf.Scalar;
    extraMetrics?: Record<string, tf.Scalar>;
    dispose?: () => void;
  },
  sums: Map<string, number>,
  deviceSums?: Map<string, tf.Scalar>,
): Promise<Map<string, tf.Tensor>> {
  const acc = new Map<string, tf.Tensor>();
  // Adds w·v to a metric: a number read now, or a kept tensor on the device (v is not disposed here).
  const addMetric = async (k: string, w: number, v: tf.Scalar) => {
    if (!deviceSums) {
      sums.set(k, (sums.get(k) ?? 0) + w * (await v.data())[0]);
      return;
    }
    const prev = deviceSums.get(k);
    deviceSums.set(
      k,
      tf.keep(tf.tidy(() => prev ? tf.add(prev, tf.mul(v, w)) : w === 1 ? v.clone() : tf.mul(v, w))),
    );
    prev?.dispose();
  };
  for (let start = 0; start < batch; start += micro) {
    const end = Math.min(batch, start + micro);
    const w = (end - start) / batch;
    const c = chunk(start, end);
    const { value, grads } = tf.variableGrads(c.f, vars);
    const objective = c.extraMetrics?.[OBJECTIVE] ?? value;
    await addMetric("loss", w, objective);
    for (const [k, v] of Object.entries(c.extraMetrics ?? {})) {
      if (k !== OBJECTIVE) await addMetric(k, w, v);
      v.dispose();
    }
    for (const [vn, g] of Object.entries(grads)) {
      const name = byVarName.get(vn) ?? vn;
      const prev = acc.get(name);
      const scaled = w === 1 ? g : tf.mul(g, w);
      if (prev) {
        acc.set(name, tf.add(prev, scaled));
        prev.dispose();
      } else {
        acc.set(name, w === 1 ? g : tf.keep(scaled));
      }
      if (scaled !== g) {
        g.dispose();
        if (prev) scaled.dispose();
      }
    }
    value.dispose();
    c.dispose?.();
  }
  return acc;
}
