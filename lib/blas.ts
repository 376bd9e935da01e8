/**
 * Native BLAS for the wasm backend's matrix products, through Deno's FFI.
 *
 * Why: tfjs-wasm's GEMMs (XNNPACK, 128-bit wasm SIMD) run at ≈ 32 GFLOP/s on one core here while the same
 * shapes run at ≈ 94 in OpenBLAS (AVX-512); the matrix products are half of a training step. With
 * `installBlasMatMul`, the wasm backend's `BatchMatMul` kernel calls `cblas_sgemm` on the tensors where they
 * lie in the wasm heap (no copies), so the rest of the engine (every other kernel, memory, gradients) is
 * unchanged. Optional: it needs `--allow-ffi` and a system OpenBLAS (Debian `libopenblas0-pthread`); without
 * them nothing changes.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Where a shared OpenBLAS is looked for, first match wins (`GPA_BLAS_LIB` overrides). */
export const BLAS_LIBRARY_CANDIDATES = [
  "libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "libopenblas.so",
  "libopenblas.dylib",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
];

const SYMBOLS = {
  cblas_sgemm: {
    // order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "pointer",
      "i32",
      "pointer",
      "i32",
      "f32",
      "pointer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
  openblas_get_config: { parameters: [], result: "pointer" },
  // Builds without DYNAMIC_ARCH may lack it: the kernel set is then the build's, named in the config.
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const;

/**
 * The OpenBLAS kernel set the suite selects unless told otherwise: "Prescott" (SSE3, no FMA), which every
 * x86-64 CPU runs. Kernel sets round differently (FMA or not; measured: Haswell and Zen agree bit for bit,
 * SkylakeX and Prescott each differ from them), so a run's weights depend on which one ran; OpenBLAS's own
 * detection picks by CPU model and falls back to Prescott on CPUs it does not know (this project's cloud
 * machines). Pinning one makes a run identity reproduce bit for bit on any x86-64 machine, and Prescott is
 * the set the committed cpu reports ran on. `GPA_BLAS_CORE=Haswell` (AVX2 + FMA) is ≈ 2× faster for the
 * matrix products where the CPU has them, and rounds differently: a table's paired rows should not mix them.
 */
export const DEFAULT_BLAS_CORE = "Prescott";

/**
 * The `OPENBLAS_CORETYPE` to set before OpenBLAS is opened, or null to leave the library's detection alone:
 * an `OPENBLAS_CORETYPE` already in the environment wins; else `GPA_BLAS_CORE` (a kernel name, or `auto` for
 * the library's detection); else `DEFAULT_BLAS_CORE` on x86-64 (the names are x86's).
 */
export function blasCoreRequest(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
  arch: string = Deno.build.arch,
): string | null {
  if (env("OPENBLAS_CORETYPE")) return null;
  const asked = env("GPA_BLAS_CORE");
  if (asked) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(asked)) {
      throw new RangeError(
        `GPA_BLAS_CORE must be an OpenBLAS kernel name (e.g. Haswell) or auto, got '${asked}'`,
      );
    }
    return asked.toLowerCase() === "auto" ? null : asked;
  }
  return arch === "x86_64" ? DEFAULT_BLAS_CORE : null;
}

type BlasLib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** State of the native-BLAS matMul. */
export interface BlasInfo {
  /** The library opened. */
  library: string;
  /** OpenBLAS's build description (`openblas_get_config`). */
  config: string;
  /** Threads OpenBLAS uses. */
  threads: number;
  /** The kernel set in use (`openblas_get_corename`, e.g. "Prescott", "Haswell"), when the library says. */
  core?: string;
}

let lib: BlasLib | null = null;
let info: BlasInfo | null = null;

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

/** OpenBLAS opened, or why it cannot be used. */
export type BlasOpenResult = { ok: true; info: BlasInfo } | { ok: false; reason: string };

/** Opens OpenBLAS (`library`, else `GPA_BLAS_LIB`, else the usual paths), or explains why it cannot be used. */
export function openBlas(threads = 1, library?: string): BlasOpenResult {
  if (lib && info) {
    lib.symbols.openblas_set_num_threads(threads);
    info.threads = threads;
    return { ok: true, info };
  }
  if (typeof Deno?.dlopen !== "function") return { ok: false, reason: "Deno FFI unavailable" };
  const override = library ?? Deno.env.get("GPA_BLAS_LIB");
  const candidates = override ? [override] : BLAS_LIBRARY_CANDIDATES;
  const errors: string[] = [];
  // OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded: set it before the first dlopen.
  const core = blasCoreRequest();
  if (core) Deno.env.set("OPENBLAS_CORETYPE", core);
  for (const path of candidates) {
    try {
      const l = Deno.dlopen(path, SYMBOLS);
      l.symbols.openblas_set_num_threads(threads);
      const cfgPtr = l.symbols.openblas_get_config();
      const config = cfgPtr ? new Deno.UnsafePointerView(cfgPtr).getCString() : "unknown";
      const corePtr = l.symbols.openblas_get_corename?.() ?? null;
      const coreName = corePtr ? new Deno.UnsafePointerView(corePtr).getCString() : "";
      lib = l;
      info = { library: path, config, threads, ...(coreName ? { core: capitalise(coreName) } : {}) };
      return { ok: true, info };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (
        /requires --allow-ffi|NotCapable|PermissionDenied/i.test(msg) || (e as Error)?.name === "NotCapable"
      ) {
        return { ok: false, reason: "needs --allow-ffi (run with deno run -A)" };
      }
      errors.push(`${path}: ${msg.split("\n")[0].slice(0, 80)}`);
    }
  }
  return {
    ok: false,
    reason: `no OpenBLAS found (install libopenblas0-pthread or set GPA_BLAS_LIB): ${errors.join("; ")}`,
  };
}

