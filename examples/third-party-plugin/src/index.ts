/**
 * tessera-plugin-weight-clip: a plugin written the way a third party would, against the public
 * API only (@tessera/pipeline's definePlugin / definePass / defineProcedure and plots,
 * @tessera/core's Graph and Tensor). It is found by its keyword 'tessera-plugin'.
 *
 * Clipping weights at k standard deviations before uniform quantisation shrinks the
 * quantisation step of layers with a few outliers; `weight-stats` shows where that matters.
 */
import { Tensor, type Graph } from '@tessera/core';
import { barChart, definePass, definePlugin, defineProcedure } from '@tessera/pipeline';
import { z } from 'zod';

export interface LayerStats {
  name: string;
  elements: number;
  std: number;
  maxAbs: number;
  /** max|w| / std: how far the largest weight sits in the tail. */
  peakToStd: number;
}

/** Per-weight statistics of the graph's float parameters of rank >= 2 (biases skipped). */
export function weightStats(graph: Graph): LayerStats[] {
  const out: LayerStats[] = [];
  for (const v of graph.parameters()) {
    const t = v.initializer!;
    if (t.rank < 2) continue;
    const w = t.toFloat64();
    let sum = 0;
    let sq = 0;
    let maxAbs = 0;
    for (const x of w) {
      sum += x;
      sq += x * x;
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }
    const mean = sum / w.length;
    const std = Math.sqrt(Math.max(0, sq / w.length - mean * mean));
    out.push({ name: v.name, elements: w.length, std, maxAbs, peakToStd: std > 0 ? maxAbs / std : 0 });
  }
  return out;
}

/** Clips every weight tensor (rank >= 2) to ±k·std of its own values; returns the fraction clipped. */
export function clipWeights(graph: Graph, k: number): number {
  let clipped = 0;
  let total = 0;
  const stats = new Map(weightStats(graph).map((s) => [s.name, s]));
  for (const v of graph.parameters()) {
    const s = stats.get(v.name);
    if (!s) continue;
    const limit = k * s.std;
    const w = v.initializer!.toFloat64();
    for (let i = 0; i < w.length; i++) {
      if (Math.abs(w[i]!) > limit) {
        w[i] = Math.sign(w[i]!) * limit;
        clipped++;
      }
    }
    total += w.length;
    graph.setInitializer(v.name, Tensor.from(w, v.initializer!.shape, v.initializer!.dtype));
  }
  return total ? clipped / total : 0;
}

export const clipWeightsPass = definePass({
  name: 'clip-weights',
  description: 'clips each weight tensor to ±k standard deviations (outlier clipping before quantisation)',
  options: z.object({ k: z.number().positive().default(3) }).strict(),
  searchSpace: { k: { kind: 'float', min: 2, max: 6 } },
  run(graph, { k }, ctx) {
    const fraction = clipWeights(graph, k);
    ctx.record({ k, clippedFraction: fraction });
    ctx.logger.info(`clipped ${(100 * fraction).toFixed(2)}% of the weights at ${k} std`);
    return graph;
  },
});

export const weightStatsProcedure = defineProcedure({
  name: 'weight-stats',
  description: 'per-layer weight statistics (std, max |w|, peak-to-std) with a bar chart',
  options: z.object({}).strict(),
  async run(_ctx, input) {
    if (!input.graph) throw new Error('weight-stats needs a graph');
    const stats = weightStats(input.graph);
    return {
      artefacts: { layers: stats.length, maxPeakToStd: Math.max(...stats.map((s) => s.peakToStd)), stats },
      plots: { 'peak-to-std': await barChart(stats.map((s) => ({ layer: s.name, peakToStd: s.peakToStd })), { x: 'layer', y: 'peakToStd', title: 'max |w| / std per layer', horizontal: true }) },
    };
  },
});

export default definePlugin({
  name: 'tessera-plugin-weight-clip',
  version: '1.0.0',
  api: '^0.1.0',
  description: 'outlier clipping of weights and per-layer weight statistics',
  passes: [clipWeightsPass],
  procedures: [weightStatsProcedure],
});
