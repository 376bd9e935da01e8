/**
 * Parameters to and from named tensors (a checkpoint's or a safetensors file's `{name: {shape, data}}`): what
 * saving, resuming and loading weights into a model share. Below the model and the trainers alike.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { NamedTensors } from "./safetensors.ts";
import type { Params } from "./vit.ts";

/**
 * Named copies of tensors (reads are asynchronous: WebGPU in Deno cannot read synchronously), optionally
 * filtered by name and merged into `into`.
 */
export async function namedTensorsOf(
  tensors: Iterable<[string, tf.Tensor]>,
  filter: (name: string) => boolean = () => true,
  into: NamedTensors = {},
): Promise<NamedTensors> {
  for (const [n, t] of tensors) {
    if (filter(n)) into[n] = { shape: t.shape.slice(), data: (await t.data()) as Float32Array };
  }
  return into;
}

/** Loads named tensors into parameters (and extra state); every parameter must be present with its shape. */
export function loadNamedInto(
  named: NamedTensors,
  params: Params,
  opts: { allowMissing?: boolean } = {},
): void {
  // Check every tensor before assigning any, so a file that does not fit leaves the model untouched.
  for (const [n, v] of params) {
    const t = named[n];
    if (!t) {
      if (opts.allowMissing) continue;
      throw new WeightsMismatchError(`checkpoint lacks tensor ${n}`);
    }
    if (t.shape.join(",") !== v.shape.join(",")) {
      throw new WeightsMismatchError(`tensor ${n}: checkpoint shape [${t.shape}] ≠ model shape [${v.shape}]`);
    }
  }
  for (const [n, v] of params) {
    const t = named[n];
    if (t) v.assign(tf.tensor(t.data, t.shape, "float32"));
  }
}

/** Stored weights that do not fit the model (a missing tensor or another shape). */
export class WeightsMismatchError extends Error {
  override name = "WeightsMismatchError";
}
