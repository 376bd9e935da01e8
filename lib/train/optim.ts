/**
 * Optimisers and schedules as in MAE's training code: AdamW with decoupled weight decay and parameter groups
 * (no decay on biases, norms and tokens), layer-wise lr decay for fine-tuning (`param_groups_lrd`), SGD with
 * momentum and LARS for linear probing, linear warm-up + half-cycle cosine per iteration.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { nativeAdamW, nativeKernelsActive } from "../native.ts";
import type { Params } from "../vit.ts";

/**
 * Parameters excluded from weight decay by name (besides every 1-D tensor and bias): MAE's fine-tuning
 * (`param_groups_lrd`'s `no_weight_decay_list`), and this suite's pre-training unless its recipe sets
 * `decayTokens`. UM-MAE's `vis_mask_token` is not one: its code decays it, so it is decayed here.
 */
const NO_DECAY_NAMES: ReadonlySet<string> = new Set(["cls_token", "mask_token", "pos_embed", "dist_token"]);

/**
 * The names MAE's, GPA's and UM-MAE's pre-training exempt: none. Their `main_pretrain.py` groups parameters
 * with timm's `add_weight_decay` and no skip list, so only 1-D tensors and biases escape decay — `cls_token`
 * and `mask_token` ([1, 1, D]) are decayed (their positional embeddings are fixed buffers, not parameters).
 */
export const CODE_PRETRAIN_NO_DECAY: ReadonlySet<string> = new Set();

/**
 * True when MAE's parameter grouping applies weight decay to this parameter: not a 1-D tensor, not a bias,
 * not one of `noDecayNames` (default: the fine-tuning list, which also names the tokens).
 */
export function hasWeightDecay(
  name: string,
  shape: readonly number[],
  noDecayNames: ReadonlySet<string> = NO_DECAY_NAMES,
): boolean {
  return !(shape.length === 1 || name.endsWith(".bias") || noDecayNames.has(name));
}

/**
 * MAE's layer id for layer-wise lr decay: tokens and patch embedding 0, block i → i + 1, everything else
 * (final norm, fc_norm, head) `numLayers` = depth + 1.
 */
export function layerId(name: string, depth: number): number {
  if (NO_DECAY_NAMES.has(name) || name.startsWith("patch_embed")) return 0;
  const m = /^blocks\.(\d+)\./.exec(name);
  if (m) return Number(m[1]) + 1;
  return depth + 1;
}

/** lr scale of a parameter under layer decay `ld`: ld^(depth + 1 − layerId). */
export function layerDecayScale(name: string, depth: number, ld: number): number {
  return Math.pow(ld, depth + 1 - layerId(name, depth));
}

/** Linear warm-up then half-cycle cosine, at fractional epoch `epoch` (MAE's `adjust_learning_rate`). */
export function cosineLr(
  epoch: number,
  o: { lr: number; minLr: number; warmupEpochs: number; epochs: number },
): number {
  if (epoch < o.warmupEpochs) return (o.lr * epoch) / o.warmupEpochs;
  const span = Math.max(o.epochs - o.warmupEpochs, 1e-12);
  return o.minLr + (o.lr - o.minLr) * 0.5 * (1 + Math.cos((Math.PI * (epoch - o.warmupEpochs)) / span));
}

/** Absolute lr from MAE's base lr rule: lr = blr × effective batch / 256. */
export function absoluteLr(blr: number, batch: number): number {
  return (blr * batch) / 256;
}

/** Serializable optimiser state. */
export interface OptimizerState {
  step: number;
  slots: Map<string, tf.Tensor>;
}

/** Options of AdamW. */
export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay: number;
  /** Per-parameter lr multiplier (layer decay); default 1. */
  lrScale?: (name: string) => number;
  /** Gradient clipping by global norm; undefined = none. */
  clipNorm?: number;
  /** Names exempt from weight decay besides 1-D tensors and biases (default: `hasWeightDecay`'s). */
  noDecayNames?: ReadonlySet<string>;
}

