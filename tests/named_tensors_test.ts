/** Parameters to and from named tensors (lib/named_tensors.ts). */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend.ts";
import { loadNamedInto, namedTensorsOf, WeightsMismatchError } from "../lib/named_tensors.ts";

Deno.test("named tensors: a round trip, a filter, and a mismatch that leaves the model untouched", async () => {
  await selectBackend("cpu");
  const params = new Map<string, tf.Variable>([
    ["a", tf.variable(tf.tensor2d([[1, 2], [3, 4]]))],
    ["b", tf.variable(tf.tensor1d([5, 6]))],
  ]);
  const named = await namedTensorsOf(params);
  assert.deepEqual(named.a.shape, [2, 2]);
  assert.deepEqual(Array.from(named.b.data), [5, 6]);
  assert.deepEqual(Object.keys(await namedTensorsOf(params, (n) => n === "b")), ["b"]);
  params.get("a")!.assign(tf.zeros([2, 2]));
  loadNamedInto(named, params);
  assert.deepEqual(Array.from(params.get("a")!.dataSync()), [1, 2, 3, 4]);
  // A wrong shape for b: nothing is assigned, a included.
  params.get("a")!.assign(tf.zeros([2, 2]));
  assert.throws(
    () => loadNamedInto({ ...named, b: { shape: [3], data: new Float32Array(3) } }, params),
    (e: Error) => e instanceof WeightsMismatchError && /tensor b: checkpoint shape \[3\]/.test(e.message),
  );
  assert.deepEqual(Array.from(params.get("a")!.dataSync()), [0, 0, 0, 0]);
  assert.throws(() => loadNamedInto({ a: named.a }, params), /checkpoint lacks tensor b/);
  loadNamedInto({ a: named.a }, params, { allowMissing: true });
  assert.deepEqual(Array.from(params.get("a")!.dataSync()), [1, 2, 3, 4]);
  for (const v of params.values()) v.dispose();
});
