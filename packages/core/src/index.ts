export * from './dtype.js';
export * from './tensor.js';
export * from './graph.js';
export * from './registry.js';
export * from './builder.js';
export { standardOps } from './ops/index.js';
export { broadcastShapes, broadcastTypes } from './ops/shape-util.js';
export * from './rng.js';
export * from './passes/index.js';
export * from './verifier.js';
export * from './analysis/index.js';
export * from './target.js';
export * from './autodiff/index.js';
export { interpret, InterpretError, type InterpretOptions } from './interpreter.js';
/** Scalar erf and exact GELU (about 1e-15 absolute error) for reference computations outside graphs. */
export { erf, geluExact } from './ops/erf.js';
export * from './builder-ops.js';
/** Host linear algebra: thin SVD (one-sided Jacobi, float64). */
export { svd, type Svd, type SvdOptions } from './linalg.js';
