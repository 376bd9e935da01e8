/**
 * The documentation's commands are true (issue 26, item 7): every `sh` block of README.md and docs/*.md is run
 * on the smoke profile from a scratch folder and cache — exit 0, no error line, and the output each command
 * promises — or skipped for a reason listed here (the cpu and paper profiles take hours or ImageNet; installs;
 * what .ci/run or other tests run). `HASH` in a block is the hash the walk-through's `pretrain` printed;
 * `my_images` is a generated 3-class image folder.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { childEnv } from "./cli_run.ts";
import { writeImageFolder } from "./image_folder_fixture.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/** Why a block is not run here; the first that matches applies. */
const SKIPS: [RegExp, string][] = [
  [
    /#SBATCH/,
    "a Slurm job script: tests/slurm/one_node.sh runs it on a one-node Slurm (GPA_TEST_SLURM=1, .ci/run)",
  ],
  [/--profile (cpu|paper)\b/, "names the cpu or paper profile: hours of compute, or ImageNet and a GPU"],
  [
    /^npx /m,
    "fetches Deno from the npm registry; `deno task table1` runs in .ci/run, `deno task test` is this suite",
  ],
  [
    /deno task (all|table\d+)\b/,
    "every smoke table runs in .ci/run (`deno task all --profile smoke`, twice)",
  ],
  [/deno task test\b/, "the test suite itself"],
  [/apt-get|brew install|deno install/, "installs system or npm packages"],
  [/--backend webgpu/, "needs a WebGPU adapter (tests/webgpu_test.ts, opt-in)"],
  [/deno task bench/, "a benchmark: minutes, and PyTorch (--peer); its checks run in bench_checks_test"],
  [/<command>|<task>/, "a template of the command line, not a command"],
];

/** The `sh` blocks of a Markdown file: their commands (continuation lines joined, comments dropped). */
export function shellBlocks(markdown: string): { line: number; text: string; commands: string[] }[] {
  const out: { line: number; text: string; commands: string[] }[] = [];
  const re = /^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm;
  for (const m of markdown.matchAll(re)) {
    const line = markdown.slice(0, m.index).split("\n").length;
    const commands: string[] = [];
    let pending = "";
    for (const raw of m[1].split("\n")) {
      const l = raw.replace(/\s+#\s.*$/, "").replace(/^#.*$/, "");
      if (l.trimEnd().endsWith("\\")) {
        pending += l.trimEnd().slice(0, -1) + " ";
        continue;
      }
      const c = (pending + l).trim().replace(/\s+/g, " ");
      pending = "";
      if (c) commands.push(c);
    }
    out.push({ line, text: m[1], commands });
  }
  return out;
}

Deno.test("docs: block parsing joins continuations and drops comments", () => {
  const md =
    "x\n```sh\n# a comment\ndeno run -A main.ts a \\\n  --b c   # why\n\ndeno run -A main.ts d\n```\n";
  assert.deepEqual(shellBlocks(md), [{
    line: 2,
    text: "# a comment\ndeno run -A main.ts a \\\n  --b c   # why\n\ndeno run -A main.ts d\n",
    commands: ["deno run -A main.ts a --b c", "deno run -A main.ts d"],
  }]);
});

Deno.test("docs: `main.ts help` lists every command main.ts dispatches", async () => {
  const { HELP } = await import("../cli/help.ts");
  const main = await Deno.readTextFile(`${ROOT}/main.ts`);
  const commands = [...main.matchAll(/case "([a-z][a-z-]*)":/g)].map((m) => m[1]);
  assert.ok(commands.length > 15);
  for (const c of commands) assert.match(HELP, new RegExp(`^  ${c}\\b`, "m"), `help lists ${c}`);
});

Deno.test("docs: every command block of README.md and docs/ runs on the smoke profile, or says why not", async () => {
  const files = ["README.md", ...[...Deno.readDirSync(`${ROOT}/docs`)].map((e) => `docs/${e.name}`).sort()]
    .filter((f) => f.endsWith(".md"));
  const dir = await Deno.makeTempDir({ prefix: "gpa-docs-" });
  const t0 = performance.now();
  const ran: string[] = [];
  const skipped: string[] = [];
  try {
    await writeImageFolder(`${dir}/my_images`, { train: 12, val: 4, size: 32 });
    const env = childEnv({ GPA_CACHE_DIR: `${dir}/cache` });
    let hash: string | undefined;
    for (const file of files) {
      for (const block of shellBlocks(await Deno.readTextFile(`${ROOT}/${file}`))) {
        const where = `${file}:${block.line}`;
        const skip = SKIPS.find(([re]) => re.test(block.text));
        if (skip) {
          skipped.push(`${where}: ${skip[1]}`);
          continue;
        }
        for (const command of block.commands) {
          assert.match(
            command,
            /^deno run -A main\.ts /,
            `${where}: '${command}' is neither run here nor skipped with a reason (add one to SKIPS)`,
          );
          if (command.includes("HASH")) assert.ok(hash, `${where}: HASH before any pretrain printed one`);
          const args = command.replace(/^deno run -A main\.ts /, "").replaceAll("HASH", hash ?? "").split(
            /\s+/,
          );
          const out = await new Deno.Command(Deno.execPath(), {
            args: ["run", "-A", `${ROOT}/main.ts`, ...args, "--backend", "wasm"],
            cwd: dir,
            env,
            clearEnv: true,
            stdin: "null",
          }).output();
          const stdout = new TextDecoder().decode(out.stdout);
          const stderr = new TextDecoder().decode(out.stderr);
          assert.equal(out.code, 0, `${where}: ${command}\n${stderr}`);
          assert.doesNotMatch(stderr, /^error:/m, `${where}: ${command}`);
          if (args[0] === "pretrain") {
            const m = /^pretrain ([0-9a-f]{16})/m.exec(stdout);
            assert.ok(m, `${where}: pretrain prints its hash:\n${stdout}`);
            hash = m[1];
          }
          if (args[0] === "finetune" || args[0] === "linprobe") assert.match(stdout, /top-1 [\d.]+%/, where);
          if (args[0] === "knn") assert.match(stdout, /^k-NN .* top-1 [\d.]+%/m, where);
          if (args[0] === "gpa-maps") assert.match(stdout, /contact sheet: .*contact_sheet\.png/, where);
          if (args[0] === "export") assert.match(stdout, /^wrote .*: encoder of run [0-9a-f]{16}/, where);
          ran.push(`${where}: ${command}`);
        }
      }
    }
    console.log(
      `ran ${ran.length} commands in ${((performance.now() - t0) / 1000).toFixed(1)} s:\n  ${
        ran.join("\n  ")
      }\n` +
        `skipped ${skipped.length} blocks:\n  ${skipped.join("\n  ")}`,
    );
    assert.ok(ran.length >= 8, "the walk-through, runs, gpa-maps, export and the image-folder example ran");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
