/**
 * TensorFlow.js backend selection.
 *
 * `auto` prefers the native `tensorflow` backend (tfjs-node-gpu, then tfjs-node) when its binding loads, then
 * `webgpu` when Deno exposes a hardware GPU adapter, then `wasm` (the embedded default), then `cpu`. Every
 * choice records why, so `doctor` can explain it. Optional backends are imported lazily: their absence never
 * breaks anything else. On wasm, matrix products run on a system OpenBLAS through Deno's FFI when one is
 * found (`lib/blas.ts`; ≈ 3× XNNPACK's GEMM rate here), else on XNNPACK: `GPA_BLAS=auto|on|off` and
 * `GPA_BLAS_THREADS` (default 1) control it. LayerNorm, GELU, softmax's backward and AdamW run as fused native
 * kernels when a C compiler is there to build them on first use (`lib/native.ts`; `GPA_NATIVE=auto|on|off`).
 * @module
 */
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
// Side-effect import: registers the 'wasm' backend (a namespace import that is never used would be dropped).
import "@tensorflow/tfjs-backend-wasm";
import { installBlasMatMul, uninstallBlasMatMul } from "./blas.ts";
import { installNativeKernels, uninstallNativeKernels } from "./native.ts";

/** Backends a user can ask for. */
export const BACKEND_NAMES = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const;
/** A backend name accepted by `--backend`. */
export type BackendName = typeof BACKEND_NAMES[number];

/** The outcome of backend selection. */
export interface BackendChoice {
  /** The tfjs backend now active ("tensorflow", "webgpu", "wasm" or "cpu"). */
  name: string;
  /** Why it was chosen, and why the ones before it were not. */
  reasons: string[];
  /** Adapter description for webgpu, if any. */
  adapter?: string;
  /**
   * wasm only: what runs its matrix products, "XNNPACK" or the OpenBLAS build and its kernel set (e.g.
   * "OpenBLAS 0.3.21 Prescott"; runs recorded before 2026-12-07 name no kernel set).
   */
  matmul?: string;
  /** wasm with OpenBLAS only: the threads its matrix products use. */
  blasThreads?: number;
  /** wasm only: whether LayerNorm, GELU, softmax's backward and AdamW run as fused native kernels. */
  native?: boolean;
}

/** Whether wasm's matrix products use native OpenBLAS: "auto" (when found), "on" (required) or "off". */
export type BlasMode = "auto" | "on" | "off";

/** Whether wasm uses the fused native kernels: "auto" (when they build), "on" (required) or "off". */
export type NativeMode = "auto" | "on" | "off";

/** Options of `selectBackend`. */
export interface SelectBackendOptions {
  /** Native BLAS for wasm's matMul (default: `GPA_BLAS`, else "auto"). */
  blas?: BlasMode;
  /**
   * OpenBLAS threads (default: `GPA_BLAS_THREADS`, else 1: parallelism comes from parallel runs, `--jobs`; a
   * second thread speeds one run up by only 1.0–1.26× and rounds differently, bench/README.md).
   */
  blasThreads?: number;
  /** The OpenBLAS library to open (default: `GPA_BLAS_LIB`, else the usual system paths). */
  blasLib?: string;
  /** Fused native kernels on wasm (default: `GPA_NATIVE`, else "auto"). */
  native?: NativeMode;
  /** The fused-kernel library to open (default: `GPA_NATIVE_LIB`, else built from `native/` on first use). */
  nativeLib?: string;
}

function blasOptions(o: SelectBackendOptions): { mode: BlasMode; threads: number } {
  // An empty variable counts as unset.
  const mode = (o.blas ?? (Deno.env.get("GPA_BLAS") || "auto")) as BlasMode;
  if (!["auto", "on", "off"].includes(mode)) {
    throw new ConfigError(`GPA_BLAS must be auto, on or off, got '${mode}'`);
  }
  const envThreads = Deno.env.get("GPA_BLAS_THREADS");
  const threads = o.blasThreads ?? (envThreads ? Number(envThreads) : 1);
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
    throw new ConfigError(
      `GPA_BLAS_THREADS must be an integer from 1 to 256, got '${o.blasThreads ?? envThreads}'`,
    );
  }
  return { mode, threads };
}

