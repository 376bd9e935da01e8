/**
 * docs/cluster.md's Slurm recipe on a real one-node Slurm (issue 26, item 6): `tests/slurm/one_node.sh` installs
 * Debian's slurm-wlm and munge when missing, starts them from a scratch folder, submits the documented job
 * array and its report job (smoke profile, 2 seeds, a shared cache) and checks that the report finds every run
 * cached. Opt-in (root, packages, daemons): `GPA_TEST_SLURM=1 deno test -A tests/slurm_test.ts`; .ci/run runs
 * the script itself.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./slurm/one_node.sh", import.meta.url));

Deno.test({
  name: "slurm: the documented job array and report job run on a one-node Slurm",
  ignore: Deno.env.get("GPA_TEST_SLURM") !== "1",
  fn: async () => {
    const out = await new Deno.Command("bash", { args: [SCRIPT], stdin: "null" }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /report: \| Cache hits \| (\d+) of \1 runs \|/);
    assert.match(text, /slurm test: ok in \d+ s \(array tasks: 4\)/);
  },
});
