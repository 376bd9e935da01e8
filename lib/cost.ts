/**
 * Analytic compute and parameter model of MAE, GPA, GPA + MAM and HPM pre-training (paper Table 9).
 *
 * Counting rules (all numbers are per image):
 * - A multiply-add is 2 FLOPs. Counted: every matmul (patch embedding, qkv, attention output projection,
 *   MLP, decoder embedding, prediction heads) and the two attention products q·kᵀ and attn·v.
 *   A transformer block of width d and MLP ratio r on n tokens costs `(8 + 4r)·n·d² + 4·n²·d`
 *   (qkv 6nd², proj 2nd², MLP 4r·nd², q·kᵀ 2n²d, attn·v 2n²d); the head count cancels out.
 * - Ignored: bias adds, LayerNorm, softmax, GELU, the 1/√d scale, residual and positional-embedding adds,
 *   the losses, gathers/scatters of the masking, the optimizer and HPM's EMA update (≈ 3 FLOPs per
 *   parameter per step). At ViT-B these elementwise ops are well under 1 % of a block's matmul FLOPs.
 * - Backward of a trained part ≈ 2× its forward (input and weight gradients), so a trained part costs
 *   3× its forward per step. A frozen or EMA teacher runs forward only and gets no gradients.
 * - Following the MAE code, the patch embedding runs on all L patches before the masked ones are
 *   dropped; the encoder blocks see the kept patches + CLS; the decoder embedding runs on the encoder
 *   output (kept + CLS); decoder blocks and the prediction head run on all L patches + CLS.
 *
 * Methods:
 * - `mae`: student encoder (kept patches) + pixel decoder, trained.
 * - `gpa`: MAE step + a frozen ViT teacher (the MAE-pretrained encoder) on ALL patches, blocks 0…b−1 in
 *   full and, in block b, only LayerNorm + qkv + the pre-softmax scores q·kᵀ (as the authors'
 *   `models_vit_teacher.py`, which returns the scores of block b and stops). Default b = 9 (0-based).
 * - `gpa-mam`: GPA + an attention decoder: a copy of the pixel decoder's blocks, norm and head
 *   (Dd → p²·3, averaged to one scalar per patch in the authors' code), sharing the decoder embedding,
 *   mask token and positional embedding. The authors' code runs it only after 75 % of training; the
 *   option `mamActiveFraction` averages that in (default 1 = the steps where it runs).
 * - `hpm` (Wang et al., "Hard Patches Mining for Masked Image Modeling", CVPR 2023, and its public code):
 *   the student adds a loss predictor with the same shape as the pixel decoder (8 blocks + norm + a
 *   Dd → p²·3 head averaged to a scalar) that shares the decoder embedding and mask token; an EMA copy of
 *   the whole student runs forward on the full, unmasked image to predict the per-patch losses that
 *   choose the mask. The official `forward_decoder` runs both decoder stacks, so by default the EMA
 *   teacher pays for encoder(L) + decoder embedding + pixel decoder + loss predictor;
 *   `hpmTeacherDecoders: "loss-predictor"` counts only what the mask needs.
 *
 * Learnable parameters: fixed sin-cos positional embeddings (encoder and decoder) are not learnable;
 * neither are a frozen teacher's weights (GPA) nor an EMA teacher's weights (HPM: updated by EMA, not by
 * gradients). They are reported separately.
 * @module
 */
import { maskedCount } from "./masking/types.ts";
import { encoderConfig, type VitConfig } from "./vit.ts";
import { type MaeDecoderShape, VIT_B16_MAE } from "./mae.ts";

/**
 * Architecture of an MAE-style ViT autoencoder (encoder + lightweight decoder) at a mask ratio: the model's
 * own shape (`lib/vit.ts`, `lib/mae.ts`; heads must divide the widths and do not change the FLOPs).
 */
export interface MaeCostConfig extends VitConfig, MaeDecoderShape {
  /** Fraction of patches removed from the encoder, in (0, 1). */
  maskRatio: number;
}

/** Image channels (RGB). */
export const CHANNELS = 3;

