export * from './optimizers.js';
export * from './schedules.js';
export * from './metrics.js';
export * from './progress.js';
export * from './checkpoint.js';
export * from './accounting.js';
export * from './training-graph.js';
export * from './trainer.js';
export { takeAlong, putAlong } from './tensor-util.js';
