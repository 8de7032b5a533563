export {
  compareBackends, compareGraphs, expectBackendsAgree, formatMismatches,
  type BackendComparison, type EquivalenceOptions, type GraphEquivalenceOptions, type Mismatch,
} from './equivalence.js';
export type { GradientCheck, GradientCheckEntry, GradientCheckOptions, GradientCheckReport } from './gradient-check.js';
export { tensorMismatch, type Tolerance } from '@tessera/runtime';
