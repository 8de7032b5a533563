/**
 * @tessera/plugin-vit-nonlinear: PEANO-ViT approximations of LayerNorm, softmax and GELU as
 * tessera.peano ops (reference kernels), standard-op lowerings without Exp/Sqrt/Div/Erf/Tanh,
 * pattern rewrites that swap them into any graph, error sweeps and an FPGA cost table.
 * Everything works without a pipeline; the default export is the plugin (pass `peano-approximate`).
 */
export * from './options.js';
export * from './tables.js';
export * from './kernels.js';
export * from './ops.js';
export * from './lower.js';
export * from './rewrite.js';
export * from './sweeps.js';
export * from './cost.js';
export * from './model.js';
export { peanoApproximatePass } from './plugin.js';
export { default } from './plugin.js';

import { geluPwl, lnInvStd, msrReciprocal, padeExp } from './kernels.js';
/** The per-element reference kernels under the spec's names. */
export const peanoKernels = { lnInvStd, msrReciprocal, padeExp, geluPwl };