/** MAE ViT-B/16 at 224 px: D 768 × 12 blocks × 12 heads, decoder 512 × 8 blocks × 16 heads, mask 0.75. */
export const VIT_B16_MAE_CONFIG: Readonly<MaeCostConfig> = Object.freeze({ ...VIT_B16_MAE, maskRatio: 0.75 });

/** Methods the cost model knows. */
export type CostMethod = "mae" | "gpa" | "gpa-mam" | "hpm";

/** All methods, in table order. */
export const COST_METHODS: readonly CostMethod[] = ["mae", "gpa", "gpa-mam", "hpm"];

/** Method-specific knobs of the cost model. */
export interface CostOptions {
  /** GPA teacher block (0-based) whose pre-softmax scores are read; blocks 0…b−1 run in full. Default 9. */
  teacherBlock?: number;
  /** GPA + MAM: fraction of steps on which the attention decoder runs (authors' code: 0.25). Default 1. */
  mamActiveFraction?: number;
  /** Outputs per patch of the extra decoders' heads (GPA-MAM, HPM); default p²·3 as both codes do. */
  auxHeadOutputs?: number;
  /** Which decoder stacks HPM's EMA teacher runs: "both" (official code, default) or "loss-predictor". */
  hpmTeacherDecoders?: "both" | "loss-predictor";
}

