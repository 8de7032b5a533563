/**
 * @tessera/plugin-snt: SNT — sharpness-minimizing network transformation (Heo, Azizi, Fayyazi,
 * Pedram 2023, arXiv:2305.04526v1) with a declared stand-in [R] for the unknown transformation:
 * expand linears/convs into two linear factors for training, merge them back exactly for
 * inference. Usable without a pipeline (functions and core passes) and as a plugin (default export).
 */
export { sntExpand, sntMerge, sntTransform, composeFactors, expansionsOf, SntExpandPass, SntMergePass, SNT_META, type Expansion, type ExpandResult } from './transform.js';
export { measureSharpness, LossOracle, type SharpnessResult, type SplitData } from './sharpness.js';
export { trainArm, type TrainRunResult } from './train.js';
export { compressSweep, type SweepRow } from './compress-sweep.js';
export { GradientCountingExecutor } from './gradient-count.js';
export {
  SntTransformOptionsSchema, SharpnessOptionsSchema, TrainRecipeSchema,
  type SntTransformOptions, type SntTransformOptionsInput, type SharpnessOptions, type SharpnessOptionsInput, type TrainRecipe, type TrainRecipeInput,
} from './options.js';
export { sntPlugin, sntExpandPass, sntMergePass, sntTrainProcedure, default } from './plugin.js';
