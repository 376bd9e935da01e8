/**
 * Hard Patches Mining (HPM, Wang et al., CVPR 2023) as a pre-training extension: a loss-predictor decoder
 * (the pixel decoder's shape, one output per patch, sharing the decoder embedding, mask token and positions)
 * learns to rank patches by their reconstruction loss with HPM's relative loss; an EMA teacher of the student
 * (encoder + decoder embedding + loss predictor) predicts the losses of every patch of the unmasked image, and
 * `HpmMasking` masks a growing share of the hardest ones.
 *
 * Small-scale simplifications (documented in reports): the EMA teacher runs only the parts the mask needs (not
 * its pixel decoder); the EMA decay goes 0.999 → 0.9999 linearly over the first half of training (HPM: the
 * first 100 of 200 epochs).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { embedImages } from "./encode.ts";
import { decoderStack, initDecoderStack, type MaeConfig, posTables } from "./mae.ts";
import { HpmMasking } from "./masking/hpm.ts";
import type { MaskStrategy } from "./masking/types.ts";
import { detach, layerNorm, linear, microBatchSize } from "./ops.ts";
import type { Rng } from "./rng.ts";
import type { ExtensionLossArgs, PretrainExtension } from "./train/extension.ts";
import { blockForward, encoderBlocks, gridOf, param, type Params } from "./vit.ts";

/** Names of the student parameters the EMA teacher mirrors. */
function teacherNames(params: Params): string[] {
  return [...params.keys()].filter((n) =>
    !(n.startsWith("decoder_blocks.") || n.startsWith("decoder_norm.") || n.startsWith("decoder_pred.") ||
      n.startsWith("mam_"))
  );
}

/** HPM's relative loss in tfjs: predicted `[B, N]`, true losses `[B, N]` (no gradient through them). */
export function relativeLossTf(pred: tf.Tensor2D, truth: tf.Tensor2D, eps = 1e-6): tf.Scalar {
  const d = tf.sub(tf.expandDims(pred, 1), tf.expandDims(pred, 2)); // d[b, i, j] = p_j − p_i
  const t = tf.sub(tf.expandDims(truth, 1), tf.expandDims(truth, 2)); // t_j − t_i
  // Step (not Greater/Less): it has a (zero) gradient, so it may sit on a differentiated path.
  const up = tf.step(t); // [t_j > t_i]
  const down = tf.step(tf.neg(t)); // [t_j < t_i]
  const s = tf.sigmoid(d);
  const terms = tf.add(
    tf.mul(up, tf.neg(tf.log(tf.add(s, eps)))),
    tf.mul(down, tf.neg(tf.log(tf.add(tf.sub(1, s), eps)))),
  );
  const pairs = tf.sum(tf.add(up, down));
  return tf.div(tf.sum(terms), tf.maximum(pairs, 1)) as tf.Scalar;
}

/** The HPM extension; `strategy()` gives the matching mask strategy driven by its EMA teacher. */
export class HardPatchesMining implements PretrainExtension {
  readonly name = "hpm";
  readonly teacher = new Map<string, tf.Variable>();
  #cfg: MaeConfig | null = null;
  constructor(
    readonly options: { maskRatio?: number; emaStart?: number; emaEnd?: number; emaUntil?: number } = {},
  ) {}

  initParams(params: Params, cfg: MaeConfig, rng: Rng): void {
    this.#cfg = cfg;
    initDecoderStack(params, cfg, "hpm_decoder", 1, rng);
    for (const n of teacherNames(params)) {
      this.teacher.set(`hpm_teacher.${n}`, tf.variable(params.get(n)!.clone(), false));
    }
  }

