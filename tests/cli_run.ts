/** Runs this suite's CLI in a child process (helper for tests; not a test file). */
import { fileURLToPath } from "node:url";
const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** `deno run -A main.ts ...args` with `env` added; its exit code and decoded output. */
export async function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
