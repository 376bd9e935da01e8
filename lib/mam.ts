/**
 * Masked Attention Modeling (MAM, the paper's Eq. 7–8): a second decoder, shaped like the pixel decoder and
 * sharing its embedding, mask token and positions, predicts one scalar per patch; the target is the teacher's
 * GPA map z-normalised per image; total loss = L_RGB + λ·L_GPA.
 *
 * Options name the authors' code's choices: `lossOn: "all"` (MSE over all patches; the paper: masked only) and
 * `activeFrom: 0.75` (the attention decoder runs only once progress t > 0.75; before that the prediction of a
 * patch is the channel mean of its decoder-input token, with no parameters of its own, as their code does).
 * The paper's default `activeFrom: 0` runs the attention decoder from the first step.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { decoderStack, initDecoderStack, type MaeConfig } from "./mae.ts";
import type { ExtensionLossArgs, PretrainExtension } from "./train/extension.ts";
import type { Params } from "./vit.ts";
import type { Rng } from "./rng.ts";
import { zNormalize } from "./gpa_math.ts";

/** MAM options. */
export interface MamOptions {
  /** Loss weight λ (paper: 1). */
  weight?: number;
  /** Patches the loss covers: masked (paper Eq. 7) or all (authors' code). */
  lossOn?: "masked" | "all";
  /**
   * Training progress after which the attention decoder runs (authors' code: 0.75, switched when t > 0.75;
   * before that the prediction is the channel mean of the decoder input). Default 0: always (the paper).
   */
  activeFrom?: number;
  /** Decoder depth (default: the pixel decoder's). */
  depth?: number;
}

/** The MAM extension of MAE pre-training. Needs a mask strategy that returns `scores` (GPA maps). */
export class MaskedAttentionModeling implements PretrainExtension {
  readonly name = "mam";
  readonly weight: number;
  readonly lossOn: "masked" | "all";
  readonly activeFrom: number;
  constructor(readonly options: MamOptions = {}) {
    this.weight = options.weight ?? 1;
    this.lossOn = options.lossOn ?? "masked";
    this.activeFrom = options.activeFrom ?? 0;
    if (!(this.weight >= 0)) throw new RangeError(`MAM weight must be ≥ 0, got ${this.weight}`);
    if (!(this.activeFrom >= 0 && this.activeFrom <= 1)) throw new RangeError(`activeFrom must be in [0, 1]`);
  }

  /** Whether the attention decoder predicts at progress t: always with `activeFrom` 0, else when t > it. */
  isActive(progress: number): boolean {
    return this.activeFrom === 0 || progress > this.activeFrom;
  }

  initParams(params: Params, cfg: MaeConfig, rng: Rng): void {
    // Same shape as the pixel decoder, one output per patch; started from the pixel decoder's initial weights.
    const depth = this.options.depth ?? cfg.decoderDepth;
    initDecoderStack(params, { ...cfg, decoderDepth: depth }, "mam_decoder", 1, rng);
    for (const [name, v] of params) {
      if (!name.startsWith("mam_decoder_blocks.") && !name.startsWith("mam_decoder_norm.")) continue;
      const src = params.get(name.replace(/^mam_decoder/, "decoder"));
      if (src) v.assign(src);
    }
  }

  /** Targets `[B·N, 1]` in the decoder's token order for the patches the loss covers. */
  targets(args: ExtensionLossArgs): tf.Tensor2D {
    const { mb, mask } = args;
    if (!mask.scores) {
      throw new Error("MAM needs a mask strategy that provides GPA scores (use --strategy gpa)");
    }
    // Target: GPA z-normalised per image with the unbiased variance, as the authors' MAM loss (torch.var).
    const z = zNormalize(mask.scores, mb.batch, mb.numPatches);
    const L = mb.numPatches;
    const ids: Int32Array[] = this.lossOn === "masked" ? [mb.maskedIds] : [mb.keptIds, mb.maskedIds];
    const perSample = ids.reduce((s, a) => s + a.length / mb.batch, 0);
    const out = new Float32Array(mb.batch * perSample);
    let o = 0;
    for (let b = 0; b < mb.batch; b++) {
      for (const a of ids) {
        const n = a.length / mb.batch;
        for (let j = 0; j < n; j++) out[o++] = z[b * L + a[b * n + j]];
      }
    }
    return tf.tensor2d(out, [mb.batch * perSample, 1]);
  }

  loss(args: ExtensionLossArgs): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
    const { params, cfg, mb, decoderIn, progress } = args;
    const predictOn = this.lossOn === "masked" ? "masked" : "all";
    let pred: tf.Tensor2D;
    if (this.isActive(progress)) {
      pred = decoderStack(
        params,
        { ...cfg, decoderDepth: this.options.depth ?? cfg.decoderDepth },
        "mam_decoder",
        decoderIn,
        mb,
        predictOn,
      );
    } else {
      // The authors' code before the switch: the channel mean of each patch's decoder-input token.
      const Dd = cfg.decoderDim;
      const start = predictOn === "masked" ? 1 + mb.numKept : 1;
      const n = 1 + mb.numPatches - start;
      const sel = tf.slice(tf.reshape(decoderIn, [mb.batch, 1 + mb.numPatches, Dd]), [0, start, 0], [
        -1,
        n,
        -1,
      ]);
      pred = tf.reshape(tf.mean(sel, 2), [mb.batch * n, 1]) as tf.Tensor2D;
    }
    const target = this.targets(args);
    const gpaLoss = tf.mean(tf.squaredDifference(pred, target)) as tf.Scalar;
    return { loss: tf.mul(gpaLoss, this.weight) as tf.Scalar, metrics: { gpaLoss } };
  }

  describe(): Record<string, unknown> {
    return {
      name: this.name,
      weight: this.weight,
      lossOn: this.lossOn,
      activeFrom: this.activeFrom,
      depth: this.options.depth ?? "decoder",
    };
  }
}
