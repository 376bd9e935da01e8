/**
 * Colour maps for attention maps and heatmaps. `viridis` interpolates linearly between nine anchor colours
 * sampled from matplotlib's viridis (perceptually ordered dark purple → yellow); `gray` is a linear ramp.
 * @module
 */

/** Names of the available colour maps. */
export type ColormapName = "viridis" | "gray";

const VIRIDIS_ANCHORS: ReadonlyArray<readonly [number, number, number]> = [
  [0x44, 0x01, 0x54],
  [0x47, 0x2d, 0x7b],
  [0x3b, 0x52, 0x8b],
  [0x2c, 0x72, 0x8e],
  [0x21, 0x91, 0x8c],
  [0x28, 0xae, 0x80],
  [0x5e, 0xc9, 0x62],
  [0xad, 0xdc, 0x30],
  [0xfd, 0xe7, 0x25],
];

/** Colour of `t` in [0, 1] (clamped; NaN → mid grey) under the named colour map, as [r, g, b] bytes. */
export function colormap(t: number, name: ColormapName = "viridis"): [number, number, number] {
  if (Number.isNaN(t)) return [128, 128, 128];
  const x = Math.min(1, Math.max(0, t));
  if (name === "gray") {
    const v = Math.round(x * 255);
    return [v, v, v];
  }
  const position = x * (VIRIDIS_ANCHORS.length - 1);
  const i = Math.min(VIRIDIS_ANCHORS.length - 2, Math.floor(position));
  const f = position - i;
  const a = VIRIDIS_ANCHORS[i];
  const b = VIRIDIS_ANCHORS[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/** `[min, max]` of the finite values (`[0, 1]` when there are none). */
export function finiteRange(values: ArrayLike<number>): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? [min, max] : [0, 1];
}

/** Maps `value` to [0, 1] within `range` (a constant range maps everything to 0.5). */
export function normalise(value: number, range: readonly [number, number]): number {
  const span = range[1] - range[0];
  return span > 0 ? (value - range[0]) / span : 0.5;
}

/** `#rrggbb` for an [r, g, b] triple. */
export function toHex([r, g, b]: readonly [number, number, number]): string {
  return "#" + [r, g, b].map((c) => c.toString(16).padStart(2, "0")).join("");
}
