// Worker bootstrap for running the TypeScript sources directly (tsx, vitest): registers tsx's
// loader inside the worker thread, then imports the real worker module.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
