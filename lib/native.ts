/**
 * Fused native kernels for the wasm backend (LayerNorm, GELU, softmax's backward, AdamW), through Deno's FFI.
 *
 * Why: with its matrix products on OpenBLAS (`lib/blas.ts`), a wasm training step spends most of its remaining
 * time in chains of small elementwise and reduction kernels (Multiply, Add, Mean, Sub, Square, Sigmoid, ...),
 * and in `Identity` copies: tfjs clones every tensor a gradient saves, and wasm's Identity copies its input.
 * `native/gpa_kernels.c` does each chain in one pass on the tensors where they lie in the wasm heap (no copies),
 * and `Identity` here shares its input's buffer as `Reshape` does (tfjs's tensors are immutable; the cpu backend
 * does the same).
 *
 * The library is compiled on first use and opened by `native_library.ts`. Without a compiler, `--allow-ffi` or
 * `--allow-run`, or with `GPA_NATIVE=off`, the ops use tfjs's kernels as before (lib/ops.ts).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { heapBase, type WasmBackend } from "./blas.ts";
import { buildNativeLibrary, type NativeInfo, nativeSymbols, openNative } from "./native_library.ts";

/** Kernel names registered for the wasm backend (inputs and attributes as in the functions below). */
export const NATIVE_KERNELS = {
  layerNorm: "GpaLayerNorm",
  layerNormGrad: "GpaLayerNormGrad",
  gelu: "GpaGelu",
  geluGrad: "GpaGeluGrad",
  softmaxGrad: "GpaSoftmaxGrad",
  adamW: "GpaAdamW",
} as const;

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** Sizes of the last axis and of the rest of a shape. */
function rowsOf(shape: number[]): { rows: number; d: number } {
  const d = shape.length ? shape[shape.length - 1] : 1;
  const size = shape.reduce((a, b) => a * b, 1);
  return { rows: d === 0 ? 0 : size / d, d };
}

function checkFloat(name: string, ...ts: tf.TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== "float32") throw new Error(`${name}: float32 only, got ${t.dtype}`);
}

/**
 * Pointers to tensors in the wasm heap. Take it after every output is allocated: `makeOutput` may grow the
 * heap (see `heapBase`).
 */
function pointers(backend: WasmBackend): (t: tf.TensorInfo) => Deno.PointerValue {
  const base = heapBase(backend);
  return (t) => Deno.UnsafePointer.offset(base, backend.getMemoryOffset(t.dataId) as number);
}

function layerNormKernel({ inputs, backend: b, attrs }: KernelArgs): tf.TensorInfo[] {
  const { x, gamma, beta } = inputs as Record<string, tf.TensorInfo>;
  const backend = b as WasmBackend;
  checkFloat("GpaLayerNorm", x, gamma, beta);
  const { rows, d } = rowsOf(x.shape);
  if (gamma.shape.reduce((p, s) => p * s, 1) !== d || beta.shape.reduce((p, s) => p * s, 1) !== d) {
    throw new Error(`GpaLayerNorm: gamma and beta need ${d} entries`);
  }
  const y = backend.makeOutput(x.shape, "float32");
  const mean = backend.makeOutput([rows], "float32");
  const rstd = backend.makeOutput([rows], "float32");
  if (rows > 0) {
    const p = pointers(backend);
    nativeSymbols().gpa_layernorm_fwd(
      p(x),
      p(gamma),
      p(beta),
      p(y),
      p(mean),
      p(rstd),
      rows,
      d,
      Number(attrs?.eps),
    );
  }
  return [y, mean, rstd];
}

