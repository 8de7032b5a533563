export { grad, stopGradient, gradScale, STOP_GRADIENT, GRAD_SCALE, BACKWARD, FROZEN, type GradOptions, type GradResult } from './grad.js';
export { gradientRules, NON_DIFFERENTIABLE } from './rules.js';
export { unbroadcast, ensureOutput } from './rules-util.js';
export { lsqFakeQuant, lsqInitStep, lsqRange, type LsqOptions } from './quant.js';
export { hvpCentral, hutchinsonTrace, topEigenvalue, type GradientOracle, type HvpOracle, type HutchinsonOptions } from './hessian.js';
export { checkGradients, type GradientCheckOptions, type GradientCheckResult, type GradientMismatch } from './check.js';
