/**
 * Counts what a stretch of tfjs work asks of WebGPU: queue submissions, buffer maps (readbacks), pipeline,
 * bind-group and buffer creations, `writeBuffer` calls, compute passes and kernel dispatches, plus the tfjs
 * reads of tensors that live on the backend (`data()`, `dataSync()`, `array()`…), with the project line that
 * asked for each read.
 *
 * Why counts and not timings: on a software driver (Mesa's lavapipe) timings say nothing about a real GPU,
 * but the number of submissions, readbacks and dispatches a step issues is the same on every adapter, and it
 * is what a fast GPU pays for per step. A readback (`mapAsync`) inside a step makes the CPU wait for the GPU
 * to drain everything queued before it, so the next step cannot be encoded while the GPU works.
 *
 * It wraps the methods of the WebGPU prototypes (`GPUDevice`, `GPUQueue`, `GPUCommandEncoder`,
 * `GPUComputePassEncoder`, `GPUBuffer`), so every device is counted, tfjs's included, whenever it was
 * created; and the active tfjs backend's `read` / `readSync`. `uninstall()` puts everything back.
 * @module
 */
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";

/** Counts of WebGPU calls (and tfjs reads) over a stretch of work. */
export interface WebGpuCounts {
  /** `GPUQueue.submit` calls. */
  submits: number;
  /** Command buffers handed to those submits. */
  commandBuffers: number;
  /** `GPUBuffer.mapAsync` calls: readbacks; each waits for the GPU to finish the work queued before it. */
  mapAsync: number;
  /** `GPUDevice.createComputePipeline` + `createComputePipelineAsync` (shader compilations). */
  computePipelines: number;
  /** `GPUDevice.createShaderModule`. */
  shaderModules: number;
  /** `GPUDevice.createBindGroup`. */
  bindGroups: number;
  /** `GPUDevice.createBuffer`, and the bytes they allocate. */
  buffers: number;
  bufferBytes: number;
  /** `GPUQueue.writeBuffer` calls (tfjs: one uniform block per dispatch), and their bytes. */
  writeBuffers: number;
  writeBufferBytes: number;
  /** `GPUCommandEncoder.copyBufferToBuffer` (uploads through staging buffers, readbacks, copies). */
  copies: number;
  /** `GPUDevice.createCommandEncoder`. */
  commandEncoders: number;
  /** `GPUCommandEncoder.beginComputePass`. */
  computePasses: number;
  /** `GPUComputePassEncoder.dispatchWorkgroups`: kernel launches. */
  dispatches: number;
  /**
   * tfjs `backend.read` (`data()`, `array()`) of a tensor whose values the backend holds: on webgpu, one not
   * already on the CPU side (each is a `mapAsync`); on wasm and cpu, every read (cheap there).
   */
  tensorReads: number;
  /** tfjs `backend.readSync` (`dataSync()`, `arraySync()`) of such a tensor; on webgpu in Deno these throw. */
  tensorSyncReads: number;
  /** Where the tensor reads came from: "path:line" of the first project frame → count. */
  readSites: Record<string, number>;
  /**
   * webgpu: tensors uploaded from the CPU (tfjs `uploadToGPU` of a tensor holding CPU values), e.g. a scalar
   * that `tf.mul(x, 0.5)` makes; each takes a fresh staging buffer (`createBuffer`) and a copy.
   */
  uploads: number;
  /** Where the uploads came from: "path:line" of the first project frame (the op that used the tensor). */
  uploadSites: Record<string, number>;
  /**
   * webgpu: the tfjs programs run (`runWebGPUProgram`), by class name (e.g. `MatMulPackedProgram`,
   * `TransposeProgram`, `DepthwiseConv2DNCHWSharedProgram`): which kernels the dispatches are.
   */
  programs: Record<string, number>;
}

/** An installed counter. */
export interface WebGpuCounter {
  /** The counts since installation or the last `reset`. */
  snapshot(): WebGpuCounts;
  /** Zeroes the counts. */
  reset(): void;
  /** Restores every wrapped method. */
  uninstall(): void;
}

function zero(): WebGpuCounts {
  return {
    submits: 0,
    commandBuffers: 0,
    mapAsync: 0,
    computePipelines: 0,
    shaderModules: 0,
    bindGroups: 0,
    buffers: 0,
    bufferBytes: 0,
    writeBuffers: 0,
    writeBufferBytes: 0,
    copies: 0,
    commandEncoders: 0,
    computePasses: 0,
    dispatches: 0,
    tensorReads: 0,
    tensorSyncReads: 0,
    readSites: {},
    uploads: 0,
    uploadSites: {},
    programs: {},
  };
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SELF = fileURLToPath(import.meta.url);

/** "lib/train/pretrain.ts:463" of the first stack frame in the project (outside node_modules and this file). */
function callSite(): string {
  // tfjs's own frames (its __awaiter helpers included) exceed V8's default depth of 10.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const lines = stack.split("\n").slice(1);
  for (const l of lines) {
    const m = /(file:\/\/[^\s)]+):(\d+):\d+/.exec(l);
    if (!m) continue;
    const path = fileURLToPath(m[1]);
    if (path === SELF || path.includes("/node_modules/")) continue;
    return `${path.startsWith(ROOT) ? path.slice(ROOT.length) : path}:${m[2]}`;
  }
  return "unknown";
}

// deno-lint-ignore no-explicit-any
type AnyFn = (this: any, ...args: any[]) => any;

let installed = false;

