// `deno task figures`: Figures 2, 4 and 5.
import { main } from "../main.ts";

Deno.exit(await main(["figures", ...Deno.args]));
