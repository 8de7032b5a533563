import type { GradientRule } from '../registry.js';
import { elementwiseRules } from './rules-elementwise.js';
import { extraRules } from './rules-extra.js';
import { nnRules } from './rules-nn.js';
import { reduceRules } from './rules-reduce.js';
import { shapeRules } from './rules-shape.js';

/**
 * Core's gradient rule table, keyed by op id. Rules live here, apart from the kernels (as in
 * tfjs): `grad()` consults it after `opts.rules` and the registry schema's own `gradient`.
 */
export const gradientRules: Readonly<Record<string, GradientRule>> = Object.freeze({
  ...elementwiseRules,
  ...shapeRules,
  ...reduceRules,
  ...nnRules,
  ...extraRules,
});

/** Ops through which no gradient flows (their outputs are indices, masks, shapes or random draws). */
export const NON_DIFFERENTIABLE: ReadonlySet<string> = new Set([
  'Constant', 'ConstantOfShape', 'Shape', 'Size', 'Range', 'NonZero', 'ArgMax', 'ArgMin', 'OneHot',
  'Equal', 'Greater', 'GreaterOrEqual', 'Less', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf',
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial',
  'EyeLike', 'Mod', 'BitShift',
]);
