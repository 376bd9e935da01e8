// `deno task table2`: Table 2 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table2", ...Deno.args]));
