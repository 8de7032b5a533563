/**
 * @tessera/plugin-posit-mixed: mixed Posit4 / FixP4 weights after "Low-Precision Mixed-Computation
 * Models for Inference on Edge" (Azizi, Nazemi, Kamal, Pedram, 2023). Everything here works without
 * a pipeline; the plugin object (default export) wraps the same functions as pipeline steps.
 */
export { decodePositTerms, positTermsValue, shiftAddProduct, extraAdds, type PositTerms } from './posit4.js';
export { chooseLayerFormats, quantizeFix, quantizePosit, positSpacing, type LayerFormats } from './formats.js';
export {
  WEIGHT_OPS, POSIT_MIXED, weightLayers, layerFormatsOf, applyFormatMap, readFormatMap, assignmentToMeta, assignmentFromMeta, positFractionReport, verifyMixed,
  type WeightLayer, type LayerAssignment, type FormatMap, type FractionRow, type AssignmentMeta,
} from './format-map.js';
export {
  weightImportance, weightScores, groupsOf, topFractionMask, randomFractionMask, assignFormats, effectiveWeight, quantizationError,
  type Importance, type ImportanceRequest, type ImportanceResult,
} from './assign.js';
export { quantizedGraph, calibrateActivations, withQuantizedWeights, POSIT_MIXED_MAC, ACTIVATION_FORMAT, type QuantizedGraphOptions } from './quantized-graph.js';
export { positMixedRegistry } from './mac.js';
export { inferenceEnergy, type EnergyReport, type LayerEnergy } from './energy.js';
export { finetuneMixed, evaluateGraph, withFormatMap, sliceRows, type FinetuneResult, type Evaluation } from './finetune.js';
export {
  AssignOptionsSchema, FinetuneOptionsSchema, MacOptionsSchema, parseOptions,
  type AssignOptions, type AssignOptionsInput, type FinetuneOptions, type FinetuneOptionsInput, type MacOptions,
} from './options.js';
export { positMixedPlugin, assignPass, finetuneProcedure, referenceAgreement, default } from './plugin.js';
