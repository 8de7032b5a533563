export { ctmq, pretrainFloat, withValidation, planPhases, totalEpochsOf, evaluateAccuracy, withParams, type CtmqResult, type CtmqRunOptions, type PhaseRecord, type PhaseKind, type Checkpoint } from './ctmq.js';
export { CtmqOptionsSchema, parseCtmqOptions, type CtmqOptions, type CtmqOptionsInput } from './options.js';
export { quantizeGraph, macLayers, layerWeightBits, QUANTIZATION_META, type QuantizationPlan, type QuantizedLayer, type MacLayer, type KeepFirstLast } from './quantize-pass.js';
export { fakeQuantWeight, fakeQuantActivation, fakeQuantInput, foldWeight, quantizedWeightValues, symmetricFormat, BINARY, levels } from './quantizers.js';
export { trainingForm, recalibrateBatchNorm } from './batchnorm.js';
export { costOnAsic45nm, exportCtmqModel, exportedAccuracy, type CtmqCost } from './deploy.js';
export { quantCyclicPlugin, ctmqProcedure, ctmqQuantizePass, default } from './plugin.js';
