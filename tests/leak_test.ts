/** No tensor or memory growth from step 10 to step 30 (the 1000-step soak: `deno task test:slow`). */
import { defineLeakTests } from "./leak_steps.ts";

defineLeakTests(30);