  loss(args: ExtensionLossArgs): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
    const { params, cfg, mb, decoderIn, pixelPred } = args;
    if (!pixelPred) throw new Error("HPM needs the pixel predictions");
    const pred = decoderStack(params, cfg, "hpm_decoder", decoderIn, mb, "masked"); // [B·Lm, 1]
    // True per-patch losses of this step, without gradient (HPM detaches them).
    const truth = detach(tf.mean(tf.squaredDifference(pixelPred, mb.target), 1)); // [B·Lm]
    const lossPred = relativeLossTf(
      tf.reshape(pred, [mb.batch, mb.numMasked]) as tf.Tensor2D,
      tf.reshape(truth, [mb.batch, mb.numMasked]) as tf.Tensor2D,
    );
    return { loss: lossPred, metrics: { hpmLoss: lossPred } };
  }

  /** EMA update of the teacher: decay from `emaStart` to `emaEnd` over the first `emaUntil` of training. */
  afterStep(params: Params, progress: number): void {
    const until = this.options.emaUntil ?? 0.5;
    const a = this.options.emaStart ?? 0.999;
    const b = this.options.emaEnd ?? 0.9999;
    const m = progress >= until ? b : a + (b - a) * (progress / until);
    tf.tidy(() => {
      for (const [tn, tv] of this.teacher) {
        const s = params.get(tn.slice("hpm_teacher.".length))!;
        tv.assign(tf.add(tf.mul(tv, m), tf.mul(s, 1 - m)));
      }
    });
  }

  state(): Map<string, tf.Variable> {
    return this.teacher;
  }

  /** The teacher's predicted loss of every patch of unmasked images `[B, L]`. */
  predictLosses(images: Float32Array, batch: number): Promise<Float32Array> {
    const tp: Params = new Map([...this.teacher].map(([n, v]) => [n.slice("hpm_teacher.".length), v]));
    return predictPatchLosses(tp, this.#cfg!, images, batch);
  }

  /** HPM's masking driven by this extension's teacher. */
  strategy(maskRatio = this.options.maskRatio ?? 0.75): MaskStrategy {
    return new HpmMasking({
      maskRatio,
      lossPredictionProvider: (ctx) => this.predictLosses(ctx.imageData!, ctx.batchSize),
    });
  }

  describe(): Record<string, unknown> {
    return {
      name: this.name,
      lossPredictor: "relative",
      ema: [this.options.emaStart ?? 0.999, this.options.emaEnd ?? 0.9999],
      emaUntil: this.options.emaUntil ?? 0.5,
      teacherRuns: "encoder + loss predictor",
    };
  }
}

/**
 * HPM's loss predictor on whole images: every patch visible, the encoder and the `hpm_decoder` stack of
 * `params` (an EMA teacher's, or a finished run's own) → predicted reconstruction loss per patch `[B, L]`.
 */
export async function predictPatchLosses(
  params: Params,
  cfg: MaeConfig,
  images: Float32Array,
  batch: number,
): Promise<Float32Array> {
  const L = gridOf(cfg).count;
  const chunk = microBatchSize(batch);
  const px = images.length / batch;
  const out = new Float32Array(batch * L);
  const pos = posTables(cfg).decoder; // [1 + L, Dd], CLS row first
  for (let s = 0; s < batch; s += chunk) {
    const n = Math.min(batch, s + chunk) - s;
    const t = tf.tidy(() => {
      const latent =
        encoderBlocks(params, cfg, embedImages(params, cfg, images.subarray(s * px, (s + n) * px), n), n).x;
      const posAll = new Float32Array(n * pos.length);
      for (let b = 0; b < n; b++) posAll.set(pos, b * pos.length);
      let x = tf.add(
        linear(latent, param(params, "decoder_embed.weight"), param(params, "decoder_embed.bias")),
        tf.tensor2d(posAll, [n * (1 + L), cfg.decoderDim]),
      ) as tf.Tensor2D;
      for (let i = 0; i < cfg.decoderDepth; i++) {
        x = blockForward(params, `hpm_decoder_blocks.${i}`, x, n, cfg.decoderHeads).x;
      }
      x = layerNorm(x, param(params, "hpm_decoder_norm.weight"), param(params, "hpm_decoder_norm.bias"));
      const p = linear(x, param(params, "hpm_decoder_pred.weight"), param(params, "hpm_decoder_pred.bias")); // [n·(1+L), 1]
      return tf.reshape(tf.slice(tf.reshape(p, [n, 1 + L]), [0, 1], [-1, L]), [n * L]);
    });
    out.set((await t.data()) as Float32Array, s * L);
    t.dispose();
  }
  return out;
}
