/**
 * @tessera/plugin-bdkd: BD-KD, online knowledge distillation with a per-sample balance of forward
 * and reverse KL driven by the teacher-student entropy gap (Amara et al., arXiv 2212.12965).
 * The function `bdkd()` works on its own; the default export is the plugin with the `bdkd` procedure.
 */
import { definePlugin } from '@tessera/pipeline';
import { bdkdProcedure } from './plugin.js';

export { bdkd, createJointTrainer, predictLogits, type BdkdData, type BdkdResult, type BdkdRunOptions, type EpochLog } from './bdkd.js';
export { attachBdkdLoss, bdkdLossBuilder, divergenceWeights, type BdkdLossValues } from './loss.js';
export { jointGraph, STUDENT_PREFIX, TEACHER_PREFIX, type JointGraph } from './joint-graph.js';
export {
  classification, fitTemperature, hostDivergenceWeights, reliabilityBins, sampleDivergences, scaleLogits,
  type Classification, type ReliabilityBin, type SampleDivergences,
} from './calibration.js';
export {
  BdkdLossSchema, BdkdOptionsSchema, BdkdTrainSchema, parseBdkdLossConfig, parseBdkdOptions, TEACHER_REGS, WEIGHTINGS,
  type BdkdLossConfig, type BdkdOptions, type BdkdOptionsInput, type TeacherReg, type Weighting,
} from './options.js';
export { bdkdProcedure, BdkdProcedureSchema } from './plugin.js';

export default definePlugin({
  name: '@tessera/plugin-bdkd',
  version: '0.1.0',
  api: '^0.1.0',
  description: 'BD-KD online knowledge distillation: teacher and student trained together in one graph, per-sample balanced forward/reverse KL',
  procedures: [bdkdProcedure],
});
