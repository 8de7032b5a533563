import { parentPort, workerData } from 'node:worker_threads';
import { BatchRunner, type NormalizedSweepConfig } from './sweep-core.js';

/** Worker side of the simulator: runs the batches it is sent, replies with their tallies. */
export interface BatchRequest {
  point: number;
  batch: number;
}

const port = parentPort;
if (port) {
  const runner = new BatchRunner((workerData as { config: NormalizedSweepConfig }).config);
  port.on('message', (m: BatchRequest) => {
    try {
      const tally = runner.run(m.point, m.batch);
      port.postMessage({ point: m.point, batch: m.batch, tally, trainedParameter: runner.trainedParameter });
    } catch (e) {
      port.postMessage({ point: m.point, batch: m.batch, error: e instanceof Error ? e.message : String(e) });
    }
  });
}
