/**
 * PNG figures without a browser: line plots, heatmaps and image grids (image, attention map, mask overlay).
 * @module
 */
export { type LinePlotOptions, linePlotPng, linePlotSvg, type LineSeries } from "./line.ts";
export { type HeatmapOptions, heatmapPng, heatmapSvg } from "./heatmap.ts";
export {
  type GridTile,
  type ImageGridOptions,
  imageGridPng,
  type MapTile,
  mapToRgb,
  maskOverlay,
  type RgbTile,
} from "./image_grid.ts";
export { colormap, type ColormapName } from "./colormap.ts";
export { canRenderText } from "./svg.ts";
