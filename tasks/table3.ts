// `deno task table3`: Table 3 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table3", ...Deno.args]));
