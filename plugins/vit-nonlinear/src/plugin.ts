import { definePass, definePlugin } from '@tessera/pipeline';
import { peanoOpSchemas } from './ops.js';
import { PeanoOptionsSchema } from './options.js';
import { peanoSwapInPlace } from './rewrite.js';

/** `peano-approximate`: swaps PEANO-ViT approximations into the graph (lowered to standard ops by default). */
export const peanoApproximatePass = definePass({
  name: 'peano-approximate',
  description: 'PEANO-ViT: division-free LayerNorm, Padé + multi-scale-reciprocal softmax, piecewise-linear GELU (matched by pattern, lowered to standard ops)',
  options: PeanoOptionsSchema,
  searchSpace: {},
  run(graph, options, ctx) {
    const r = peanoSwapInPlace(graph, options, { registry: ctx.registry });
    ctx.record({ swapped: r });
    ctx.logger.info(`swapped ${r.layerNorm} LayerNorm, ${r.softmax} softmax, ${r.gelu} GELU; lowered ${r.lowered} nodes to standard ops`);
    return graph;
  },
});

export default definePlugin({
  name: '@tessera/plugin-vit-nonlinear',
  version: '0.1.0',
  api: '^0.1.0',
  description: 'PEANO-ViT: division-free LayerNorm, Padé/multi-scale-reciprocal softmax and piecewise-linear GELU as ops, lowerings and a rewrite pass',
  passes: [peanoApproximatePass],
  ops: [...peanoOpSchemas],
});