function layerNormGradKernel({ inputs, backend: b }: KernelArgs): tf.TensorInfo[] {
  const { dy, x, gamma, mean, rstd } = inputs as Record<string, tf.TensorInfo>;
  const backend = b as WasmBackend;
  checkFloat("GpaLayerNormGrad", dy, x, gamma, mean, rstd);
  const { rows, d } = rowsOf(x.shape);
  const dx = backend.makeOutput(x.shape, "float32");
  const dgamma = backend.makeOutput(gamma.shape, "float32");
  const dbeta = backend.makeOutput(gamma.shape, "float32");
  const p = pointers(backend);
  if (rows === 0) {
    // Sums over no rows.
    const heap = backend.wasm.HEAPF32 as Float32Array;
    for (const t of [dgamma, dbeta]) {
      const off = backend.getMemoryOffset(t.dataId) / 4;
      heap.fill(0, off, off + d);
    }
    return [dx, dgamma, dbeta];
  }
  const rc = nativeSymbols().gpa_layernorm_bwd(
    p(dy),
    p(x),
    p(gamma),
    p(mean),
    p(rstd),
    p(dx),
    p(dgamma),
    p(dbeta),
    rows,
    d,
  );
  if (rc !== 0) throw new Error("GpaLayerNormGrad: out of memory");
  return [dx, dgamma, dbeta];
}

function geluKernel({ inputs, backend: b }: KernelArgs): tf.TensorInfo {
  const { x } = inputs as Record<string, tf.TensorInfo>;
  const backend = b as WasmBackend;
  checkFloat("GpaGelu", x);
  const y = backend.makeOutput(x.shape, "float32");
  const n = x.shape.reduce((a, s) => a * s, 1);
  if (n > 0) {
    const p = pointers(backend);
    nativeSymbols().gpa_gelu_fwd(p(x), p(y), n);
  }
  return y;
}

function geluGradKernel({ inputs, backend: b }: KernelArgs): tf.TensorInfo {
  const { dy, x } = inputs as Record<string, tf.TensorInfo>;
  const backend = b as WasmBackend;
  checkFloat("GpaGeluGrad", dy, x);
  const dx = backend.makeOutput(x.shape, "float32");
  const n = x.shape.reduce((a, s) => a * s, 1);
  if (n > 0) {
    const p = pointers(backend);
    nativeSymbols().gpa_gelu_bwd(p(dy), p(x), p(dx), n);
  }
  return dx;
}

function softmaxGradKernel({ inputs, backend: b }: KernelArgs): tf.TensorInfo {
  const { dy, y } = inputs as Record<string, tf.TensorInfo>;
  const backend = b as WasmBackend;
  checkFloat("GpaSoftmaxGrad", dy, y);
  const dx = backend.makeOutput(y.shape, "float32");
  const { rows, d } = rowsOf(y.shape);
  if (rows > 0) {
    const p = pointers(backend);
    nativeSymbols().gpa_softmax_bwd(p(dy), p(y), p(dx), rows, d);
  }
  return dx;
}

function adamWKernel({ inputs, backend: b, attrs }: KernelArgs): tf.TensorInfo[] {
  const { p: param, g, m, v } = inputs as Record<string, tf.TensorInfo>;
  const backend = b as WasmBackend;
  checkFloat("GpaAdamW", param, g, m, v);
  // The kernel walks n = size(p) floats of each input: a mismatched shape would read past a buffer's end.
  for (const [what, t] of [["gradient", g], ["m", m], ["v", v]] as const) {
    if (t.shape.length !== param.shape.length || t.shape.some((d, i) => d !== param.shape[i])) {
      throw new Error(`GpaAdamW: ${what} shape [${t.shape}] differs from the parameter's [${param.shape}]`);
    }
  }
  const a = attrs as unknown as AdamWConstants;
  const outs = [param, m, v].map((t) => backend.makeOutput(t.shape, "float32"));
  const n = param.shape.reduce((x, s) => x * s, 1);
  if (n > 0) {
    const p = pointers(backend);
    nativeSymbols().gpa_adamw(
      p(param),
      p(g),
      p(m),
      p(v),
      p(outs[0]),
      p(outs[1]),
      p(outs[2]),
      n,
      a.clip,
      a.beta1,
      1 - a.beta1,
      a.beta2,
      1 - a.beta2,
      a.bc2,
      a.eps,
      1 - a.lr * a.weightDecay,
      a.lr / a.bc1,
      a.clip === 1 ? 0 : 1,
      a.weightDecay > 0 ? 1 : 0,
    );
  }
  return outs;
}

