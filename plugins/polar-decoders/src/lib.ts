// The library without the pipeline plugin: construct a code, encode, decode, simulate.
// Scripts (bench, experiments) import this file so they do not load @tessera/pipeline.
export { PolarCode, polarTransform, type PolarCodeOptions } from './code.js';
export { Crc, NAMED_CRCS, resolveCrc, type CrcPolynomial, type CrcSpec } from './crc.js';
export { gaussianApproximationMeans, gaOrder, nrReliabilityOrder, reliabilityOrder, type Construction } from './construction.js';
export { NR_RELIABILITY_1024 } from './nr-reliability.js';
export { AwgnFrameSource, FrameRng, noiseVariance } from './channel.js';
export { emptyStats, isTrainable, type DecodeStats, type PolarDecoder, type TrainableDecoder } from './decoder.js';
export { PolarParameterError } from './errors.js';
export { LATENCY_MODEL, pruneComplexity } from './latency.js';
export { compileTree, classifyNode, NODE_NAMES, type DecodingProgram, type TreeOptions } from './tree.js';
export { ScDecoder, ScEngine, ScFlipDecoder, type ScFlipOptions } from './decoders/sc.js';
export { ListEngine, type ListEngineOptions } from './decoders/list-engine.js';
export { ListDecoder, ListFlipDecoder, type ListFlipOptions, type ListOptions, type NodeSearch } from './decoders/list.js';
export {
  GrandDecoder, OrbGrandDecoder, ParityCheck, ReliabilityRanker, StepGrandDecoder,
  type GrandOptions, type OrbGrandOptions, type StepGrandOptions,
} from './decoders/grand.js';
export { BUILTIN_DECODERS, createDecoder, DecoderRegistry, type DecoderFactory, type DecoderSpec, type DecoderType } from './registry.js';
export { BatchRunner, normalizeSweepConfig, type NormalizedSweepConfig, type SweepConfig, type Tally } from './sweep-core.js';
export { simulate, sweepToCsv, type PointResult, type SweepProgress, type SweepResult, type SweepRunOptions } from './simulate.js';
export { readReferenceTable, referenceDir, type ReferencePoint } from './reference.js';