/**
 * Puts wasm's BatchMatMul on OpenBLAS or XNNPACK as asked; returns the engine's name and, for OpenBLAS, its
 * threads (details go to reasons).
 */
function configureWasmMatMul(
  o: SelectBackendOptions,
  reasons: string[],
): { matmul: string; blasThreads?: number } {
  const { mode, threads } = blasOptions(o);
  if (mode === "off") {
    uninstallBlasMatMul();
    reasons.push("wasm matMul: XNNPACK (GPA_BLAS=off)");
    return { matmul: "XNNPACK" };
  }
  const r = installBlasMatMul(threads, o.blasLib);
  if (r.ok) {
    // "OpenBLAS 0.3.21 Prescott": the kernel set is part of the engine (sets round differently).
    const name = r.info.config.split(" ").slice(0, 2).join(" ") + (r.info.core ? ` ${r.info.core}` : "");
    reasons.push(`wasm matMul: ${name} (${r.info.library}, ${threads} thread${threads === 1 ? "" : "s"})`);
    return { matmul: name, blasThreads: threads };
  }
  if (mode === "on") throw new BackendError(`GPA_BLAS=on but OpenBLAS is unavailable: ${r.reason}`);
  uninstallBlasMatMul();
  reasons.push(`wasm matMul: XNNPACK (OpenBLAS unavailable: ${r.reason})`);
  return { matmul: "XNNPACK" };
}

/** Puts wasm on the fused native kernels or tfjs's own as asked; returns whether the fused ones run. */
function configureNativeKernels(o: SelectBackendOptions, reasons: string[]): boolean {
  const mode = (o.native ?? (Deno.env.get("GPA_NATIVE") || "auto")) as NativeMode;
  if (!["auto", "on", "off"].includes(mode)) {
    throw new ConfigError(`GPA_NATIVE must be auto, on or off, got '${mode}'`);
  }
  if (mode === "off") {
    uninstallNativeKernels();
    reasons.push("wasm fused kernels: off (GPA_NATIVE=off)");
    return false;
  }
  const r = installNativeKernels(o.nativeLib);
  if (r.ok) {
    reasons.push(`wasm fused kernels: native (${r.info.library}${r.info.built ? ", built now" : ""})`);
    return true;
  }
  if (mode === "on") {
    uninstallNativeKernels();
    throw new BackendError(`GPA_NATIVE=on but the fused kernels are unavailable: ${r.reason}`);
  }
  reasons.push(
    `wasm fused kernels: tfjs's own ops (${r.reason})${r.sharedIdentity ? "; Identity shares buffers" : ""}`,
  );
  return false;
}

/** A malformed setting (an environment variable out of its range): a usage error, exit code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Error raised when an explicitly requested backend cannot be used. */
export class BackendError extends Error {
  override name = "BackendError";
}

/** Pinned native-backend packages, tried in this order; they are not dependencies of the project. */
export const NATIVE_PACKAGES = ["npm:@tensorflow/tfjs-node-gpu@4.22.0", "npm:@tensorflow/tfjs-node@4.22.0"];

/**
 * Path of the native binding of an installed tfjs-node(-gpu) package in the project's node_modules, or null.
 * Checked before importing so that a missing package is never fetched at run time.
 */
export function findNativeBinding(pkg: string, root = PROJECT_ROOT): string | null {
  const base = `${root}/node_modules/.deno`;
  let entries: string[] = [];
  try {
    entries = [...Deno.readDirSync(base)].map((e) => e.name).filter((n) =>
      n.startsWith(`@tensorflow+${pkg}@`)
    );
  } catch {
    return null;
  }
  for (const e of entries) {
    const lib = `${base}/${e}/node_modules/@tensorflow/${pkg}/lib`;
    try {
      for (const d of Deno.readDirSync(lib)) {
        if (!d.name.startsWith("napi-v")) continue;
        const f = `${lib}/${d.name}/tfjs_binding.node`;
        try {
          Deno.statSync(f);
          return f;
        } catch {
          // not built
        }
      }
    } catch {
      // no lib dir
    }
  }
  return null;
}