/**
 * Identity that shares its input's buffer (one more reference, as wasm's Reshape does) instead of copying it.
 * tfjs's tensors are never written after their kernel returns, so sharing is safe; the cpu backend does the
 * same. Strings keep the stock kernel.
 */
function sharedIdentity(args: KernelArgs): tf.TensorInfo {
  const { x } = args.inputs as Record<string, tf.TensorInfo>;
  if (x.dtype === "string") return stockIdentity!.kernelFunc(args as never) as tf.TensorInfo;
  (args.backend as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const KERNELS: [string, (a: KernelArgs) => tf.TensorInfo | tf.TensorInfo[]][] = [
  [NATIVE_KERNELS.layerNorm, layerNormKernel],
  [NATIVE_KERNELS.layerNormGrad, layerNormGradKernel],
  [NATIVE_KERNELS.gelu, geluKernel],
  [NATIVE_KERNELS.geluGrad, geluGradKernel],
  [NATIVE_KERNELS.softmaxGrad, softmaxGradKernel],
  [NATIVE_KERNELS.adamW, adamWKernel],
];

let stockIdentity: tf.KernelConfig | undefined;
let fusedActive = false;

/** What `installNativeKernels` put in place. */
export type NativeInstallResult =
  | { ok: true; info: NativeInfo }
  | { ok: false; reason: string; sharedIdentity: boolean };

/**
 * Puts the wasm backend on the fused kernels: opens (building on first use) the library and registers its
 * kernels, and replaces wasm's copying `Identity` with the sharing one. When the library cannot be opened, the
 * Identity replacement still applies (it needs no library) and the result says why the fused kernels do not.
 */
export function installNativeKernels(library?: string): NativeInstallResult {
  if (!stockIdentity) {
    stockIdentity = tf.getKernel("Identity", "wasm");
    if (stockIdentity) {
      tf.unregisterKernel("Identity", "wasm");
      tf.registerKernel({ kernelName: "Identity", backendName: "wasm", kernelFunc: sharedIdentity as never });
    }
  }
  const opened = openNative(library);
  if (!opened.ok) return { ...opened, sharedIdentity: stockIdentity !== undefined };
  if (!fusedActive) {
    for (const [kernelName, kernelFunc] of KERNELS) {
      if (!tf.getKernel(kernelName, "wasm")) {
        tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as never });
      }
    }
    fusedActive = true;
  }
  return opened;
}

/** Back to tfjs-wasm's own kernels: the ops stop calling the fused ones, and Identity copies again. */
export function uninstallNativeKernels(): void {
  fusedActive = false; // the registered kernels stay (unused): registering twice warns
  if (stockIdentity) {
    tf.unregisterKernel("Identity", "wasm");
    tf.registerKernel(stockIdentity);
    stockIdentity = undefined;
  }
}

/** Whether the ops use the fused kernels (true only while installed; the ops also check the backend). */
export function nativeKernelsActive(): boolean {
  return fusedActive;
}

/** Constants of one AdamW update (JS numbers; the kernel rounds them to float32 as tfjs's scalars are). */
export interface AdamWConstants {
  /** Gradient scale from clipping (1: none). */
  clip: number;
  beta1: number;
  beta2: number;
  /** Bias corrections 1 − β^t. */
  bc1: number;
  bc2: number;
  eps: number;
  /** This parameter's learning rate. */
  lr: number;
  /** Decoupled weight decay (0: none). */
  weightDecay: number;
}

/** One fused AdamW update on the wasm heap: `[p', m', v']` from parameter, gradient and moments. */
export function nativeAdamW(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  c: AdamWConstants,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.engine().runKernel(
    NATIVE_KERNELS.adamW,
    { p, g, m, v },
    c as unknown as tf.NamedAttrMap,
  ) as unknown as [tf.Tensor, tf.Tensor, tf.Tensor];
}

if (import.meta.main) {
  // `deno task native`: compile now (normally the first wasm run does it) and say where the library is.
  const r = buildNativeLibrary({ force: Deno.args.includes("--force") });
  console.log(`${r.built ? "built" : "up to date"}: ${r.path}`);
}
