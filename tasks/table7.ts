// `deno task table7`: Table 7 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table7", ...Deno.args]));