const PROJECT_ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

async function tryNative(reasons: string[]): Promise<boolean> {
  for (const spec of NATIVE_PACKAGES) {
    const pkg = spec.replace(/^npm:@tensorflow\/|@[^@]*$/g, "");
    const binding = findNativeBinding(pkg);
    if (!binding) {
      reasons.push(`tensorflow: ${pkg} not installed with its native binding (tfjs_binding.node)`);
      continue;
    }
    try {
      // A computed specifier keeps Deno from resolving (and installing) the package ahead of time.
      const specifier: string = spec;
      await import(specifier);
      if (tf.findBackend("tensorflow")) {
        reasons.push(`tensorflow: loaded ${spec}`);
        return true;
      }
    } catch (e) {
      const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
      reasons.push(`tensorflow: ${spec} unavailable (${msg.slice(0, 160)})`);
    }
  }
  return false;
}

/**
 * Gives the process an `XDG_RUNTIME_DIR` when it has none, on Linux: a per-user folder in the temporary
 * directory (`gpa-xdg-<uid>`, mode 0700, made once and kept, so nothing needs cleaning up after a crash and
 * child processes inherit a folder that stays). Why: enumerating Vulkan adapters loads Mesa's Wayland surface
 * code, whose libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set in the environment." on stderr
 * twice when the variable is missing (any headless server or container). Nothing connects to Wayland here; the
 * folder only answers that check. A path that exists but is not our own directory is left alone.
 */
function quietWaylandProbe(): void {
  if (Deno.build.os !== "linux" || Deno.env.get("XDG_RUNTIME_DIR")) return;
  try {
    const uid = Deno.uid();
    if (uid === null) return;
    const dir = `${(Deno.env.get("TMPDIR") || "/tmp").replace(/\/$/, "")}/gpa-xdg-${uid}`;
    try {
      Deno.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) return;
    }
    const st = Deno.lstatSync(dir);
    if (!st.isDirectory || st.uid !== uid || ((st.mode ?? 0) & 0o077) !== 0) return;
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch { /* no permission to write or set env: the message stays, nothing else changes */ }
}

/** Describes the WebGPU adapter Deno exposes, or null. `software` is true for CPU drivers (lavapipe, SwiftShader). */
export async function probeWebGpu(): Promise<{ description: string; software: boolean } | null> {
  // deno-lint-ignore no-explicit-any
  const gpu = (globalThis.navigator as any)?.gpu;
  if (!gpu) return null;
  quietWaylandProbe();
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info ?? {};
    const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(
      " ",
    );
    const software = Boolean(adapter.isFallbackAdapter) ||
      /llvmpipe|lavapipe|swiftshader|software/i.test(description);
    return { description: description || "unknown adapter", software };
  } catch {
    return null;
  }
}

async function tryWebGpu(reasons: string[], allowSoftware: boolean): Promise<string | null> {
  const probe = await probeWebGpu();
  if (!probe) {
    reasons.push("webgpu: no adapter exposed by Deno");
    return null;
  }
  if (probe.software && !allowSoftware) {
    reasons.push(`webgpu: only a software adapter (${probe.description}); slower than wasm, skipped`);
    return null;
  }
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) {
    reasons.push(`webgpu: adapter ${probe.description} found but backend init failed`);
    return null;
  }
  reasons.push(`webgpu: using adapter ${probe.description}`);
  return probe.description;
}

