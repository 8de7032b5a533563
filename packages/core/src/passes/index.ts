export * from './pass.js';
export * from './pass-manager.js';
export * from './pattern.js';
export * from './dead-code-elimination.js';
export * from './shape-inference.js';
export * from './common-subexpression-elimination.js';
export * from './constant-folding.js';
