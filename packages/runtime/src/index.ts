export { createExecutor, loadOrtNode, loadOrtWeb } from './create-executor.js';
export {
  BACKENDS, CachingExecutor, type BackendName, type Executor, type ExecutorOptions, type Feeds, type Results, type Session,
  type SessionFactory,
} from './executor.js';
export { graphKey } from './fingerprint.js';
export { ortErrorMessage } from './errors.js';
export { fromOrtTensor, toOrtTensor } from './tensor-convert.js';
export { tensorMismatch, type Tolerance } from './compare.js';
export {
  runConformance, formatReport, listCases, KNOWN_FAILURES, RANDOM_OPS, CONFORMANCE_TOLERANCE, MISSING_TESTDATA, ONNX_NODE_TESTS,
  type CaseResult, type ConformanceOptions, type ConformanceReport, type OpSummary, type PathResult, type Status,
} from './conformance.js';
