export * from './plugin.js';
export { TOKENS } from './tokens.js';
export * from './config.js';
export { canonicalJson, graphHash, sha256 } from './hash.js';
export { StepCache, type CacheEntry, type CacheEntryMeta } from './cache.js';
export { collectContributions, createRunContainer, runRegistry, RunExecutors, injectParams, type Contributions, type TrainerFactory } from './container.js';
export * from './loader.js';
export {
  runPipeline, validatePipeline, loadConfigPlugins, readPipelineFile, summarizeGraph, StepRunner, RunCancelledError,
  type RunEvent, type RunOptions, type RunResult,
} from './runner.js';
export { writeReport, readReport, renderReportHtml, accuracyRows, type RunReport, type StepReport, type GraphSummary } from './report.js';
export { lineChart, scatterChart, barChart, reliabilityDiagram, renderVegaLite, type Row, type ChartOptions } from './plots.js';
export { corePlugin, pruneMagnitudePass, quantizeWeightsPass, decodePredictions, encodePredictions, evaluateGraph, quantizeWeights, unitBindings, type Evaluation, type ImageData, type QuantizeOptions, type QuantizedWeight } from './builtin/index.js';
export { pipelineJsonSchema } from './schema.js';
