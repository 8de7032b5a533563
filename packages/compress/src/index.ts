/**
 * @tessera/compress: reusable post-training compression — one-shot magnitude pruning and
 * symmetric uniform weight quantization — as plain functions, core `Pass` objects and pipeline
 * steps (the default export is a plugin contributing `prune-magnitude` and `quantize-weights`).
 */
export { weightLayers, selectLayers, type WeightLayer } from './layers.js';
export { PruneOptionsSchema, QuantizeOptionsSchema, parseOptions, type PruneOptions, type PruneOptionsInput, type QuantizeOptions, type QuantizeOptionsInput } from './options.js';
export { pruneMagnitude, type PruneReport, type PrunedLayer } from './prune.js';
export { quantizeWeights, type QuantizeReport, type QuantizedLayer } from './quantize.js';
export { MagnitudePruningPass, WeightQuantizationPass } from './passes.js';
export { compressPlugin, pruneMagnitudePass, quantizeWeightsPass, default } from './plugin.js';
