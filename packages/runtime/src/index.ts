export { createExecutor } from './create-executor.js';
export {
  BACKENDS, CachingExecutor, type BackendName, type Executor, type ExecutorOptions, type Feeds, type Results, type Session,
  type SessionFactory,
} from './executor.js';
export { graphKey } from './fingerprint.js';
export { ortErrorMessage } from './errors.js';
export { fromOrtTensor, toOrtTensor } from './tensor-convert.js';
