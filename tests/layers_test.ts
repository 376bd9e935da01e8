/**
 * The architecture's rules, checked on the source: the library (`lib/`) points down only — it never imports
 * the app (`app/`, `cli/`, `main.ts`), the profiles and tables (`experiments/`) or the task scripts — and
 * no module imports itself back through a cycle of static imports.
 */
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
// `import … from "./x.ts"` and `export … from`, over several lines too (statements end at the specifier).
const SPEC = /(?:^|\n)\s*(?:import|export)\b[^"';]*?from\s*["'](\.{1,2}\/[^"']+)["']/g;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const rel = join(dir, e.name);
    if (e.isDirectory) out.push(...(await sources(rel)));
    else if (e.name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

// `import("./x.ts")`, as a lazy load or in a type position (`import("./x.ts").T`).
const DYNAMIC = /\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

/**
 * Relative imports of every project module (type-only imports included: they couple modules too); with
 * `dynamic`, lazy `import("…")` loads and type expressions as well.
 */
async function importGraph(options: { dynamic?: boolean } = {}): Promise<Map<string, string[]>> {
  const files = [
    "main.ts",
    ...(await sources("lib")),
    ...(await sources("app")),
    ...(await sources("cli")),
    ...(await sources("experiments")),
    ...(await sources("tasks")),
  ];
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = await Deno.readTextFile(join(ROOT, f));
    const specs = [...text.matchAll(SPEC), ...(options.dynamic ? text.matchAll(DYNAMIC) : [])];
    graph.set(f, specs.map((m) => normalize(join(dirname(f), m[1]))));
  }
  return graph;
}

Deno.test("layers: no lib/ module imports the app, the CLI, the profiles and tables, or the tasks", async () => {
  const graph = await importGraph({ dynamic: true }); // a lazy import is a dependency too
  const offenders: string[] = [];
  for (const [f, deps] of graph) {
    if (!f.startsWith("lib/")) continue;
    for (const d of deps) {
      if (!d.startsWith("lib/")) offenders.push(`${f} → ${relative(ROOT, join(ROOT, d))}`);
    }
  }
  assert.deepEqual(offenders, [], `lib/ must point down only:\n${offenders.join("\n")}`);
});

Deno.test("layers: inside lib/, the model and the evaluators do not import the trainers", async () => {
  // The model (vit, mae, gpa, …) and lib/eval are below lib/train: training uses them, not the reverse.
  const graph = await importGraph({ dynamic: true });
  const below = (f: string) =>
    f.startsWith("lib/eval/") || ["lib/vit.ts", "lib/mae.ts", "lib/gpa.ts", "lib/encode.ts"].includes(f);
  const offenders: string[] = [];
  for (const [f, deps] of graph) {
    if (!below(f)) continue;
    for (const d of deps) if (d.startsWith("lib/train/")) offenders.push(`${f} → ${d}`);
  }
  assert.deepEqual(
    offenders,
    [],
    `the model and lib/eval must not import lib/train:\n${offenders.join("\n")}`,
  );
});

Deno.test("layers: no import cycles among the project's modules", async () => {
  const graph = await importGraph();
  // Tarjan's strongly connected components; any component with more than one module is a cycle.
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), on = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index), low.set(v, index++), stack.push(v), on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) (visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!)));
      else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do (w = stack.pop()!, on.delete(w), comp.push(w)); while (w !== v);
      if (comp.length > 1) cycles.push(comp);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.map((c) => c.join(" ↔ ")).join("\n")}`);
});

Deno.test("layers: the import scanner sees static, re-exported, lazy and type-position imports", () => {
  const text =
    `import { a } from "./a.ts";\nexport { b } from "../b.ts";\nconst c = await import("./c.ts");\n` +
    `type D = import("../d.ts").D;`;
  assert.deepEqual([...text.matchAll(SPEC)].map((m) => m[1]), ["./a.ts", "../b.ts"]);
  assert.deepEqual([...text.matchAll(DYNAMIC)].map((m) => m[1]), ["./c.ts", "../d.ts"]);
});

Deno.test("layers: the profiles and tables (experiments/) are data below the app; the app is below the CLI", async () => {
  const graph = await importGraph({ dynamic: true });
  const above: Record<string, string[]> = {
    "experiments/": ["app/", "cli/", "tasks/", "main.ts"],
    "app/": ["cli/", "tasks/", "main.ts"],
    // The CLI's command modules serve main.ts and the task scripts; they never go back up through main.ts.
    "cli/": ["tasks/", "main.ts"],
  };
  const offenders: string[] = [];
  for (const [f, deps] of graph) {
    for (const [layer, forbidden] of Object.entries(above)) {
      if (!f.startsWith(layer)) continue;
      for (const d of deps) if (forbidden.some((x) => d.startsWith(x))) offenders.push(`${f} → ${d}`);
    }
  }
  assert.deepEqual(offenders, [], `upward imports:\n${offenders.join("\n")}`);
});
