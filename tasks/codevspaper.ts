// `deno task codevspaper`: the paper's text vs the authors' code, one discrepancy per row (experiments/tables.ts).
import { main } from "../main.ts";

Deno.exit(await main(["table", "codevspaper", ...Deno.args]));
