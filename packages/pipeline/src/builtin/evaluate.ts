/** Accuracy of a classifier graph on a dataset, on any runtime backend, and the `evaluate` step. */
import { Tensor, type Graph } from '@tessera/core';
import { takeRows, type Dataset } from '@tessera/data';
import type { BackendName, Executor } from '@tessera/runtime';
import { accuracy, argmax, ece, nll } from '@tessera/train';
import { z } from 'zod';
import type { RunExecutors } from '../container.js';
import { reliabilityDiagram } from '../plots.js';
import { defineProcedure, type Progress } from '../plugin.js';
import { TOKENS } from '../tokens.js';
import type { ImageData } from './data.js';

export interface Evaluation {
  accuracy: number;
  nll: number;
  ece: number;
  examples: number;
  predictions: Int32Array;
  /** Confidence bins for a reliability diagram. */
  bins: { confidence: number; accuracy: number; count: number }[];
}

function softmaxRows(logits: Tensor): { conf: Float64Array; pred: Int32Array } {
  const [n, c] = [logits.shape[0]!, logits.shape[1]!];
  const conf = new Float64Array(n);
  const pred = argmax(logits);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, logits.getFlat(i * c + j));
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(logits.getFlat(i * c + j) - m);
    conf[i] = 1 / s;
  }
  return { conf, pred };
}

/** Runs the graph over the dataset in batches and scores the first output as logits [N, classes]. */
export async function evaluateGraph(graph: Graph, ds: Dataset, executor: Executor, opts: { batchSize?: number; progress?: Progress; signal?: AbortSignal } = {}): Promise<Evaluation> {
  const input = graph.inputs.find((v) => !v.isInitializer);
  if (!input) throw new Error(`graph "${graph.name}" has no data input to feed`);
  const out = graph.outputs[0]!.name;
  const n = ds.x.shape[0]!;
  const bs = opts.batchSize ?? 256;
  const session = await executor.session(graph);
  const parts: Tensor[] = [];
  for (let start = 0; start < n; start += bs) {
    if (opts.signal?.aborted) throw new Error('cancelled');
    const ids = Array.from({ length: Math.min(bs, n - start) }, (_, i) => start + i);
    parts.push((await session.run({ [input.name]: takeRows(ds.x, ids) }, [out]))[out]!);
    opts.progress?.update(Math.min(n, start + bs), n, 'examples');
  }
  const classes = parts[0]!.shape[1]!;
  const all = new Float32Array(n * classes);
  let off = 0;
  for (const p of parts) {
    all.set(p.toFloat64(), off);
    off += p.size;
  }
  const logits = new Tensor('float32', [n, classes], all);
  const { conf, pred } = softmaxRows(logits);
  const edges = 10;
  const bins = Array.from({ length: edges }, () => ({ confidence: 0, accuracy: 0, count: 0 }));
  for (let i = 0; i < n; i++) {
    const b = bins[Math.min(edges - 1, Math.floor(conf[i]! * edges))]!;
    b.confidence += conf[i]!;
    b.accuracy += pred[i] === ds.y.getFlat(i) ? 1 : 0;
    b.count++;
  }
  return {
    accuracy: accuracy(logits, ds.y),
    nll: nll(logits, ds.y),
    ece: ece(logits, ds.y),
    examples: n,
    predictions: pred,
    bins: bins.filter((b) => b.count > 0).map((b) => ({ confidence: b.confidence / b.count, accuracy: b.accuracy / b.count, count: b.count })),
  };
}

/** Predicted classes as base64 bytes (classes < 256), so a later step can compare predictions one by one. */
export function encodePredictions(pred: Int32Array): string {
  return Buffer.from(Uint8Array.from(pred, (p) => Math.min(255, p))).toString('base64');
}

export function decodePredictions(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'base64'));
}

export const evaluateProcedure = defineProcedure({
  name: 'evaluate',
  description: 'accuracy, NLL and ECE of the current graph on the test split, on a runtime backend (default onnxruntime-node)',
  options: z
    .object({
      backend: z.enum(['ort-node', 'ort-web', 'reference']).default('ort-node'),
      split: z.enum(['test', 'train']).default('test'),
      batchSize: z.number().int().positive().default(256),
    })
    .strict(),
  async run(ctx, input, o) {
    if (!input.graph) throw new Error('evaluate needs a graph; the pipeline has none yet');
    const data = await ctx.loadData<ImageData>();
    const executor = ctx.resolve<RunExecutors>(TOKENS.Executor).get(o.backend as BackendName);
    const e = await evaluateGraph(input.graph, data[o.split], executor, { batchSize: o.batchSize, progress: ctx.progress, signal: ctx.signal });
    return {
      artefacts: {
        kind: 'evaluation',
        accuracy: e.accuracy,
        nll: e.nll,
        ece: e.ece,
        examples: e.examples,
        dataset: data.name,
        split: o.split,
        backend: o.backend,
        predictions: encodePredictions(e.predictions),
        reliability: e.bins,
      },
      plots: { reliability: await reliabilityDiagram(e.bins, { title: `Reliability (${o.backend}, ${data.name} ${o.split})`, width: 260, height: 220 }) },
    };
  },
});
