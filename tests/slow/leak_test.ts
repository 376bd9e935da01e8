/** The soak: no tensor or memory growth over 1000 training steps (`deno task test:slow`). */
import { defineLeakTests } from "../leak_steps.ts";

defineLeakTests(1000);
