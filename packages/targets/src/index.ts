export * from './formats.js';
export * from './common.js';
export * from './asic45nm.js';
export * from './fpga.js';
export * from './gap8.js';
export * from './analog.js';
export * from './posit-fixed.js';
export * from './cpu-ort.js';
