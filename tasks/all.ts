// `deno task all`: every table and figure.
import { main } from "../main.ts";

Deno.exit(await main(["all", ...Deno.args]));
