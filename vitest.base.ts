import { defineConfig } from 'vitest/config';

// One shared base for every project: deterministic, single-threaded onnxruntime, generous
// timeouts because real training runs inside some tests on a 2-core machine.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    env: { TESSERA_THREADS: '1' },
  },
});
