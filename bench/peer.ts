/**
 * PyTorch peer benchmark: runs `bench/peer_torch.py` (an independent PyTorch implementation of one MAE
 * pre-training step) under Debian's `/usr/bin/python3`, so that the TF.js engine can be compared with
 * PyTorch on the same CPU.
 *
 * Debian's `python3-torch` is built against the generic BLAS interface; it is only a fair peer when the
 * `libblas.so.3` alternative resolves to OpenBLAS (the reference BLAS is about 15x slower). {@linkcode
 * ensurePeer} checks this and can install / select OpenBLAS; {@linkcode runPeer} runs the timing.
 *
 * @module
 */

/** Python that sees Debian's `python3-torch` (a pyenv `python3` on PATH usually does not). */
export const PEER_PYTHON = "/usr/bin/python3";

/** Debian packages that make a fair PyTorch peer. */
export const PEER_APT_PACKAGES: readonly string[] = ["python3-torch", "libopenblas0-pthread"];

/** Path of the Python peer script, next to this module. */
export const PEER_SCRIPT: string = decodeURIComponent(new URL("./peer_torch.py", import.meta.url).pathname);

/** Below this single-thread 1024² sgemm rate (GFLOP/s) the BLAS is flagged as suspiciously slow. */
export const MIN_FAIR_SGEMM_GFLOPS = 10;

/** BLAS facts reported by the peer script. */
export interface PeerBlasInfo {
  /** `BLAS_INFO` of torch's build settings (`generic` for Debian: resolved through libblas.so.3). */
  buildInfo: string;
  /** `LAPACK_INFO` of torch's build settings. */
  lapackBuildInfo: string;
  /** Whether torch was built with MKL. */
  mkl: boolean;
  /** Whether oneDNN (MKL-DNN) is available to torch. */
  mkldnn: boolean;
  /** BLAS / LAPACK / MKL libraries mapped into the Python process. */
  libraries: string[];
  /** Whether one of them is OpenBLAS. */
  openblas: boolean;
  /** `OPENBLAS_NUM_THREADS` as the script saw it. */
  envOpenblasThreads: string | null;
  /** `openblas_get_config()`, when OpenBLAS is loaded. */
  openblasConfig?: string;
  /** `openblas_get_num_threads()`, when OpenBLAS is loaded. */
  openblasThreads?: number;
}

/** Model configuration of the peer step (the script's defaults are the suite's small ViT). */
export interface PeerModelConfig {
  /** Square image side in pixels. */
  imageSize: number;
  /** Square patch side in pixels. */
  patchSize: number;
  /** Encoder width. */
  embedDim: number;
  /** Encoder blocks. */
  depth: number;
  /** Encoder attention heads. */
  heads: number;
  /** Decoder width. */
  decoderDim: number;
  /** Decoder blocks. */
  decoderDepth: number;
  /** Decoder attention heads. */
  decoderHeads: number;
  /** Fraction of patches masked. */
  maskRatio: number;
}

/** The peer script's defaults (image 32, patch 4, 192 × 6 × 3 heads, decoder 128 × 2 × 4 heads, mask 0.75). */
export const PEER_DEFAULT_MODEL: Readonly<PeerModelConfig> = {
  imageSize: 32,
  patchSize: 4,
  embedDim: 192,
  depth: 6,
  heads: 3,
  decoderDim: 128,
  decoderDepth: 2,
  decoderHeads: 4,
  maskRatio: 0.75,
};

/** One timing run of the PyTorch peer, as printed by the script. */
export interface PeerResult {
  step: "mae-pretrain";
  impl: "pytorch";
  /** Which transformer blocks: the script's own (`blocks`) or PyTorch's `nn.TransformerEncoderLayer`. */
  blocks?: PeerBlocks;
  /** `torch.__version__`. */
  torch: string;
  /** Torch intra-op threads actually in use. */
  threads: number;
  batch: number;
  /** Median wall time of one training step (forward, backward, AdamW). */
  msPerStep: number;
  /** `batch / msPerStep`, in images per second. */
  imgPerSec: number;
  /** Every timed step, in milliseconds. */
  stepMs: number[];
  warmup: number;
  steps: number;
  /** Loss of the last timed step (a sanity value: finite). */
  lastLoss: number;
  /** Number of model parameters. */
  params: number;
  config: PeerModelConfig;
  blas: PeerBlasInfo;
}

