// `deno task table1`: Table 1 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table1", ...Deno.args]));
