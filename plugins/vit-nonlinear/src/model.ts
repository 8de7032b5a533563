import { standardOps, type Graph, type OpRegistry } from '@tessera/core';
import { loadFashionMnist, splitTrainSearchTest, type Dataset } from '@tessera/data';
import { buildViT } from '@tessera/models';
import { evaluateGraph } from '@tessera/pipeline';
import { createExecutor, type Executor } from '@tessera/runtime';
import { adam, Trainer } from '@tessera/train';
import { peanoApproximate } from './rewrite.js';
import type { PeanoOptionsInput } from './options.js';

export interface FashionSplits {
  train: Dataset;
  test: Dataset;
}

/** Seeded, stratified Fashion-MNIST subsets (train from the official train split, test from the official test split). */
export function fashionSubsets(train: number, test: number, seed = 0): FashionSplits {
  const s = splitTrainSearchTest({ train: loadFashionMnist('train'), test: loadFashionMnist('test') }, { search: 1, train, test, seed });
  return { train: s.train, test: s.test };
}

/** Trains the tiny ViT (spec: patch 7, 16 tokens + CLS, dim 64, 4 heads, depth 4, MLP 128, pre-LN) with Adam on onnxruntime-node. */
export async function trainTinyViT(train: Dataset, opts: { epochs?: number; lr?: number; batchSize?: number; seed?: number; executor?: Executor; registry?: OpRegistry; depth?: number } = {}): Promise<{ graph: Graph; steps: number; wallMs: number; finalLoss: number }> {
  const registry = opts.registry ?? standardOps();
  const executor = opts.executor ?? createExecutor('ort-node', { registry, threads: 1 });
  const forward = buildViT(opts.depth ? { depth: opts.depth } : {}, { seed: opts.seed ?? 0 });
  const trainer = await Trainer.create({ forward, optimizer: adam({ lr: opts.lr ?? 2e-3 }), batchSize: opts.batchSize ?? 64, seed: opts.seed ?? 0, executor, registry });
  const t0 = performance.now();
  const steps = await trainer.fit(train, { epochs: opts.epochs ?? 2, progress: false });
  const tail = steps.slice(-10).map((s) => s.loss);
  return { graph: trainer.currentGraph(), steps: steps.length, wallMs: performance.now() - t0, finalLoss: tail.reduce((a, b) => a + b, 0) / tail.length };
}

export interface AblationRow {
  name: string;
  options: PeanoOptionsInput;
  accuracy: number;
  /** Exact-model accuracy minus this accuracy, in points. */
  drop: number;
  /** Percent of test predictions that differ from the exact model's (paired, so far less noisy than the drop). */
  flips: number;
  /** Increase of the mean test NLL over the exact model's. */
  nllIncrease: number;
}

/** Accuracy of the exact model and of post-hoc swapped-in approximations (no retraining), on onnxruntime-node. */
export async function ablate(graph: Graph, test: Dataset, variants: { name: string; options: PeanoOptionsInput }[], executor: Executor): Promise<{ exact: number; rows: AblationRow[] }> {
  const ref = await evaluateGraph(graph, test, executor);
  const rows: AblationRow[] = [];
  for (const v of variants) {
    const e = await evaluateGraph(peanoApproximate(graph, v.options), test, executor);
    let flips = 0;
    for (let i = 0; i < e.predictions.length; i++) if (e.predictions[i] !== ref.predictions[i]) flips++;
    rows.push({ name: v.name, options: v.options, accuracy: e.accuracy, drop: 100 * (ref.accuracy - e.accuracy), flips: (100 * flips) / e.predictions.length, nllIncrease: e.nll - ref.nll });
  }
  return { exact: ref.accuracy, rows };
}

/** The spec's defaults and ablations: all three approximations on, one block made coarser and coarser (the other two at their defaults). */
export const ABLATIONS: { name: string; options: PeanoOptionsInput }[] = [
  { name: 'defaults (t=4, t=6, S=8)', options: {} },
  { name: 'GELU S=16', options: { gelu: { segments: 16 } } },
  { name: 'GELU S=4', options: { gelu: { segments: 4 } } },
  { name: 'GELU S=2', options: { gelu: { segments: 2 } } },
  { name: 'LN t=2', options: { layerNorm: { tableBits: 2 } } },
  { name: 'LN t=0', options: { layerNorm: { tableBits: 0 } } },
  { name: 'LN pure power-of-two', options: { layerNorm: { pow2Only: true } } },
  { name: 'reciprocal t=4', options: { softmax: { reciprocalBits: 4 } } },
  { name: 'reciprocal t=3', options: { softmax: { reciprocalBits: 3 } } },
  { name: 'reciprocal t=1', options: { softmax: { reciprocalBits: 1 } } },
  { name: 'all coarse (S=4, LN pow2, recip t=3)', options: { gelu: { segments: 4 }, layerNorm: { pow2Only: true }, softmax: { reciprocalBits: 3 } } },
];