/** Global L2 norm of a set of gradients. */
export async function globalNorm(grads: tf.Tensor[]): Promise<number> {
  const sq = tf.tidy(() => tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
  const v = (await sq.data())[0];
  sq.dispose();
  return Math.sqrt(v);
}

/** Whether an AdamW update can run as lib/native.ts's fused kernel (wasm, float32, the kernels installed). */
function fusedUpdate(p: tf.Tensor, g: tf.Tensor): boolean {
  return nativeKernelsActive() && tf.getBackend() === "wasm" && p.dtype === "float32" &&
    g.dtype === "float32";
}

/**
 * float32 scalar tensors by value, made on first use and kept until `dispose` (one optimiser step). The same
 * values `tf.mul(x, number)` would convert, so results are bit-identical; only the uploads are shared.
 */
class StepScalars {
  private readonly byValue = new Map<number, tf.Scalar>();
  get(value: number): tf.Scalar {
    let t = this.byValue.get(value);
    if (!t) {
      t = tf.keep(tf.scalar(value, "float32"));
      this.byValue.set(value, t);
    }
    return t;
  }
  dispose(): void {
    for (const t of this.byValue.values()) t.dispose();
    this.byValue.clear();
  }
}

/** AdamW exactly as PyTorch's (decoupled decay applied as p ← p·(1 − lr·wd) before the Adam step). */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(readonly params: Params, readonly opts: AdamWOptions) {
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false));
      this.v.set(name, tf.variable(tf.zerosLike(p), false));
    }
  }

  /** Applies one update with learning rate `lr`; returns the gradient norm before clipping. */
  async apply(grads: Record<string, tf.Tensor> | Map<string, tf.Tensor>, lr: number): Promise<number> {
    const g = grads instanceof Map ? grads : new Map(Object.entries(grads));
    let norm = NaN;
    let clipScale = 1;
    if (this.opts.clipNorm !== undefined) {
      norm = await globalNorm([...g.values()]);
      if (norm > this.opts.clipNorm) clipScale = this.opts.clipNorm / (norm + 1e-6);
    }
    this.step++;
    const bc1 = 1 - Math.pow(this.beta1, this.step);
    const bc2 = 1 - Math.pow(this.beta2, this.step);
    const scalars = new StepScalars();
    try {
      this.update(g, lr, clipScale, bc1, bc2, scalars);
    } finally {
      scalars.dispose();
    }
    return norm;
  }

  /** The per-parameter updates of one step (`apply` after clipping and bias corrections). */
  private update(
    g: Map<string, tf.Tensor>,
    lr: number,
    clipScale: number,
    bc1: number,
    bc2: number,
    scalars: StepScalars,
  ): void {
    for (const [name, p] of this.params) {
      const grad = g.get(name);
      if (!grad) continue;
      const plr = lr * (this.opts.lrScale?.(name) ?? 1);
      const wd = hasWeightDecay(name, p.shape, this.opts.noDecayNames) ? this.opts.weightDecay : 0;
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      if (fusedUpdate(p, grad)) {
        // One pass instead of a dozen kernels (lib/native.ts); the same float32 operations in the same order.
        tf.tidy(() => {
          const c = {
            clip: clipScale,
            beta1: this.beta1,
            beta2: this.beta2,
            bc1,
            bc2,
            eps: this.eps,
            lr: plr,
          };
          const [p1, m1, v1] = nativeAdamW(p, grad, m, v, { ...c, weightDecay: wd });
          m.assign(m1);
          v.assign(v1);
          p.assign(p1);
        });
        continue;
      }
      // The scalars are tensors made once per step and shared by every parameter: `tf.mul(x, 0.9)` would
      // upload a fresh scalar per call, ≈ 8 per parameter, which on webgpu is a staging buffer and a copy each.
      const k = (value: number) => scalars.get(value);
      tf.tidy(() => {
        const gr = clipScale === 1 ? grad : tf.mul(grad, k(clipScale));
        const m1 = tf.add(tf.mul(m, k(this.beta1)), tf.mul(gr, k(1 - this.beta1)));
        const v1 = tf.add(tf.mul(v, k(this.beta2)), tf.mul(tf.square(gr), k(1 - this.beta2)));
        m.assign(m1);
        v.assign(v1);
        const denom = tf.add(tf.sqrt(tf.div(v1, k(bc2))), k(this.eps));
        const decayed = wd > 0 ? tf.mul(p, k(1 - plr * wd)) : p;
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), k(plr / bc1))));
      });
    }
  }

  /** Optimiser slots as named tensors (for checkpoints). */
  stateTensors(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [n, t] of this.m) out.set(`opt.m.${n}`, t);
    for (const [n, t] of this.v) out.set(`opt.v.${n}`, t);
    return out;
  }

  /** Restores slots and the step count from a checkpoint. */
  loadState(tensors: Map<string, { shape: number[]; data: Float32Array }>, step: number): void {
    for (const [prefix, slots] of [["opt.m.", this.m], ["opt.v.", this.v]] as const) {
      for (const [n, v] of slots) {
        const t = tensors.get(prefix + n);
        if (!t) throw new Error(`checkpoint lacks optimiser slot ${prefix + n}`);
        v.assign(tf.tensor(t.data, t.shape));
      }
    }
    this.step = step;
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}

/** SGD with momentum (PyTorch semantics: buf = μ·buf + g + wd·p; p −= lr·buf), optionally LARS-scaled. */
export class SgdMomentum {
  step = 0;
  readonly buf = new Map<string, tf.Variable>();
  constructor(
    readonly params: Params,
    readonly opts: { momentum: number; weightDecay: number; lars?: boolean; trustCoefficient?: number },
  ) {
    for (const [name, p] of params) this.buf.set(name, tf.variable(tf.zerosLike(p), false));
  }

  // deno-lint-ignore require-await
  async apply(grads: Map<string, tf.Tensor>, lr: number): Promise<void> {
    this.step++;
    for (const [name, p] of this.params) {
      const g0 = grads.get(name);
      if (!g0) continue;
      tf.tidy(() => {
        const decay = hasWeightDecay(name, p.shape) ? this.opts.weightDecay : 0;
        let g = decay > 0 ? tf.add(g0, tf.mul(p, decay)) : g0;
        if (this.opts.lars && p.shape.length > 1) {
          // LARS (as MAE's linear probe): scale by trust ratio ‖p‖ / ‖g‖ for weight matrices.
          // Trust ratio computed on the device (no synchronous read-back).
          const pn = tf.norm(p);
          const gn = tf.norm(g);
          const ok = tf.logicalAnd(tf.greater(pn, 0), tf.greater(gn, 0));
          const q = tf.where(
            ok,
            tf.div(tf.mul(pn, this.opts.trustCoefficient ?? 0.001), tf.maximum(gn, 1e-30)),
            1,
          );
          g = tf.mul(g, q);
        }
        const b = this.buf.get(name)!;
        const nb = this.step === 1 ? g : tf.add(tf.mul(b, this.opts.momentum), g);
        b.assign(nb);
        p.assign(tf.sub(p, tf.mul(nb, lr)));
      });
    }
  }

  dispose(): void {
    for (const t of this.buf.values()) t.dispose();
  }
}
