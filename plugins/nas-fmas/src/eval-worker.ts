/** Worker side of the candidate pool: rebuilds the supernet from ONNX bytes once, then scores the slice specs it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { Tensor } from '@tessera/core';
import type { Dataset } from '@tessera/data';
import { createExecutor } from '@tessera/runtime';
import { scoreCandidate } from './evaluate.js';
import { graphFromTransfer, type PoolInit, type PoolReply, type PoolRequest } from './pool.js';

const port = parentPort;
if (port) {
  const init = workerData as PoolInit;
  const supernet = graphFromTransfer(init.model);
  const data: Dataset = {
    name: init.data.name, classes: init.data.classes, source: { description: 'search subset sent by the candidate pool', licence: 'generated' },
    x: new Tensor('float32', init.data.xShape, new Float32Array(init.data.x)),
    y: new Tensor('int64', init.data.yShape, new BigInt64Array(init.data.y)),
  };
  const executor = createExecutor('ort-node', { threads: 1 });
  port.on('message', (m: PoolRequest) => {
    scoreCandidate(supernet, m.spec, data, executor, init.costs)
      .then((score) => port.postMessage({ id: m.id, score } satisfies PoolReply))
      .catch((e: unknown) => port.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) } satisfies PoolReply));
  });
}
