/**
 * @tessera/plugin-lamda: LaMDA / LaMDA++ (Azizi, Kundu, Pedram, Findings of EMNLP 2024,
 * arXiv 2406.12832) and LoRA adapters as graph passes, LaMDA's row-wise freezing of B through
 * @tessera/train's real freezing, adapter merging for export; `svd` is re-exported from @tessera/core.
 * Every function works without a pipeline; the default export is the plugin object.
 */
export { svd, type Svd, type SvdOptions } from '@tessera/core';
export * from './adapters.js';
export * from './rank-allocation.js';
export * from './freeze.js';
export * from './merge.js';
export * from './finetune.js';
export * from './lamda.js';
export * from './options.js';
export * from './plugin.js';
export { lamdaPlugin as default } from './plugin.js';
