// `deno task plan -- --table N`: the runs a table needs and their cache status.
import { main } from "../main.ts";

Deno.exit(await main(["plan", ...Deno.args]));