/** Result of the script's `--check` mode. */
export interface PeerCheckResult {
  check: "mae-pretrain";
  impl: "pytorch";
  torch: string;
  /** True when every invariant held and the loss fell. */
  ok: boolean;
  /** Human-readable description of each failed check. */
  failures: string[];
  numPatches: number;
  numKept: number;
  /** Loss of each training step on the fixed batch. */
  losses: number[];
  lossFirst5: number;
  lossLast5: number;
  config: PeerModelConfig;
}

/** Result of the script's `--probe` mode. */
export interface PeerProbe {
  torch: string;
  python: string;
  /** Debian multiarch tuple, e.g. `x86_64-linux-gnu` (names the update-alternatives links). */
  multiarch: string;
  threads: number;
  /** Single-thread 1024 × 1024 float32 matrix product rate. */
  sgemm1024Gflops: number;
  blas: PeerBlasInfo;
}

/** Outcome of {@linkcode probePeer}: the probe, or why there is none. */
export type PeerProbeOutcome = { ok: true; probe: PeerProbe } | { ok: false; reason: string };

/** Outcome of {@linkcode ensurePeer}. */
export interface PeerStatus {
  /** True when torch imports and runs on OpenBLAS. */
  ready: boolean;
  /** Why the peer is not ready (absent when ready). */
  reason?: string;
  /** Whether this call installed packages or changed the BLAS alternative. */
  changed: boolean;
  /** The last successful probe, if any. */
  probe?: PeerProbe;
}

/** Options of {@linkcode ensurePeer}. */
export interface EnsurePeerOptions {
  /** Install the apt packages / select OpenBLAS when missing (needs root and apt-get). */
  install: boolean;
  /** Progress messages. */
  log?: (message: string) => void;
  /** Python to use; defaults to {@linkcode PEER_PYTHON}. */
  python?: string;
}

/** The peer's two implementations of a transformer block (see `peer_torch.py --impl`). */
export type PeerBlocks = "blocks" | "stock";

/** Both implementations, in the order `--peer` times them. */
export const PEER_BLOCKS: readonly PeerBlocks[] = ["blocks", "stock"];

/** Options of {@linkcode runPeer}. */
export interface RunPeerOptions {
  /** Transformer blocks (default `blocks`, the script's own). */
  impl?: PeerBlocks;
  /** Torch intra-op threads (`torch.set_num_threads`). */
  threads: number;
  /** Images per step. */
  batch: number;
  /** Timed steps; the median is reported. */
  steps: number;
  /** Untimed steps before timing (default 3). */
  warmup?: number;
  /** Overrides of the model configuration (default {@linkcode PEER_DEFAULT_MODEL}). */
  model?: Partial<PeerModelConfig>;
  /** Seed of parameters, inputs and masks (default 0). */
  seed?: number;
  /** `OPENBLAS_NUM_THREADS` (default 1: BLAS single-threaded, parallelism from torch's pool). */
  blasThreads?: number;
  /** Python to use; defaults to {@linkcode PEER_PYTHON}. */
  python?: string;
  /** Kill the script after this long (default 10 minutes). */
  timeoutMs?: number;
}

/** Options of {@linkcode runPeerCheck}. */
export interface RunPeerCheckOptions {
  /** Transformer blocks (default `blocks`, the script's own). */
  impl?: PeerBlocks;
  /** Images in the fixed batch (default 8). */
  batch?: number;
  /** Training steps on the fixed batch (default 20, at least 10). */
  steps?: number;
  /** Torch threads (default 1). */
  threads?: number;
  /** Python to use; defaults to {@linkcode PEER_PYTHON}. */
  python?: string;
  /** Kill the script after this long (default 2 minutes). */
  timeoutMs?: number;
}

interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; NotFound becomes a clear error, `timeoutMs` kills the child. */
async function runCommand(
  command: string,
  args: string[],
  opts: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CommandOutput> {
  const controller = new AbortController();
  const timer = opts.timeoutMs === undefined
    ? undefined
    : setTimeout(() => controller.abort(), opts.timeoutMs);
  try {
    const output = await new Deno.Command(command, {
      args,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    const decoder = new TextDecoder();
    if (controller.signal.aborted) {
      throw new Error(`${command} ${args.join(" ")} timed out after ${opts.timeoutMs} ms`);
    }
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`${command} not found`);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Last `maxChars` characters of a text, for error messages. */
function tail(text: string, maxChars = 2000): string {
  const trimmed = text.trim();
  return trimmed.length <= maxChars ? trimmed : "…" + trimmed.slice(-maxChars);
}

/** Parses the last line of `stdout` that is a JSON object; throws with the output when there is none. */
function lastJsonLine(stdout: string, stderr: string, what: string): Record<string, unknown> {
  const lines = stdout.split("\n").map((line) => line.trim()).filter((line) => line.startsWith("{"));
  const line = lines.at(-1);
  if (line === undefined) {
    throw new Error(`${what}: no JSON line in the output\nstdout: ${tail(stdout)}\nstderr: ${tail(stderr)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new Error(`${what}: malformed JSON line (${(err as Error).message}): ${tail(line, 500)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${what}: JSON line is not an object: ${tail(line, 500)}`);
  }
  return value as Record<string, unknown>;
}

/** Throws unless each named field of `record` has the expected `typeof`. */
function requireFields(
  record: Record<string, unknown>,
  fields: Record<string, "string" | "number" | "boolean" | "object">,
  what: string,
): void {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(fields)) {
    const got: string = record[name] === null ? "null" : typeof record[name];
    if (got !== want) problems.push(`${name} (want ${want}, got ${got})`);
  }
  if (problems.length > 0) throw new Error(`${what}: bad or missing fields: ${problems.join(", ")}`);
}

/**
 * Parses the timing script's stdout (the last JSON line) into a {@linkcode PeerResult}, checking the
 * fields that comparisons rely on.
 */
export function parsePeerResult(stdout: string, stderr = ""): PeerResult {
  const what = "peer_torch.py";
  const record = lastJsonLine(stdout, stderr, what);
  if (record.step !== "mae-pretrain" || record.impl !== "pytorch") {
    throw new Error(`${what}: not a timing result (step=${record.step}, impl=${record.impl})`);
  }
  requireFields(record, {
    torch: "string",
    threads: "number",
    batch: "number",
    msPerStep: "number",
    imgPerSec: "number",
    blas: "object",
  }, what);
  const msPerStep = record.msPerStep as number;
  if (!(msPerStep > 0) || !Number.isFinite(msPerStep)) {
    throw new Error(`${what}: msPerStep must be a positive number, got ${msPerStep}`);
  }
  return record as unknown as PeerResult;
}

/** Parses the `--check` output into a {@linkcode PeerCheckResult}. */
export function parsePeerCheck(stdout: string, stderr = ""): PeerCheckResult {
  const what = "peer_torch.py --check";
  const record = lastJsonLine(stdout, stderr, what);
  if (record.check !== "mae-pretrain") throw new Error(`${what}: not a check result`);
  requireFields(record, { ok: "boolean", failures: "object", losses: "object" }, what);
  return record as unknown as PeerCheckResult;
}

function positiveInt(value: number, name: string): string {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, got ${value}`);
  }
  return String(value);
}

/** Environment of the script: BLAS single-threaded by default, OpenMP pool sized to `threads`. */
function peerEnv(threads: number, blasThreads: number): Record<string, string> {
  return { OPENBLAS_NUM_THREADS: String(blasThreads), OMP_NUM_THREADS: String(threads) };
}

/**
 * Runs the probe mode: is torch importable by `python`, which BLAS does it load, how fast is sgemm.
 * Never throws; a failure comes back as a reason.
 */
export async function probePeer(python: string = PEER_PYTHON): Promise<PeerProbeOutcome> {
  let output: CommandOutput;
  try {
    output = await runCommand(python, [PEER_SCRIPT, "--probe"], { env: peerEnv(1, 1), timeoutMs: 60_000 });
  } catch (err) {
    return { ok: false, reason: `cannot run ${python}: ${(err as Error).message}` };
  }
  if (output.code !== 0) {
    const missingTorch = output.stderr.includes("No module named 'torch'");
    return {
      ok: false,
      reason: missingTorch
        ? `torch is not importable by ${python} (apt-get install ${PEER_APT_PACKAGES.join(" ")})`
        : `${python} ${PEER_SCRIPT} --probe failed (exit ${output.code}): ${tail(output.stderr, 800)}`,
    };
  }
  try {
    const record = lastJsonLine(output.stdout, output.stderr, "peer_torch.py --probe");
    requireFields(record, { torch: "string", blas: "object", sgemm1024Gflops: "number" }, "probe");
    return { ok: true, probe: record as unknown as PeerProbe };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

/** Points the libblas.so.3 / liblapack.so.3 alternatives at an OpenBLAS candidate; returns what it did. */
async function selectOpenblasAlternatives(
  multiarch: string,
  log: (message: string) => void,
): Promise<string[]> {
  const changed: string[] = [];
  for (const base of ["libblas.so.3", "liblapack.so.3"]) {
    const name = multiarch ? `${base}-${multiarch}` : base;
    const list = await runCommand("update-alternatives", ["--list", name]);
    const candidate = list.stdout.split("\n").map((l) => l.trim()).find((l) => l.includes("openblas"));
    if (list.code !== 0 || candidate === undefined) continue;
    log(`update-alternatives --set ${name} ${candidate}`);
    const set = await runCommand("update-alternatives", ["--set", name, candidate]);
    if (set.code !== 0) throw new Error(`update-alternatives --set ${name} failed: ${tail(set.stderr, 500)}`);
    changed.push(name);
  }
  return changed;
}

/** Installs {@linkcode PEER_APT_PACKAGES} non-interactively. */
async function aptInstall(log: (message: string) => void): Promise<void> {
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  log("apt-get update");
  const update = await runCommand("apt-get", ["update"], { env });
  if (update.code !== 0) {
    throw new Error(`apt-get update failed (exit ${update.code}): ${tail(update.stderr, 800)}`);
  }
  log(`apt-get install -y ${PEER_APT_PACKAGES.join(" ")} (may take a few minutes)`);
  const install = await runCommand("apt-get", ["install", "-y", ...PEER_APT_PACKAGES], { env });
  if (install.code !== 0) {
    throw new Error(`apt-get install failed (exit ${install.code}): ${tail(install.stderr, 800)}`);
  }
}

/**
 * Makes sure the PyTorch peer can run fairly: `/usr/bin/python3` imports torch and torch's BLAS is
 * OpenBLAS. With `install`, as root on a Debian-like system, installs the apt packages and selects the
 * OpenBLAS alternative as needed. Never throws: when the peer is not ready, `reason` says why.
 */
export async function ensurePeer(opts: EnsurePeerOptions): Promise<PeerStatus> {
  const log = opts.log ?? (() => {});
  const python = opts.python ?? PEER_PYTHON;
  let changed = false;
  let outcome = await probePeer(python);

  if (!isFair(outcome)) {
    const problem = outcome.ok ? `torch does not use OpenBLAS (${describe(outcome)})` : outcome.reason;
    if (!opts.install) return { ready: false, reason: `${problem}; rerun with install enabled`, changed };
    if (Deno.build.os !== "linux") {
      return { ready: false, reason: `${problem}; auto-install is Linux-only`, changed };
    }
    if (Deno.uid() !== 0) return { ready: false, reason: `${problem}; installing needs root`, changed };
    try {
      if (!outcome.ok || !(await hasOpenblasPackage())) {
        await aptInstall(log);
        changed = true;
        outcome = await probePeer(python);
      }
      if (outcome.ok && !outcome.probe.blas.openblas) {
        // torch resolves BLAS through libblas.so.3: point that alternative at OpenBLAS
        const switched = await selectOpenblasAlternatives(outcome.probe.multiarch, log);
        changed ||= switched.length > 0;
        outcome = await probePeer(python);
      }
    } catch (err) {
      return { ready: false, reason: `${problem}; install failed: ${(err as Error).message}`, changed };
    }
    if (!isFair(outcome)) return { ready: false, reason: `after installing: ${describe(outcome)}`, changed };
  }

  const probe = outcome.probe;
  log(`peer ready: ${describe(outcome)}; sgemm 1024² on 1 thread: ${probe.sgemm1024Gflops} GFLOP/s`);
  if (probe.sgemm1024Gflops < MIN_FAIR_SGEMM_GFLOPS) {
    log(`warning: sgemm below ${MIN_FAIR_SGEMM_GFLOPS} GFLOP/s; the machine may be loaded or BLAS slow`);
  }
  return { ready: true, changed, probe };
}

/** A probe that found torch running on OpenBLAS. */
function isFair(outcome: PeerProbeOutcome): outcome is { ok: true; probe: PeerProbe } {
  return outcome.ok && outcome.probe.blas.openblas;
}

/** One-line summary of a probe outcome for messages. */
function describe(outcome: PeerProbeOutcome): string {
  if (!outcome.ok) return outcome.reason;
  const libraries = outcome.probe.blas.libraries.join(", ") || "no BLAS library";
  return `torch ${outcome.probe.torch} loads ${libraries}`;
}

/** Whether dpkg lists the OpenBLAS pthread runtime as installed. */
async function hasOpenblasPackage(): Promise<boolean> {
  try {
    const query = await runCommand("dpkg-query", ["-W", "-f=${Status}", "libopenblas0-pthread"]);
    return query.code === 0 && query.stdout.includes("install ok installed");
  } catch {
    return false;
  }
}

/** Command-line arguments of the script for a model configuration. */
function modelArgs(model: Partial<PeerModelConfig> = {}): string[] {
  const m = { ...PEER_DEFAULT_MODEL, ...model };
  if (!(m.maskRatio > 0 && m.maskRatio < 1)) {
    throw new Error(`maskRatio must lie in (0, 1), got ${m.maskRatio}`);
  }
  return [
    ["--image", positiveInt(m.imageSize, "imageSize")],
    ["--patch", positiveInt(m.patchSize, "patchSize")],
    ["--dim", positiveInt(m.embedDim, "embedDim")],
    ["--depth", positiveInt(m.depth, "depth")],
    ["--heads", positiveInt(m.heads, "heads")],
    ["--decoder-dim", positiveInt(m.decoderDim, "decoderDim")],
    ["--decoder-depth", positiveInt(m.decoderDepth, "decoderDepth")],
    ["--decoder-heads", positiveInt(m.decoderHeads, "decoderHeads")],
    ["--mask", String(m.maskRatio)],
  ].flat();
}

/**
 * Times the PyTorch MAE pre-training step: `warmup` untimed steps, then `steps` timed ones on random
 * inputs; resolves to the parsed result (median step time, images per second, BLAS facts).
 * Throws a descriptive error when the options are invalid or the script fails.
 */
export async function runPeer(opts: RunPeerOptions): Promise<PeerResult> {
  const warmup = opts.warmup ?? 3;
  if (!Number.isInteger(warmup) || warmup < 0) {
    throw new Error(`warmup must be an integer >= 0, got ${warmup}`);
  }
  const args = [
    PEER_SCRIPT,
    ["--threads", positiveInt(opts.threads, "threads")],
    ["--batch", positiveInt(opts.batch, "batch")],
    ["--steps", positiveInt(opts.steps, "steps")],
    ["--warmup", String(warmup)],
    ["--seed", String(opts.seed ?? 0)],
    ["--impl", opts.impl ?? "blocks"],
    modelArgs(opts.model),
  ].flat();
  const blasThreads = Number(positiveInt(opts.blasThreads ?? 1, "blasThreads"));
  const output = await runCommand(opts.python ?? PEER_PYTHON, args, {
    env: peerEnv(opts.threads, blasThreads),
    timeoutMs: opts.timeoutMs ?? 600_000,
  });
  if (output.code !== 0) {
    throw new Error(
      `peer_torch.py failed (exit ${output.code}); is the peer installed (ensurePeer)?\n${
        tail(output.stderr)
      }`,
    );
  }
  return parsePeerResult(output.stdout, output.stderr);
}

/** The peer's timing of a list of GEMM shapes (`peer_torch.py --gemm`). */
export interface PeerGemmResult {
  threads: number;
  rows: { m: number; k: number; n: number; batch: number; ms: number; gflopPerSec: number }[];
}

/** Times `a @ b` in PyTorch for each `[m, k, n]` shape (median of 7, same thread settings as {@linkcode runPeer}). */
export async function runPeerGemm(
  shapes: { m: number; k: number; n: number; batch?: number }[],
  opts: { threads: number; blasThreads?: number; python?: string; timeoutMs?: number },
): Promise<PeerGemmResult> {
  const args = [
    PEER_SCRIPT,
    "--threads",
    positiveInt(opts.threads, "threads"),
    "--gemm",
    JSON.stringify(shapes.map((s) => [s.m, s.k, s.n, s.batch ?? 1])),
  ];
  const output = await runCommand(opts.python ?? PEER_PYTHON, args, {
    env: peerEnv(opts.threads, Number(positiveInt(opts.blasThreads ?? 1, "blasThreads"))),
    timeoutMs: opts.timeoutMs ?? 300_000,
  });
  if (output.code !== 0) {
    throw new Error(`peer_torch.py --gemm failed (exit ${output.code})\n${tail(output.stderr)}`);
  }
  const record = lastJsonLine(output.stdout, output.stderr, "peer_torch.py --gemm");
  const rows = record.gemm as PeerGemmResult["rows"];
  if (!Array.isArray(rows) || rows.length !== shapes.length || rows.some((r) => !(r.ms > 0))) {
    throw new Error(
      `peer_torch.py --gemm: expected ${shapes.length} timed shapes, got ${JSON.stringify(rows)}`,
    );
  }
  return { threads: Number(record.threads), rows };
}

/**
 * Runs the script's self-check: masking invariants, patchify order, norm-pix loss on hand-made cases,
 * and a falling loss over `steps` AdamW steps on one fixed batch. Resolves even when checks fail
 * (`ok: false`, `failures` lists them); throws only when the script cannot run.
 */
export async function runPeerCheck(opts: RunPeerCheckOptions = {}): Promise<PeerCheckResult> {
  const threads = opts.threads ?? 1;
  const args = [
    PEER_SCRIPT,
    "--check",
    "--threads",
    positiveInt(threads, "threads"),
    "--batch",
    positiveInt(opts.batch ?? 8, "batch"),
    "--check-steps",
    positiveInt(opts.steps ?? 20, "steps"),
    "--impl",
    opts.impl ?? "blocks",
  ];
  const output = await runCommand(opts.python ?? PEER_PYTHON, args, {
    env: peerEnv(threads, 1),
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
  // exit 1 with a JSON line means "checks failed": still a result
  if (output.code !== 0 && !output.stdout.includes('"check"')) {
    throw new Error(`peer_torch.py --check failed (exit ${output.code})\n${tail(output.stderr)}`);
  }
  return parsePeerCheck(output.stdout, output.stderr);
}

/**
 * The faster of several peer timings (the one a ratio must use: a slow peer flatters ours), or undefined
 * for none.
 */
export function fasterPeer(results: readonly PeerResult[]): PeerResult | undefined {
  return results.reduce<PeerResult | undefined>(
    (best, r) => (best === undefined || r.msPerStep < best.msPerStep ? r : best),
    undefined,
  );
}
