// `deno task table4`: Table 4 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table4", ...Deno.args]));
