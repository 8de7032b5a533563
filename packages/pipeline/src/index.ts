import 'reflect-metadata';

export * from './plugin.js';
export { TOKENS } from './tokens.js';