async function trySet(name: string, reasons: string[], why: string): Promise<boolean> {
  try {
    if (await tf.setBackend(name)) {
      await tf.ready();
      reasons.push(`${name}: ${why}`);
      return true;
    }
    reasons.push(`${name}: initialisation failed`);
  } catch (e) {
    reasons.push(`${name}: initialisation failed (${e instanceof Error ? e.message : e})`);
  }
  return false;
}

let active: BackendChoice | null = null;

/**
 * What computes right now, as reports and run metrics name it: the tfjs backend, and on wasm what runs its
 * matrix products and whether the fused native kernels run, e.g. "wasm (matMul: OpenBLAS 0.3.21; fused
 * kernels)" or "wasm (matMul: XNNPACK)". Runs differ between engines only at float rounding, which training
 * amplifies into seed-sized noise: a table whose rows ran on different engines says so in its header.
 */
export function engineLabel(): string {
  const name = active?.name ?? tf.getBackend();
  if (!active?.matmul || name !== "wasm") return name;
  // Threads are named when there are several: multi-threaded sgemm rounds differently from one thread (a
  // float-rounding difference between runs of the same configuration, which reports then show).
  const threads = (active.blasThreads ?? 1) > 1 ? `, ${active.blasThreads} threads` : "";
  return `${name} (matMul: ${active.matmul}${threads}${active.native ? "; fused kernels" : ""})`;
}

/** The backend chosen by the last `selectBackend` call, if any. */
export function activeBackend(): BackendChoice | null {
  return active;
}

/**
 * Activates a backend. Call before creating any tensor. An explicit name that cannot be used throws
 * `BackendError` with the reason; `auto` falls through the list.
 */
export async function selectBackend(
  requested: BackendName = "auto",
  options: SelectBackendOptions = {},
): Promise<BackendChoice> {
  const reasons: string[] = [];
  // tfjs's "you are running TensorFlow.js in Node.js" banner and other console warnings: the suite reports its
  // backend choice itself (doctor, report headers).
  tf.env().set("PROD", true);
  if (requested === "tensorflow") {
    if (!(await tryNative(reasons)) || !(await trySet("tensorflow", reasons, "native libtensorflow"))) {
      throw new BackendError(
        `backend 'tensorflow' unavailable: ${reasons.join("; ")}. Install @tensorflow/tfjs-node-gpu (needs ` +
          `libtensorflow 2.9.1, CUDA 11.2, cuDNN 8.1, downloaded by its install script) or use --backend wasm`,
      );
    }
    return (active = { name: "tensorflow", reasons });
  }
  if (requested === "webgpu") {
    const adapter = await tryWebGpu(reasons, true);
    if (!adapter) throw new BackendError(`backend 'webgpu' unavailable: ${reasons.join("; ")}`);
    await tf.ready();
    return (active = { name: "webgpu", reasons, adapter });
  }
  if (requested === "wasm" || requested === "cpu") {
    if (!(await trySet(requested, reasons, "requested"))) {
      throw new BackendError(`backend '${requested}' failed to initialise: ${reasons.join("; ")}`);
    }
    if (requested === "cpu") return (active = { name: requested, reasons });
    const matmul = configureWasmMatMul(options, reasons);
    return (active = {
      name: requested,
      reasons,
      ...matmul,
      native: configureNativeKernels(options, reasons),
    });
  }
  // auto
  if ((await tryNative(reasons)) && (await trySet("tensorflow", reasons, "native libtensorflow"))) {
    return (active = { name: "tensorflow", reasons });
  }
  const adapter = await tryWebGpu(reasons, false);
  if (adapter) {
    await tf.ready();
    return (active = { name: "webgpu", reasons, adapter });
  }
  if (await trySet("wasm", reasons, "embedded default (SIMD)")) {
    const matmul = configureWasmMatMul(options, reasons);
    return (active = { name: "wasm", reasons, ...matmul, native: configureNativeKernels(options, reasons) });
  }
  if (await trySet("cpu", reasons, "pure-JS fallback")) return (active = { name: "cpu", reasons });
  throw new BackendError(`no TensorFlow.js backend could be initialised: ${reasons.join("; ")}`);
}
