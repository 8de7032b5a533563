export * from './dtype.js';
export * from './tensor.js';
export * from './graph.js';
export * from './registry.js';
export * from './builder.js';
export { standardOps } from './ops/index.js';
export { broadcastShapes, broadcastTypes } from './ops/shape-util.js';
export * from './rng.js';
