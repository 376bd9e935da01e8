/**
 * The fused-kernel library (`native/gpa_kernels.c`) through Deno's FFI: its symbols, compiling it on first use
 * and opening it. The kernels that call it, and their registration with the wasm backend, are `native.ts`.
 *
 * The C file is compiled on first use, when a C compiler exists (`cc`, or `GPA_CC`), into
 * `.cache/native/` in the project (gitignored; atomically, one file per source, flags and CPU), and opened with
 * `Deno.dlopen`; `GPA_NATIVE_LIB` names a prebuilt library instead.
 * @module
 */
import { fileURLToPath } from "node:url";

/** Version of the C library's ABI this module calls (`gpa_kernels_abi()`). */
export const NATIVE_ABI = 1;

// FFI types, short so that each signature stays on one line.
const P = "pointer" as const, I = "i32" as const, F = "f32" as const;

const SYMBOLS = {
  gpa_kernels_abi: { parameters: [], result: I },
  // x, y, n
  gpa_gelu_fwd: { parameters: [P, P, I], result: "void" },
  // dy, x, dx, n
  gpa_gelu_bwd: { parameters: [P, P, P, I], result: "void" },
  // x, gamma, beta, y, mean, rstd, rows, d, eps
  gpa_layernorm_fwd: { parameters: [P, P, P, P, P, P, I, I, F], result: "void" },
  // dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, d
  gpa_layernorm_bwd: { parameters: [P, P, P, P, P, P, P, P, I, I], result: I },
  // p, g, m, v, p', m', v', n, clip, β1, 1 − β1, β2, 1 − β2, bc2, eps, decay, step, hasClip, hasDecay
  gpa_adamw: { parameters: [P, P, P, P, P, P, P, I, F, F, F, F, F, F, F, F, F, I, I], result: "void" },
  // dy, y, dx, rows, d
  gpa_softmax_bwd: { parameters: [P, P, P, I, I], result: "void" },
} as const;

/** The opened library's functions, typed from the symbol table. */
export type NativeSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const SOURCE = `${PROJECT_ROOT}/native/gpa_kernels.c`;
/**
 * Compiler flags. `-ffp-contract=off`: no fused multiply-adds, so elementwise results round as tfjs-wasm's ops
 * do (wasm SIMD has no FMA). `-march=native`: the library is built on the machine that runs it (the CPU is part
 * of the file's name). `-fopenmp-simd`: honours the file's `omp simd` reductions, nothing else of OpenMP.
 */
export const NATIVE_CFLAGS = [
  "-O3",
  "-march=native",
  "-fPIC",
  "-shared",
  "-ffp-contract=off",
  "-fno-math-errno",
  "-fopenmp-simd",
  "-fvisibility=hidden",
];

/** The library in use: where it came from. */
export interface NativeInfo {
  /** The shared library opened. */
  library: string;
  /** True when this process compiled it (first use), false when it was found built. */
  built: boolean;
}

/** The library opened, or why it cannot be used. */
export type NativeOpenResult = { ok: true; info: NativeInfo } | { ok: false; reason: string };

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | null = null;
let info: NativeInfo | null = null;

/** The opened library's functions; only valid after `openNative` succeeded (the kernels are registered then). */
export function nativeSymbols(): NativeSymbols {
  return lib!.symbols;
}

/** 64-bit FNV-1a of a string, hex (a file name key; not for security). */
function fnv1a(text: string): string {
  let h = 0xcbf29ce484222325n;
  const bytes = new TextEncoder().encode(text);
  for (const b of bytes) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, "0");
}

/** The CPU's model and feature flags (what `-march=native` compiles for); the platform where unreadable. */
function cpuIdentity(): string {
  try {
    const text = Deno.readTextFileSync("/proc/cpuinfo");
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(text)?.[1] ?? "";
    return `${field("model name")}|${field("flags") || field("Features")}`;
  } catch {
    return Deno.build.target;
  }
}

function isPermissionError(e: unknown): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  return /requires --allow-|NotCapable|PermissionDenied/i.test(msg) || (e as Error)?.name === "NotCapable";
}

/**
 * Path of the library for this source, compiler and CPU, compiling it first when absent (to a temporary name,
 * then renamed: concurrent first uses in several processes each write their own file, and the rename is
 * atomic). Throws with the compiler's message when it fails.
 */
export function buildNativeLibrary(o: { cc?: string; force?: boolean; dir?: string } = {}): {
  path: string;
  built: boolean;
} {
  const cc = o.cc ?? (Deno.env.get("GPA_CC") || "cc");
  const source = Deno.readTextFileSync(SOURCE);
  const ext = Deno.build.os === "darwin" ? "dylib" : "so";
  const dir = o.dir ?? `${PROJECT_ROOT}/.cache/native`;
  const key = fnv1a([source, cc, NATIVE_CFLAGS.join(" "), cpuIdentity()].join("\n"));
  const path = `${dir}/gpa_kernels-${key}.${ext}`;
  if (!o.force) {
    try {
      Deno.statSync(path);
      return { path, built: false };
    } catch {
      // not built yet
    }
  }
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.${Date.now()}.tmp`;
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command(cc, {
      args: [...NATIVE_CFLAGS, "-o", tmp, SOURCE],
      stdout: "piped",
      stderr: "piped",
    })
      .outputSync();
  } catch (e) {
    if (isPermissionError(e)) throw e;
    throw new Error(`no C compiler '${cc}' (install gcc, or set GPA_CC)`);
  }
  if (!out.success) {
    try {
      Deno.removeSync(tmp);
    } catch {
      // nothing written
    }
    const msg = new TextDecoder().decode(out.stderr).trim().split("\n").slice(0, 3).join(" | ");
    throw new Error(`${cc} failed on ${SOURCE}: ${msg.slice(0, 300)}`);
  }
  Deno.renameSync(tmp, path);
  return { path, built: true };
}

/**
 * Opens the fused-kernel library (`library`, else `GPA_NATIVE_LIB`, else the one built from the project's
 * source, compiling it on first use), or explains why it cannot be used.
 */
export function openNative(library?: string): NativeOpenResult {
  if (lib && info) return { ok: true, info };
  if (typeof Deno?.dlopen !== "function") return { ok: false, reason: "Deno FFI unavailable" };
  let path = library ?? Deno.env.get("GPA_NATIVE_LIB");
  let built = false;
  try {
    if (!path) ({ path, built } = buildNativeLibrary());
    const l = Deno.dlopen(path, SYMBOLS);
    const abi = l.symbols.gpa_kernels_abi();
    if (abi !== NATIVE_ABI) {
      l.close();
      return { ok: false, reason: `${path} has ABI ${abi}, this code needs ${NATIVE_ABI}` };
    }
    lib = l;
    info = { library: path, built };
    return { ok: true, info };
  } catch (e) {
    if (isPermissionError(e)) return { ok: false, reason: "needs --allow-ffi, --allow-run and --allow-read" };
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return { ok: false, reason: msg.slice(0, 400) };
  }
}
