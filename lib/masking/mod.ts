/**
 * Registry of mask strategies: `createMaskStrategy(name, options)` builds one by its registry name.
 *
 * Strategies that need a model (CLS attention, HPM, GPA) take their provider function in `options`.
 * @module
 */
import { BlockMasking, type BlockMaskingOptions } from "./block.ts";
import { ClsAttentionMasking, type ClsAttentionMaskingOptions } from "./cls_attention.ts";
import { GpaMasking, type GpaMaskingOptions } from "./gpa.ts";
import {
  centreMap,
  fixedMapProvider,
  type OracleBoxes,
  oracleBoxProvider,
  type ViewGeometry,
} from "./control_maps.ts";
import { HpmMasking, type HpmMaskingOptions } from "./hpm.ts";
import { RandomMasking } from "./random.ts";
import type { MaskStrategy } from "./types.ts";
import { UniformMasking, type UniformMaskingOptions } from "./uniform.ts";

/** GPA's share options (shares, schedule, rounding) that the control strategies take unchanged. */
export type ControlShareOptions = Omit<
  GpaMaskingOptions,
  "mapProvider" | "describeTeacher" | "name" | "describeMap"
>;

/** Options of the `mean-map` control: a teacher's mean GPA map `[L]` and what it was computed from. */
export interface MeanMapOptions extends ControlShareOptions {
  map: Float32Array;
  /** The teacher and images behind the mean (part of the run's identity). */
  describeMap: Record<string, unknown>;
}

/** Options of each registered strategy, by name. */
export interface MaskStrategyOptionsByName {
  random: { maskRatio?: number };
  block: BlockMaskingOptions;
  uniform: UniformMaskingOptions;
  "cls-attention": ClsAttentionMaskingOptions;
  hpm: HpmMaskingOptions;
  gpa: GpaMaskingOptions;
  centre: ControlShareOptions & ViewGeometry;
  "mean-map": MeanMapOptions;
  "oracle-box": ControlShareOptions & OracleBoxes;
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
  // The controls: GPA's soft-to-hard machinery on maps that are not a teacher's per-view GPA.
  centre: ({ imageSize, patchSize, ...o }) =>
    new GpaMasking({
      ...o,
      name: "centre",
      mapProvider: fixedMapProvider(centreMap({ imageSize, patchSize })),
      describeMap: { kind: "centre" },
    }),
  "mean-map": ({ map, describeMap, ...o }) =>
    new GpaMasking({
      ...o,
      name: "mean-map",
      mapProvider: fixedMapProvider(map),
      describeMap: { kind: "mean-map", ...describeMap },
    }),
  "oracle-box": ({ boxes, imageSize, patchSize, ...o }) =>
    new GpaMasking({
      ...o,
      name: "oracle-box",
      mapProvider: oracleBoxProvider({ boxes, imageSize, patchSize }),
      describeMap: { kind: "oracle-box" },
    }),
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