/** Throws a RangeError unless the config describes a valid model. */
export function validateCostConfig(config: MaeCostConfig): void {
  const positive: (keyof MaeCostConfig)[] = [
    "imageSize",
    "patchSize",
    "dim",
    "depth",
    "heads",
    "mlpRatio",
    "decoderDim",
    "decoderDepth",
    "decoderHeads",
  ];
  for (const key of positive) {
    const v = config[key];
    if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${key} must be a positive number, got ${v}`);
  }
  if (config.imageSize % config.patchSize !== 0) {
    throw new RangeError(`imageSize ${config.imageSize} is not a multiple of patchSize ${config.patchSize}`);
  }
  if (config.dim % config.heads !== 0) throw new RangeError(`dim ${config.dim} not divisible by heads`);
  if (config.decoderDim % config.decoderHeads !== 0) {
    throw new RangeError(`decoderDim ${config.decoderDim} not divisible`);
  }
  maskedCount(4, config.maskRatio); // validates the ratio
}

/** L, the number of patches per image. */
export function numPatches(config: MaeCostConfig): number {
  const side = config.imageSize / config.patchSize;
  return side * side;
}

/** Patches the MAE encoder keeps (L − masked count, as MAE's `int(L·(1 − ratio))`). */
export function keptPatches(config: MaeCostConfig): number {
  const L = numPatches(config);
  return L - maskedCount(L, config.maskRatio);
}

/** Values per patch: p·p·3. */
export function patchValues(config: MaeCostConfig): number {
  return config.patchSize * config.patchSize * CHANNELS;
}

/** FLOPs of a dense layer `in → out` applied to `tokens` tokens (bias ignored). */
export function linearFlops(tokens: number, inFeatures: number, outFeatures: number): number {
  return 2 * tokens * inFeatures * outFeatures;
}

/** FLOPs of one pre-norm transformer block of width `width` on `tokens` tokens. */
export function blockForwardFlops(tokens: number, width: number, mlpRatio: number): number {
  const hidden = Math.round(width * mlpRatio);
  const qkv = linearFlops(tokens, width, 3 * width);
  const scores = 2 * tokens * tokens * width; // q·kᵀ summed over heads
  const mix = 2 * tokens * tokens * width; // attn·v summed over heads
  const proj = linearFlops(tokens, width, width);
  const mlp = linearFlops(tokens, width, hidden) + linearFlops(tokens, hidden, width);
  return qkv + scores + mix + proj + mlp;
}

/** FLOPs of the first half of a block that yields the pre-softmax scores: qkv + q·kᵀ. */
export function attentionScoresFlops(tokens: number, width: number): number {
  return linearFlops(tokens, width, 3 * width) + 2 * tokens * tokens * width;
}

/** FLOPs of the patch embedding on `patches` patches. */
export function patchEmbedFlops(config: MaeCostConfig, patches = numPatches(config)): number {
  return linearFlops(patches, patchValues(config), config.dim);
}

/**
 * Encoder forward FLOPs with `patches` patch tokens (+ CLS) through all blocks. The patch embedding runs
 * on `embeddedPatches` patches (MAE embeds all L before dropping the masked ones; default L).
 */
export function encoderForwardFlops(
  config: MaeCostConfig,
  patches: number,
  options: { embeddedPatches?: number } = {},
): number {
  validateCostConfig(config);
  const embedded = options.embeddedPatches ?? numPatches(config);
  return patchEmbedFlops(config, embedded) +
    config.depth * blockForwardFlops(patches + 1, config.dim, config.mlpRatio);
}

/**
 * Frozen-teacher forward FLOPs on all L patches (+ CLS) up to and including block `block` (0-based):
 * blocks 0…block−1 in full, then block `block` in full or (default) only up to its pre-softmax scores.
 */
export function teacherForwardFlops(
  config: MaeCostConfig,
  options: { block?: number; scoresOnly?: boolean } = {},
): number {
  validateCostConfig(config);
  const block = options.block ?? 9;
  if (!Number.isInteger(block) || block < 0 || block >= config.depth) {
    throw new RangeError(`teacher block must be an integer in [0, ${config.depth - 1}], got ${block}`);
  }
  const tokens = numPatches(config) + 1;
  const last = (options.scoresOnly ?? true)
    ? attentionScoresFlops(tokens, config.dim)
    : blockForwardFlops(tokens, config.dim, config.mlpRatio);
  return patchEmbedFlops(config) + block * blockForwardFlops(tokens, config.dim, config.mlpRatio) + last;
}

/**
 * FLOPs of one decoder stack (blocks + head) over all L patches + CLS, without the decoder embedding:
 * the pixel decoder (head → p²·3) or an auxiliary copy with `headOutputs` outputs per token.
 */
export function decoderStackFlops(config: MaeCostConfig, headOutputs = patchValues(config)): number {
  validateCostConfig(config);
  const tokens = numPatches(config) + 1;
  return config.decoderDepth * blockForwardFlops(tokens, config.decoderDim, config.mlpRatio) +
    linearFlops(tokens, config.decoderDim, headOutputs);
}

/** FLOPs of the decoder embedding D → Dd applied to `encoderTokens` tokens (default: kept + CLS). */
export function decoderEmbedFlops(config: MaeCostConfig, encoderTokens = keptPatches(config) + 1): number {
  return linearFlops(encoderTokens, config.dim, config.decoderDim);
}

/** MAE pixel-decoder forward FLOPs: embedding of the encoder output (kept + CLS) + blocks + pixel head. */
export function decoderForwardFlops(config: MaeCostConfig): number {
  return decoderEmbedFlops(config) + decoderStackFlops(config);
}

/** MAE forward FLOPs per image: student encoder on the kept patches + pixel decoder. */
export function maeForwardFlops(config: MaeCostConfig): number {
  return encoderForwardFlops(config, keptPatches(config)) + decoderForwardFlops(config);
}

/** FLOPs of one training step per image, split by role. */
export interface StepFlops {
  /** Forward FLOPs of the trained (student) parts. */
  studentForward: number;
  /** Backward FLOPs of the trained parts (2 × forward). */
  studentBackward: number;
  /** Forward FLOPs of a frozen/EMA teacher (no backward). */
  teacherForward: number;
  /** Sum of the above. */
  total: number;
}

function step(studentForward: number, teacherForward: number): StepFlops {
  const studentBackward = 2 * studentForward;
  return {
    studentForward,
    studentBackward,
    teacherForward,
    total: studentForward + studentBackward + teacherForward,
  };
}

/** FLOPs per image of one pre-training step of `method` (see the module doc for what each includes). */
export function trainingStepFlops(
  method: CostMethod,
  config: MaeCostConfig,
  options: CostOptions = {},
): StepFlops {
  validateCostConfig(config);
  const mae = maeForwardFlops(config);
  const auxOutputs = options.auxHeadOutputs ?? patchValues(config);
  switch (method) {
    case "mae":
      return step(mae, 0);
    case "gpa":
      return step(mae, teacherForwardFlops(config, { block: options.teacherBlock }));
    case "gpa-mam": {
      const active = options.mamActiveFraction ?? 1;
      if (!(active >= 0 && active <= 1)) {
        throw new RangeError(`mamActiveFraction must be in [0, 1], got ${active}`);
      }
      return step(
        mae + active * decoderStackFlops(config, auxOutputs),
        teacherForwardFlops(config, { block: options.teacherBlock }),
      );
    }
    case "hpm": {
      const L = numPatches(config);
      const student = mae + decoderStackFlops(config, auxOutputs);
      const teacherDecoders = (options.hpmTeacherDecoders ?? "both") === "both"
        ? decoderStackFlops(config) + decoderStackFlops(config, auxOutputs)
        : decoderStackFlops(config, auxOutputs);
      const teacher = encoderForwardFlops(config, L) + decoderEmbedFlops(config, L + 1) + teacherDecoders;
      return step(student, teacher);
    }
    default:
      throw new RangeError(`unknown cost method "${method}"; valid: ${COST_METHODS.join(", ")}`);
  }
}

/** Parameter counts of one method. */
export interface ParamCounts {
  /** Parameters updated by the optimizer. */
  learnable: number;
  /** Fixed sin-cos positional embeddings (encoder + decoder), not learnable. */
  fixedPositional: number;
  /** Teacher parameters (frozen for GPA, EMA for HPM): not learnable. */
  teacher: number;
}

/** Parameters of one pre-norm block of width `width`: 2 LayerNorms, qkv and proj (with bias), MLP. */
export function blockParams(width: number, mlpRatio: number): number {
  const hidden = Math.round(width * mlpRatio);
  const norms = 2 * 2 * width;
  const attention = (width * 3 * width + 3 * width) + (width * width + width);
  const mlp = (width * hidden + hidden) + (hidden * width + width);
  return norms + attention + mlp;
}

/** Learnable encoder parameters: patch embedding, CLS token, blocks, final norm (positional embedding fixed). */
export function encoderParams(config: MaeCostConfig): number {
  validateCostConfig(config);
  const embed = patchValues(config) * config.dim + config.dim;
  return embed + config.dim + config.depth * blockParams(config.dim, config.mlpRatio) + 2 * config.dim;
}

/** Learnable parameters of one decoder stack: blocks, norm and a head with `headOutputs` outputs. */
export function decoderStackParams(config: MaeCostConfig, headOutputs = patchValues(config)): number {
  return config.decoderDepth * blockParams(config.decoderDim, config.mlpRatio) + 2 * config.decoderDim +
    config.decoderDim * headOutputs + headOutputs;
}

/** Learnable MAE decoder parameters: embedding D → Dd, mask token, pixel decoder stack. */
export function decoderParams(config: MaeCostConfig): number {
  validateCostConfig(config);
  return config.dim * config.decoderDim + config.decoderDim + config.decoderDim + decoderStackParams(config);
}

/** Parameters of the teacher encoder up to block `block` (GPA's frozen teacher; its unused tail excluded). */
function teacherEncoderParams(config: MaeCostConfig, block: number): number {
  const L = numPatches(config);
  const embed = patchValues(config) * config.dim + config.dim;
  // The teacher's blocks 0…b are used (block b only to its qkv, but the block's weights are loaded anyway).
  return embed + config.dim + (block + 1) * blockParams(config.dim, config.mlpRatio) + (L + 1) * config.dim;
}

/** Parameter counts of `method`. */
export function methodParams(
  method: CostMethod,
  config: MaeCostConfig,
  options: CostOptions = {},
): ParamCounts {
  validateCostConfig(config);
  const L = numPatches(config);
  const fixedPositional = (L + 1) * (config.dim + config.decoderDim);
  const mae = encoderParams(config) + decoderParams(config);
  const aux = decoderStackParams(config, options.auxHeadOutputs ?? patchValues(config));
  const block = options.teacherBlock ?? 9;
  switch (method) {
    case "mae":
      return { learnable: mae, fixedPositional, teacher: 0 };
    case "gpa":
      return { learnable: mae, fixedPositional, teacher: teacherEncoderParams(config, block) };
    case "gpa-mam":
      return { learnable: mae + aux, fixedPositional, teacher: teacherEncoderParams(config, block) };
    case "hpm":
      // The EMA teacher is a full copy of the student (incl. its fixed positional embeddings).
      return { learnable: mae + aux, fixedPositional, teacher: mae + aux + fixedPositional };
    default:
      throw new RangeError(`unknown cost method "${method}"; valid: ${COST_METHODS.join(", ")}`);
  }
}

/** Table 9 of the GPA paper: FLOPs and learnable-parameter ratios to MAE (ViT-B/16). */
export const PAPER_TABLE9_RATIOS: Readonly<Record<"mae" | "gpa" | "hpm", { flops: number; params: number }>> =
  Object
    .freeze({
      mae: { flops: 1.0, params: 1.0 },
      gpa: { flops: 1.1, params: 1.0 },
      hpm: { flops: 1.3, params: 1.2 },
    });

/** One row of `costTable`. */
export interface CostRow {
  method: CostMethod;
  /** FLOPs per image per training step. */
  stepFlops: StepFlops;
  params: ParamCounts;
  /** stepFlops.total / MAE's. */
  flopsRatio: number;
  /** Student-forward FLOPs / MAE's forward (what a profiler of the trained model alone would see). */
  studentForwardRatio: number;
  /** params.learnable / MAE's. */
  paramsRatio: number;
  /** The paper's Table 9 ratios, where it lists the method (GPA's row is compared to both GPA variants). */
  paper?: { flops: number; params: number };
}

/** Per-method FLOPs per image per step, learnable parameters and ratios to MAE, with the paper's claims. */
export function costTable(config: MaeCostConfig = VIT_B16_MAE_CONFIG, options: CostOptions = {}): CostRow[] {
  const base = trainingStepFlops("mae", config, options);
  const baseParams = methodParams("mae", config, options);
  return COST_METHODS.map((method) => {
    const stepFlops = trainingStepFlops(method, config, options);
    const params = methodParams(method, config, options);
    const paperKey = method === "gpa-mam" ? "gpa" : method;
    return {
      method,
      stepFlops,
      params,
      flopsRatio: stepFlops.total / base.total,
      studentForwardRatio: stepFlops.studentForward / base.studentForward,
      paramsRatio: params.learnable / baseParams.learnable,
      paper: PAPER_TABLE9_RATIOS[paperKey as keyof typeof PAPER_TABLE9_RATIOS],
    };
  });
}

/** The table as aligned text (GFLOPs per image per step, M learnable parameters, ratios). */
export function formatCostTable(rows: CostRow[]): string {
  const lines = [
    "method   | step GFLOPs | student fwd | teacher fwd | learn. params | FLOPs × | stud. fwd × | params × | paper",
  ];
  for (const r of rows) {
    const paper = r.paper ? `${r.paper.flops.toFixed(1)}× / ${r.paper.params.toFixed(1)}×` : "-";
    lines.push(
      [
        r.method.padEnd(8),
        (r.stepFlops.total / 1e9).toFixed(2).padStart(11),
        (r.stepFlops.studentForward / 1e9).toFixed(2).padStart(11),
        (r.stepFlops.teacherForward / 1e9).toFixed(2).padStart(11),
        `${(r.params.learnable / 1e6).toFixed(2)}M`.padStart(13),
        r.flopsRatio.toFixed(3).padStart(7),
        r.studentForwardRatio.toFixed(3).padStart(11),
        r.paramsRatio.toFixed(3).padStart(8),
        paper,
      ].join(" | "),
    );
  }
  return lines.join("\n");
}

/** The cost-model config of an MAE model config (`lib/mae.ts`'s field names) at a mask ratio. */
export function maeCostConfig(
  m: VitConfig & MaeDecoderShape,
  maskRatio: number,
): MaeCostConfig {
  return {
    ...encoderConfig(m),
    decoderDim: m.decoderDim,
    decoderDepth: m.decoderDepth,
    decoderHeads: m.decoderHeads,
    maskRatio,
  };
}
