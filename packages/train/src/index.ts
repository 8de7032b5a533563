export * from './optimizers.js';
export * from './schedules.js';
export * from './metrics.js';
export * from './progress.js';
export * from './checkpoint.js';
export * from './accounting.js';
export * from './training-graph.js';
export * from './trainer.js';
export { takeAlong, putAlong } from './tensor-util.js';
// The finite-difference gradient checker lives in core (its own rule tests use it); plugin
// authors import it from here or from @tessera/core.
export { checkGradients, type GradientCheckOptions, type GradientCheckResult, type GradientMismatch } from '@tessera/core';
