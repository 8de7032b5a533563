/**
 * @tessera/plugin-nas-fmas: FMAS (arXiv:2303.16322) — multi-objective search over subnetworks
 * sliced from a pretrained DeepLabV3+-style supernet, scored without fine-tuning on a validation
 * subset; only the final Pareto candidates are fine-tuned. Everything below works without a
 * pipeline; the default export plugs the same functions into one (pass `slice-channels`,
 * procedure `fmas-search`, dataset `segmentation-scenes`).
 */
export { chooseFilters, keptCount, sliceChannels, SliceChannelsPass, type FilterChoice, type SliceResult, type SliceSpec } from './slice-channels.js';
export { batchNormToBatchStats } from './batchnorm.js';
export { deeplabSubnetSpace, WIDTH_FRACTIONS, type SubnetSpace } from './space.js';
export { costValue, scoreCandidate, subnetCosts, type CandidateScore, type CostObjective, type SubnetCosts } from './evaluate.js';
export { CandidatePool, type CandidatePoolOptions } from './pool.js';
export { readSearchLog, resumableNsga2, type ResumableNsga2Options, type ResumableNsga2Result, type BatchOutcome, type EvaluateBatch, type EvaluationRecord } from './search.js';
export { fmasSearch, FmasOptionsSchema, parseFmasOptions, type Candidate, type FinalCandidate, type FmasData, type FmasHooks, type FmasOptions, type FmasResult, type ResolvedFmasOptions } from './fmas.js';
export { kendallTau } from './stats.js';
export { denseCrossEntropy, segmentationMIoU, trainSegmenter, type TrainSegmenterOptions, type TrainSegmenterResult } from './train.js';
export { segmentationSplits, type SegmentationSplitOptions } from './data.js';
export { fmasPlots } from './plots.js';
export { default } from './plugin.js';
