/**
 * Counts the tensors made from CPU values while `fn` runs: they go through the engine's `makeTensor` (what
 * becomes an upload on webgpu); kernel outputs do not. Shared by the tests that pin shared scalars.
 */
import * as tf from "@tensorflow/tfjs";

/** Runs `fn` and returns its result with the number of tensors made from values meanwhile. */
export async function countTensorsMade<T>(fn: () => T | Promise<T>): Promise<{ result: T; made: number }> {
  // deno-lint-ignore no-explicit-any
  const engine = tf.engine() as any;
  const makeTensor = engine.makeTensor;
  let made = 0;
  engine.makeTensor = function (...a: unknown[]) {
    made++;
    return makeTensor.apply(this, a);
  };
  try {
    const result = await fn();
    return { result, made };
  } finally {
    engine.makeTensor = makeTensor;
  }
}