/**
 * Starts counting. Only one counter may be installed at a time (the wrappers are global). Safe without
 * WebGPU: the prototypes that do not exist are skipped and the GPU counts stay zero.
 */
export function installWebGpuCounters(): WebGpuCounter {
  if (installed) throw new Error("webgpu counters are already installed");
  installed = true;
  let c = zero();
  const restore: (() => void)[] = [];
  const g = globalThis as unknown as Record<string, { prototype: Record<string, AnyFn> } | undefined>;
  const wrap = (cls: string, method: string, count: (args: unknown[]) => void) => {
    const proto = g[cls]?.prototype;
    const original = proto?.[method];
    if (!proto || typeof original !== "function") return;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      count(args);
      return original.apply(this, args);
    };
    restore.push(() => (proto[method] = original));
  };
  wrap("GPUQueue", "submit", (a) => {
    c.submits++;
    c.commandBuffers += (a[0] as unknown[] | undefined)?.length ?? 0;
  });
  wrap("GPUQueue", "writeBuffer", (a) => {
    c.writeBuffers++;
    // writeBuffer(buffer, offset, data, dataOffset?, size?): size in elements of data (bytes for ArrayBuffer).
    const data = a[2] as ArrayBuffer | ArrayBufferView;
    const perElement = ArrayBuffer.isView(data) && "BYTES_PER_ELEMENT" in data
      ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT
      : 1;
    c.writeBufferBytes += typeof a[4] === "number"
      ? a[4] * perElement
      : data.byteLength - ((a[3] as number) ?? 0);
  });
  wrap("GPUBuffer", "mapAsync", () => c.mapAsync++);
  wrap("GPUDevice", "createComputePipeline", () => c.computePipelines++);
  wrap("GPUDevice", "createComputePipelineAsync", () => c.computePipelines++);
  wrap("GPUDevice", "createShaderModule", () => c.shaderModules++);
  wrap("GPUDevice", "createBindGroup", () => c.bindGroups++);
  wrap("GPUDevice", "createBuffer", (a) => {
    c.buffers++;
    c.bufferBytes += (a[0] as { size: number }).size;
  });
  wrap("GPUDevice", "createCommandEncoder", () => c.commandEncoders++);
  wrap("GPUCommandEncoder", "copyBufferToBuffer", () => c.copies++);
  wrap("GPUCommandEncoder", "beginComputePass", () => c.computePasses++);
  wrap("GPUComputePassEncoder", "dispatchWorkgroups", () => c.dispatches++);

  // tfjs reads, on the backend active now. Values already on the CPU side (a tensor made from an array and
  // never uploaded, or read before) cost nothing; only reads of data the backend computed are counted.
  const backend = tf.backend() as unknown as {
    read: AnyFn;
    readSync: AnyFn;
    uploadToGPU?: AnyFn;
    runWebGPUProgram?: AnyFn;
    tensorMap?: { get(id: unknown): { values?: unknown; resource?: unknown } | undefined };
  };
  const onDevice = (dataId: unknown) => backend.tensorMap?.get(dataId)?.values == null;
  const bump = (sites: Record<string, number>, s: string) => (sites[s] = (sites[s] ?? 0) + 1);
  const site = (s: string) => bump(c.readSites, s);
  for (const [method, key] of [["read", "tensorReads"], ["readSync", "tensorSyncReads"]] as const) {
    const hadOwn = Object.hasOwn(backend, method);
    const original = backend[method];
    backend[method] = function (this: unknown, dataId: unknown, ...rest: unknown[]) {
      if (onDevice(dataId)) {
        c[key]++;
        site(callSite());
      }
      return original.call(this, dataId, ...rest);
    };
    restore.push(() => {
      if (hadOwn) backend[method] = original;
      else delete (backend as Partial<typeof backend>)[method];
    });
  }
  const upload = backend.uploadToGPU;
  if (upload) {
    backend.uploadToGPU = function (this: unknown, dataId: unknown) {
      const d = backend.tensorMap?.get(dataId);
      if (d && d.resource == null && d.values != null) {
        c.uploads++;
        bump(c.uploadSites, callSite());
      }
      return upload.call(this, dataId);
    };
    restore.push(() => delete (backend as Partial<typeof backend>).uploadToGPU);
  }
  const runProgram = backend.runWebGPUProgram;
  if (runProgram) {
    backend.runWebGPUProgram = function (this: unknown, program: object, ...rest: unknown[]) {
      bump(c.programs, program.constructor.name);
      return runProgram.call(this, program, ...rest);
    };
    restore.push(() => delete (backend as Partial<typeof backend>).runWebGPUProgram);
  }
  return {
    snapshot: () => ({
      ...c,
      readSites: { ...c.readSites },
      uploadSites: { ...c.uploadSites },
      programs: { ...c.programs },
    }),
    reset: () => (c = zero()),
    uninstall: () => {
      for (const r of restore.reverse()) r();
      restore.length = 0;
      installed = false;
    },
  };
}

/**
 * Counts the calls `fn` makes (installs counters for the call, removes them after). Work encoded before `fn`
 * but submitted during it (tfjs submits every `WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE` dispatches) is counted as
 * `fn`'s submit: in a steady state of identical steps that is what one step costs.
 */
export async function countWebGpu(fn: () => Promise<unknown>): Promise<WebGpuCounts> {
  const counter = installWebGpuCounters();
  try {
    await fn();
    return counter.snapshot();
  } finally {
    counter.uninstall();
  }
}
