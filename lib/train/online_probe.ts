/**
 * Online linear probe (solo-learn style): a linear classifier on the detached CLS feature of the student's
 * masked forward pass, trained alongside pre-training with its own optimiser, evaluated on the val split each
 * epoch. The feature is detached, the probe's gradients never reach the encoder and its parameters are not
 * the pre-training optimiser's, so the encoder's weights are identical with and without it (tested). It is
 * therefore not part of a run's identity.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { centerBatch } from "../data/augment.ts";
import type { ImageSplit } from "../data/types.ts";
import { featuresOf } from "../encode.ts";
import { detach, linear } from "../ops.ts";
import { AdamW } from "./optim.ts";
import type { ExtensionLossArgs, PretrainExtension } from "./extension.ts";
import { addParam, param, type Params, type VitConfig } from "../vit.ts";

/** The online probe, as a pre-training extension with its own parameters and optimiser. */
export class OnlineProbe implements PretrainExtension {
  readonly name = "online-probe";
  /** Not part of the run's identity: it cannot change the encoder. */
  readonly affectsIdentity = false;
  readonly vars: Params = new Map();
  readonly #optimizer: AdamW;
  /** The optimiser's step count as state, so a resumed run continues the probe exactly. */
  readonly #step = tf.variable(tf.scalar(0), false);

  constructor(readonly dim: number, readonly numClasses: number, readonly lr = 1e-3) {
    // Zero-initialised: deterministic without drawing from the run's random streams.
    addParam(this.vars, "online_probe.weight", [dim, numClasses]);
    addParam(this.vars, "online_probe.bias", [numClasses]);
    this.#optimizer = new AdamW(this.vars, { weightDecay: 0, beta2: 0.999 });
  }

  /** Trainable variables outside the student's parameters. */
  trainable(): Params {
    return this.vars;
  }

  loss(args: ExtensionLossArgs): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> } {
    const { latent, mb, labels } = args;
    if (!labels) throw new Error("the online probe needs the batch's labels");
    const d = latent.shape[1];
    const cls = tf.reshape(
      tf.slice(tf.reshape(latent, [mb.batch, 1 + mb.numKept, d]), [0, 0, 0], [-1, 1, -1]),
      [
        mb.batch,
        d,
      ],
    ) as tf.Tensor2D;
    const logits = linear(
      detach(cls),
      param(this.vars, "online_probe.weight"),
      param(this.vars, "online_probe.bias"),
    );
    const onehot = tf.oneHot(tf.tensor1d(labels, "int32"), this.numClasses);
    const loss = tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
    return { loss, metrics: { probeLoss: loss } };
  }

  /** Updates the probe with its own optimiser. */
  async applyGradients(grads: Map<string, tf.Tensor>): Promise<void> {
    this.#optimizer.step = (await this.#step.data())[0];
    await this.#optimizer.apply(grads, this.lr);
    this.#step.assign(tf.scalar(this.#optimizer.step));
  }

  state(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>(this.vars);
    for (const [n, t] of this.#optimizer.stateTensors()) out.set(`online_probe_state.${n}`, t as tf.Variable);
    out.set("online_probe_state.step", this.#step);
    return out;
  }

  /** Top-1 (%) of the probe on a split's un-augmented images, with the encoder's full-image CLS features. */
  async evaluate(encoder: Params, cfg: VitConfig, split: ImageSplit): Promise<number> {
    const feats = await featuresOf(
      encoder,
      cfg,
      (s, e) => centerBatch(split, Int32Array.from({ length: e - s }, (_, i) => s + i), cfg.imageSize),
      split.count,
      "cls",
    );
    const pred = tf.tidy(() =>
      tf.argMax(
        linear(
          tf.tensor2d(feats, [split.count, cfg.dim]),
          param(this.vars, "online_probe.weight"),
          param(this.vars, "online_probe.bias"),
        ),
        1,
      )
    );
    const p = await pred.data();
    pred.dispose();
    let correct = 0;
    for (let i = 0; i < split.count; i++) if (p[i] === split.labels[i]) correct++;
    return (100 * correct) / split.count;
  }

  describe(): Record<string, unknown> {
    return {
      name: this.name,
      features: "cls of the masked forward, detached",
      optimizer: "adamw",
      lr: this.lr,
    };
  }

  dispose(): void {
    this.#optimizer.dispose();
    for (const v of this.vars.values()) v.dispose();
  }
}
