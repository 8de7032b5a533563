/**
 * Training and scoring of segmentation graphs through @tessera/train and @tessera/runtime:
 * pretraining the supernet and fine-tuning the final front use the platform Trainer (on the
 * batch-statistics form of the graph); scoring is a forward pass and the dataset-level mIoU.
 */
import type { Graph, OpRegistry } from '@tessera/core';
import type { Dataset } from '@tessera/data';
import { takeRows } from '@tessera/data';
import type { Executor } from '@tessera/runtime';
import { Trainer, adamw, denseArgmax, meanIoU, type LossBuilder } from '@tessera/train';
import { batchNormToBatchStats } from './batchnorm.js';

/**
 * Per-pixel cross-entropy over [N, C, H, W] logits with int64 labels [N, H, W]. Written as a loss
 * builder because the trainer's built-in 'cross-entropy' shapes labels for [N, C] and [N, T, V]
 * logits only (for rank 4 it declares labels [N, H] and autodiff fails).
 */
export const denseCrossEntropy: LossBuilder = (b, outputs) => {
  const logits = outputs[0]!;
  const s = logits.shape as number[];
  const labels = b.graph.addInput('labels', { dtype: 'int64', shape: [s[0]!, ...s.slice(2)] });
  return { loss: b.op('SoftmaxCrossEntropyLoss', [logits, labels], { reduction: 'mean' }, { name: 'loss' }), inputs: [labels] };
};

export interface TrainSegmenterOptions {
  epochs: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  seed?: number;
  executor?: Executor;
  registry?: OpRegistry;
}

export interface TrainSegmenterResult {
  /** The inference-form graph with the trained parameters and updated BN running statistics. */
  graph: Graph;
  /** Wall time of the training steps (ms), compile excluded. */
  trainMs: number;
  /** Wall time including graph rewriting and session compilation (ms). */
  totalMs: number;
  finalLoss: number;
}

/** Trains an inference-form segmentation graph (AdamW, batch-statistics BN) and returns the trained inference graph. */
export async function trainSegmenter(graph: Graph, train: Dataset, opts: TrainSegmenterOptions): Promise<TrainSegmenterResult> {
  const t0 = performance.now();
  const forward = batchNormToBatchStats(graph, opts.registry);
  const trainer = await Trainer.create({
    forward, loss: denseCrossEntropy, optimizer: adamw({ lr: opts.lr ?? 3e-3, weightDecay: opts.weightDecay ?? 1e-4 }),
    batchSize: opts.batchSize ?? 32, seed: opts.seed ?? 0, executor: opts.executor, registry: opts.registry,
  });
  const t1 = performance.now();
  const steps = await trainer.fit(train, { epochs: opts.epochs, progress: false });
  const trainMs = performance.now() - t1;
  const out = graph.clone();
  for (const [name, t] of trainer.parameters()) if (out.initializers.has(name)) out.setInitializer(name, t);
  return { graph: out, trainMs, totalMs: performance.now() - t0, finalLoss: steps.at(-1)?.loss ?? Number.NaN };
}

/** Dataset-level mean IoU of `graph` on `data` (forward passes in fixed chunks, so results do not depend on the caller). */
export async function segmentationMIoU(executor: Executor, graph: Graph, data: Dataset, chunk = 40): Promise<number> {
  const n = data.x.shape[0]!;
  const session = await executor.session(graph);
  const input = session.inputNames[0]!;
  const preds: Int32Array[] = [];
  try {
    for (let s = 0; s < n; s += chunk) {
      const ids = Array.from({ length: Math.min(chunk, n - s) }, (_, i) => s + i);
      const out = await session.run({ [input]: takeRows(data.x, ids) });
      preds.push(denseArgmax(out[session.outputNames[0]!]!));
    }
  } finally {
    await session.release();
  }
  const pred = new Int32Array(preds.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of preds) { pred.set(p, o); o += p.length; }
  const labels = Int32Array.from(data.y.data as BigInt64Array, Number);
  return meanIoU(pred, labels, data.classes.length);
}
