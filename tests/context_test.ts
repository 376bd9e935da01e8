/** The run context's process-level choices: how many OpenBLAS threads a run takes. */
import assert from "node:assert/strict";
import { blasThreadsFor } from "../cli/context.ts";

Deno.test("blasThreadsFor: a lone run takes every core up to 4; --jobs workers, their coordinator and shards take 1", () => {
  const unset = undefined;
  assert.equal(blasThreadsFor({}, 2, unset), 2);
  assert.equal(blasThreadsFor({ jobs: "1" }, 2, unset), 2);
  assert.equal(blasThreadsFor({}, 16, unset), 4);
  assert.equal(blasThreadsFor({}, 1, unset), 1);
  assert.equal(blasThreadsFor({ jobs: "2" }, 2, unset), 1, "the coordinator of --jobs 2");
  assert.equal(blasThreadsFor({ jobs: "2", worker: true }, 2, unset), 1, "a --jobs worker");
  assert.equal(blasThreadsFor({ worker: true }, 2, unset), 1);
  assert.equal(blasThreadsFor({ shard: "1/2" }, 2, unset), 1);
  assert.equal(blasThreadsFor({}, 2, ""), 2, "an empty variable counts as unset");
  assert.equal(blasThreadsFor({}, 2, "3"), undefined, "GPA_BLAS_THREADS decides (selectBackend reads it)");
});
