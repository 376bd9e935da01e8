// `deno task table9`: Table 9 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table9", ...Deno.args]));
