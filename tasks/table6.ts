// `deno task table6`: Table 6 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table6", ...Deno.args]));