/** tfjs-wasm's backend object (its class is not exported by the package). */
// deno-lint-ignore no-explicit-any
export type WasmBackend = any;

/**
 * Base pointer of the wasm heap. Fetched per kernel call, after its output is allocated: growing the heap
 * replaces its `ArrayBuffer` (V8 reserves the address range, so the base does not move today, but nothing here
 * relies on that), and nothing allocates between this and the sgemm calls. Shared with lib/native.ts.
 */
export function heapBase(backend: WasmBackend): Deno.PointerObject {
  return Deno.UnsafePointer.of(backend.wasm.HEAPU8 as Uint8Array) as Deno.PointerObject;
}

let original: tf.KernelConfig | undefined;

/**
 * Replaces the wasm backend's BatchMatMul with OpenBLAS's sgemm (per batch entry; broadcasting of a
 * batch-1 operand included). Returns false, with nothing changed, when OpenBLAS cannot be opened.
 */
export function installBlasMatMul(threads = 1, library?: string): BlasOpenResult {
  const opened = openBlas(threads, library);
  if (!opened.ok || original) return opened;
  original = tf.getKernel("BatchMatMul", "wasm");
  if (!original) return { ok: false, reason: "wasm backend not registered" };
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ kernelName: "BatchMatMul", backendName: "wasm", kernelFunc: blasBatchMatMul });
  return opened;
}

/** Restores tfjs-wasm's own BatchMatMul. */
export function uninstallBlasMatMul(): void {
  if (!original) return;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel(original);
  original = undefined;
}

/** Whether the wasm BatchMatMul currently runs on OpenBLAS. */
export function blasMatMulActive(): boolean {
  return original !== undefined;
}

/**
 * The OpenBLAS kernel set wasm's matrix products run on now ("Prescott", "Haswell"), or null when they do not
 * run on OpenBLAS (or the library does not say).
 */
export function activeBlasCore(): string | null {
  return blasMatMulActive() ? info?.core ?? null : null;
}

/** The BatchMatMul kernel body on OpenBLAS. */
function blasBatchMatMul(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const backend = args.backend as WasmBackend;
  const transposeA = Boolean(args.attrs?.transposeA);
  const transposeB = Boolean(args.attrs?.transposeB);
  if (a.dtype !== "float32" || b.dtype !== "float32") throw new Error("BatchMatMul: float32 only");
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) {
    throw new Error(`matMul: inner shapes ${k} and ${kb} of ${a.shape} and ${b.shape} do not match`);
  }
  const outerA = a.shape.slice(0, -2), outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((p, d) => p * d, 1);
  const batchB = outerB.reduce((p, d) => p * d, 1);
  const outer = tf.backend_util.assertAndGetBroadcastShape(outerA, outerB);
  const batch = Math.max(batchA, batchB);
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) {
    throw new Error(`matMul: batch dims ${outerA} and ${outerB} broadcast only from 1`);
  }
  const out = backend.makeOutput([...outer, m, n], "float32");
  if (batch * m * n === 0) return out;
  // Offsets after the output is allocated: makeOutput may grow the heap.
  const cOff = backend.getMemoryOffset(out.dataId) as number;
  if (k === 0) {
    // An empty sum; BLAS rejects leading dimensions of 0.
    (backend.wasm.HEAPF32 as Float32Array).fill(0, cOff / 4, cOff / 4 + batch * m * n);
    return out;
  }
  const aOff = backend.getMemoryOffset(a.dataId) as number;
  const bOff = backend.getMemoryOffset(b.dataId) as number;
  const sgemm = lib!.symbols.cblas_sgemm;
  const lda = transposeA ? m : k, ldb = transposeB ? k : n;
  const base = heapBase(backend);
  for (let i = 0; i < batch; i++) {
    const pa = Deno.UnsafePointer.offset(base, aOff + (batchA === 1 ? 0 : i * m * k * 4));
    const pb = Deno.UnsafePointer.offset(base, bOff + (batchB === 1 ? 0 : i * k * n * 4));
    const pc = Deno.UnsafePointer.offset(base, cOff + i * m * n * 4);
    sgemm(
      ROW_MAJOR,
      transposeA ? TRANS : NO_TRANS,
      transposeB ? TRANS : NO_TRANS,
      m,
      n,
      k,
      1,
      pa,
      lda,
      pb,
      ldb,
      0,
      pc,
      n,
    );
  }
  return out;
}

/** "prescott" → "Prescott" (OpenBLAS names its kernel sets in lower case; its docs and env use capitals). */
function capitalise(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * What a command must set to run on the kernel set this process opened, when that is not the default:
 * "GPA_BLAS_CORE=Haswell " (with a trailing space), else "" (the default set, no OpenBLAS, or not x86).
 */
export function blasCoreCommandPrefix(): string {
  const core = info?.core;
  if (!core || Deno.build.arch !== "x86_64") return "";
  return core.toLowerCase() === DEFAULT_BLAS_CORE.toLowerCase() ? "" : `GPA_BLAS_CORE=${core} `;
}
