import type { Graph, Pass, PassResult } from '@tessera/core';
import { weightLayers } from './layers.js';
import { parseOptions, PruneOptionsSchema, QuantizeOptionsSchema, type PruneOptionsInput, type PruneOptions, type QuantizeOptions, type QuantizeOptionsInput } from './options.js';
import { pruneMagnitude, type PruneReport } from './prune.js';
import { quantizeWeights, type QuantizeReport } from './quantize.js';

/** Core pass form of pruneMagnitude (in place); `report` holds the last run's numbers. */
export class MagnitudePruningPass implements Pass {
  readonly name = 'MagnitudePruningPass';
  readonly inPlace = true;
  readonly options: PruneOptions;
  report?: PruneReport;

  /** Options are checked here, so a bad value fails when the pipeline is built, not midway. */
  constructor(options: PruneOptionsInput) {
    this.options = parseOptions(PruneOptionsSchema, options, 'prune-magnitude');
  }

  requires(graph: Graph): string | void {
    if (weightLayers(graph).length === 0) return `graph "${graph.name}" has no Conv/MatMul/Gemm weights to prune`;
  }

  run(graph: Graph): PassResult {
    this.report = pruneMagnitude(graph, this.options);
    return { graph, changed: this.report.zeros > 0 };
  }

  ensures(): string | void {
    const r = this.report!;
    // round(sparsity·n) zeros at least (more only when weights were already zero).
    const want = r.scope === 'global' ? Math.round(r.target * r.size) : r.layers.reduce((a, l) => a + Math.round(r.target * l.size), 0);
    if (r.zeros < want) return `${r.zeros} of ${r.size} weights are zero, expected at least ${want}`;
  }
}

/** Core pass form of quantizeWeights (in place); `report` holds the last run's scales and errors. */
export class WeightQuantizationPass implements Pass {
  readonly name = 'WeightQuantizationPass';
  readonly inPlace = true;
  readonly options: QuantizeOptions;
  report?: QuantizeReport;

  constructor(options: QuantizeOptionsInput) {
    this.options = parseOptions(QuantizeOptionsSchema, options, 'quantize-weights');
  }

  requires(graph: Graph): string | void {
    if (weightLayers(graph).length === 0) return `graph "${graph.name}" has no Conv/MatMul/Gemm weights to quantize`;
  }

  run(graph: Graph): PassResult {
    this.report = quantizeWeights(graph, this.options);
    return { graph, changed: this.report.layers.length > 0 };
  }

  ensures(): string | void {
    for (const l of this.report!.layers) {
      const half = Math.max(...l.scales) / 2;
      if (l.maxError > half * (1 + 1e-6)) return `weight '${l.name}': error ${l.maxError} exceeds half a step (${half})`;
    }
  }
}
