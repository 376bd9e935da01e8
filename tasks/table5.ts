// `deno task table5`: Table 5 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table5", ...Deno.args]));
