/**
 * @tessera/compress: reusable post-training compression — one-shot magnitude pruning and
 * symmetric uniform weight quantization — as plain functions and core `Pass` objects. Pipelines get
 * them as the built-in steps `prune-magnitude` and `quantize-weights` of @tessera/pipeline.
 */
export { weightLayers, selectLayers, type WeightLayer } from './layers.js';
export { PruneOptionsSchema, QuantizeOptionsSchema, parseOptions, type PruneOptions, type PruneOptionsInput, type QuantizeOptions, type QuantizeOptionsInput } from './options.js';
export { pruneMagnitude, type PruneReport, type PrunedLayer } from './prune.js';
export { quantizeTensor, quantizeWeights, type QuantizedTensor, type QuantizeReport, type QuantizedLayer } from './quantize.js';
export { MagnitudePruningPass, WeightQuantizationPass } from './passes.js';
