import type { Graph } from '@tessera/core';
import { pruneMagnitude, quantizeWeights } from '@tessera/compress';
import type { Dataset } from '@tessera/data';
import { evaluateGraph } from '@tessera/pipeline';
import { createExecutor, type Executor } from '@tessera/runtime';
import { expansionsOf } from './transform.js';

export interface SweepRow {
  kind: 'none' | 'prune' | 'quantize';
  /** Sparsity (prune) or bits (quantize); null for the uncompressed model. */
  level: number | null;
  /** Prune rows: one global magnitude threshold, or the same fraction in every layer. */
  scope?: 'global' | 'layer';
  accuracy: number;
  /** Prune rows: the sparsity each layer ended up with under the global threshold. */
  layerSparsity?: Record<string, number>;
}

/**
 * Post-hoc compression sweep with no fine-tuning: the uncompressed accuracy, one-shot magnitude
 * pruning at each sparsity (global threshold by default; 'layer' scope as a control) and per-channel weight PTQ at each bit width (via
 * @tessera/compress), each on a fresh copy of the merged graph, evaluated on `evalSet`.
 */
export async function compressSweep(graph: Graph, evalSet: Dataset, opts: { prune?: number[]; pruneScopes?: ('global' | 'layer')[]; ptqBits?: number[]; executor?: Executor } = {}): Promise<SweepRow[]> {
  if (expansionsOf(graph).length) throw new Error(`compressSweep: graph "${graph.name}" is SNT-expanded; compress the merged model (sntMerge) so that parameter counts match`);
  const executor = opts.executor ?? createExecutor('ort-node');
  const acc = async (g: Graph) => (await evaluateGraph(g, evalSet, executor, { batchSize: 500 })).accuracy;
  const rows: SweepRow[] = [{ kind: 'none', level: null, accuracy: await acc(graph) }];
  for (const scope of opts.pruneScopes ?? ['global']) {
    for (const s of opts.prune ?? [0.5, 0.7, 0.9]) {
      const g = graph.clone();
      const r = pruneMagnitude(g, { sparsity: s, scope });
      rows.push({ kind: 'prune', level: s, scope, accuracy: await acc(g), layerSparsity: Object.fromEntries(r.layers.map((l) => [l.name, l.sparsity])) });
    }
  }
  for (const b of opts.ptqBits ?? [8, 4, 3, 2]) {
    const g = graph.clone();
    quantizeWeights(g, { bits: b, perChannel: true });
    rows.push({ kind: 'quantize', level: b, accuracy: await acc(g) });
  }
  return rows;
}
