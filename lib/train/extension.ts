/**
 * The pre-training extension interface: what an add-on to MAE's objective (MAM, HPM, the online probe)
 * provides and what its loss sees. Model files implement it without depending on the training loop.
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { MaeBatch, MaeConfig } from "../mae.ts";
import type { MaskBatch } from "../masking/types.ts";
import type { Rng } from "../rng.ts";
import type { Params } from "../vit.ts";

/** What an extension's loss sees inside the gradient tape. */
export interface ExtensionLossArgs {
  params: Params;
  cfg: MaeConfig;
  mb: MaeBatch;
  mask: MaskBatch;
  /** Encoder output `[B·(1+Lk), D]`. */
  latent: tf.Tensor2D;
  /** Shared decoder input `[B·(1+L), Dd]`. */
  decoderIn: tf.Tensor2D;
  /** Per-pixel-decoder loss of this step. */
  pixelLoss: tf.Scalar;
  /** The pixel decoder's predictions of the masked patches `[B·Lm, p·p·3]`. */
  pixelPred?: tf.Tensor2D;
  /** Class labels of the micro-batch, when the loop has them. */
  labels?: Int32Array;
  progress: number;
}

/** A pre-training add-on: extra parameters, an extra loss term, per-step state updates. */
export interface PretrainExtension {
  readonly name: string;
  /** Adds trainable parameters (e.g. a second decoder). */
  initParams?(params: Params, cfg: MaeConfig, rng: Rng): void;
  /** Extra loss terms (summed into the objective) and scalar diagnostics. */
  loss?(args: ExtensionLossArgs): { loss: tf.Scalar; metrics?: Record<string, tf.Scalar> };
  /** After the optimiser step (e.g. EMA teacher update). */
  afterStep?(params: Params, progress: number): void;
  /** Non-trainable state to checkpoint. */
  state?(): Map<string, tf.Variable>;
  /** Trainable variables of its own (not the student's; updated by `applyGradients`). */
  trainable?(): Params;
  /** Applies the gradients of its own variables. */
  applyGradients?(grads: Map<string, tf.Tensor>): Promise<void>;
  /** False for observers that cannot change the student (not part of the run's identity). */
  readonly affectsIdentity?: boolean;
  /** Identity and metadata. */
  describe(): Record<string, unknown>;
}
