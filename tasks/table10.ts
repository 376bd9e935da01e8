// `deno task table10`: Table 10 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table10", ...Deno.args]));
