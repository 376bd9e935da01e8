// `deno task table8`: Table 8 of the paper (see experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "table8", ...Deno.args]));
