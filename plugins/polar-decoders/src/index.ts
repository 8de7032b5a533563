// Public entry: the whole library (construct a code, encode, decode, simulate; see lib.ts) plus the
// pipeline plugin as the default export, which is what the pipeline loader takes from a package entry.
export * from './lib.js';
export { polarDecodersPlugin as default, polarDecodersPlugin, polarSweep } from './plugin.js';
