export * from './dims.js';
export * from './parameters.js';
export * from './compute.js';
export * from './memory.js';
