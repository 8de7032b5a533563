/**
 * @tessera/plugin-nas-fmas: FMAS: multi-objective supernet search by slicing a pretrained DeepLabV3+ (no fine-tuning during search)
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

export const nasFmasPass = definePass({
  name: 'nas-fmas-prune',
  description: 'magnitude pruning: zero the weights whose magnitude is below a threshold',
  options: z.object({ threshold: z.number().nonnegative().default(0.01) }).strict(),
  searchSpace: { threshold: { kind: 'float', min: 0.001, max: 0.1, log: true } },
  run(graph, { threshold }, ctx) {
    ctx.logger.info(`zeroed ${(100 * pruneSmallWeights(graph, threshold)).toFixed(1)}% of the weights`);
    return graph;
  },
});

export default definePlugin({
  name: '@tessera/plugin-nas-fmas',
  version: '0.1.0',
  api: '^0.1.0',
  description: "FMAS: multi-objective supernet search by slicing a pretrained DeepLabV3+ (no fine-tuning during search)",
  passes: [nasFmasPass],
});
