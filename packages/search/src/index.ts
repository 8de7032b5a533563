export * from './pareto.js';
export * from './hypervolume.js';
export * from './knee.js';
export * from './space.js';
export * from './nsga2.js';
export * from './tpe.js';
export * from './toy.js';
