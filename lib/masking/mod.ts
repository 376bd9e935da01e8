/**
 * Registry of mask strategies: `createMaskStrategy(name, options)` builds one by its registry name.
 *
 * Strategies that need a model (CLS attention, HPM, GPA) take their provider function in `options`.
 * @module
 */
import { BlockMasking, type BlockMaskingOptions } from "./block.ts";
import { ClsAttentionMasking, type ClsAttentionMaskingOptions } from "./cls_attention.ts";
import { GpaMasking, type GpaMaskingOptions } from "./gpa.ts";
import { HpmMasking, type HpmMaskingOptions } from "./hpm.ts";
import { RandomMasking } from "./random.ts";
import type { MaskStrategy } from "./types.ts";
import { UniformMasking, type UniformMaskingOptions } from "./uniform.ts";

/** Options of each registered strategy, by name. */
export interface MaskStrategyOptionsByName {
  random: { maskRatio?: number };
  block: BlockMaskingOptions;
  uniform: UniformMaskingOptions;
  "cls-attention": ClsAttentionMaskingOptions;
  hpm: HpmMaskingOptions;
  gpa: GpaMaskingOptions;
}

/** Registered strategy names. */
export type MaskStrategyName = keyof MaskStrategyOptionsByName;

const FACTORIES: { [N in MaskStrategyName]: (options: MaskStrategyOptionsByName[N]) => MaskStrategy } = {
  random: (o) => new RandomMasking(o.maskRatio ?? 0.75),
  block: (o) => new BlockMasking(o),
  uniform: (o) => new UniformMasking(o),
  "cls-attention": (o) => new ClsAttentionMasking(o),
  hpm: (o) => new HpmMasking(o),
  gpa: (o) => new GpaMasking(o),
};

/** The registered names, in registry order. */
export const MASK_STRATEGY_NAMES: readonly MaskStrategyName[] = Object.keys(FACTORIES) as MaskStrategyName[];

/** Whether `name` is a registered strategy name. */
export function isMaskStrategyName(name: string): name is MaskStrategyName {
  return Object.hasOwn(FACTORIES, name);
}

/**
 * Builds the strategy registered as `name`. Throws a RangeError listing the valid names for an unknown
 * one, and a TypeError when a strategy that needs a provider gets none.
 */
export function createMaskStrategy<N extends MaskStrategyName>(
  name: N,
  ...options: Partial<MaskStrategyOptionsByName[N]> extends MaskStrategyOptionsByName[N]
    ? [options?: MaskStrategyOptionsByName[N]]
    : [options: MaskStrategyOptionsByName[N]]
): MaskStrategy;
export function createMaskStrategy(name: string, options?: Record<string, unknown>): MaskStrategy;
export function createMaskStrategy(name: string, options: Record<string, unknown> = {}): MaskStrategy {
  if (!isMaskStrategyName(name)) {
    throw new RangeError(`unknown mask strategy "${name}"; valid: ${MASK_STRATEGY_NAMES.join(", ")}`);
  }
  const factory = FACTORIES[name] as (o: Record<string, unknown>) => MaskStrategy;
  return factory(options ?? {});
}
