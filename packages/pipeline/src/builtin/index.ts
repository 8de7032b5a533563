/**
 * The built-in "core" plugin: the steps, datasets, models and targets every pipeline can use
 * without listing a plugin. It is an ordinary plugin, written against the same API as any other.
 */
import { CORE_API_VERSION, definePlugin } from '../plugin.js';
import { pruneMagnitudePass, quantizeWeightsPass } from './compress.js';
import { fashionMnistDataset, mnistDataset } from './data.js';
import { evaluateProcedure } from './evaluate.js';
import { evaluateOnnxWebProcedure, exportOnnxProcedure } from './export.js';
import { builtinModels } from './models.js';
import { quantizeUniformPass } from './quantize.js';
import { builtinTargets, checkTargetsProcedure, costProcedure } from './targets.js';
import { trainProcedure } from './train.js';

export const corePlugin = definePlugin({
  name: 'core',
  version: CORE_API_VERSION,
  api: `^${CORE_API_VERSION}`,
  description: 'built-in steps (train, evaluate, quantize-uniform, prune-magnitude, quantize-weights, check-targets, cost, export-onnx, evaluate-onnx-web), datasets, the model zoo and the hardware targets',
  passes: [quantizeUniformPass, pruneMagnitudePass, quantizeWeightsPass],
  procedures: [trainProcedure, evaluateProcedure, checkTargetsProcedure, costProcedure, exportOnnxProcedure, evaluateOnnxWebProcedure],
  targets: builtinTargets,
  datasets: [fashionMnistDataset, mnistDataset],
  models: builtinModels,
});

export { decodePredictions, encodePredictions, evaluateGraph, type Evaluation } from './evaluate.js';
export { quantizeWeights, type QuantizeOptions, type QuantizedWeight } from './quantize.js';
export { pruneMagnitudePass, quantizeWeightsPass } from './compress.js';
export { unitBindings } from './targets.js';
export type { ImageData } from './data.js';
