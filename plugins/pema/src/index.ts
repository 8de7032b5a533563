/**
 * @tessera/plugin-pema: PEMA (Kim, Kim, Bak, NAACL 2024), offsite-tunable plug-in external memory
 * adaptation. The PLM owner (`ModelOwner`) shares only context representations and its output
 * head; the data owner builds an `ExternalMemory`, trains the adapter on it (`trainPema`), and
 * mixes the adapter's distribution with the PLM's at inference (`mixLogProbs`, `guSchedule`,
 * `pemaGenerate`). The plugin object (procedure `pema`) is in ./plugin.ts.
 */
export { buildExternalMemory, ExternalMemory, ModelOwner, OutputHead, type DecodeStep, type MemoryExample, type RepresentationRequest, type RepresentationService, type Representations } from './memory.js';
export { adapterTrainingForward, headLogProbs, initAdapter, pemaLogProbs, pemaLoss, reconstruct, trainPema, type PemaAdapter, type PemaTrainConfig, type PemaTrainLogEntry, type PemaTrainResult } from './adapter.js';
export { firstIssue, generateOptionsSchema, guSchedule, lengthBudgetSchema, logSoftmax, mixLogProbs, pemaGenerate, resolveLengthBudget, type LengthBudget, type PemaGenerateOptions } from './mixture.js';
export { knnLogProbs, nearestKeys, type Neighbours } from './knn.js';
export { addLora } from './lora.js';
export { adapterOptionsSchema, domainShiftOptionsSchema, runDomainShift, trainConfig, type AdapterOptions, type ArmResult, type DomainShiftOptions, type DomainShiftResult } from './domain-shift.js';
export { default, pemaProcedure } from './plugin.js';
