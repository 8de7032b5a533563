/**
 * The built-in steps of @tessera/compress: `prune-magnitude` and `quantize-weights` (the functions
 * and options live in @tessera/compress; these are their pipeline forms).
 */
import { pruneMagnitude, PruneOptionsSchema, quantizeWeights, QuantizeOptionsSchema } from '@tessera/compress';
import { definePass } from '../plugin.js';

/** `prune-magnitude` pipeline step: one-shot unstructured magnitude pruning. */
export const pruneMagnitudePass = definePass({
  name: 'prune-magnitude',
  description: 'one-shot unstructured magnitude pruning of Conv/MatMul/Gemm weights to a sparsity (global or per layer), no fine-tuning',
  options: PruneOptionsSchema.extend({ sparsity: PruneOptionsSchema.shape.sparsity.default(0.5) }),
  searchSpace: { sparsity: { kind: 'float', min: 0.1, max: 0.95 } },
  run(graph, o, ctx) {
    const r = pruneMagnitude(graph, o);
    ctx.record({ prune: { scope: r.scope, target: r.target, sparsity: r.sparsity, zeros: r.zeros, size: r.size, layers: r.layers } });
    return graph;
  },
});

/** `quantize-weights` pipeline step: symmetric uniform per-channel fake-quant weights at b bits. */
export const quantizeWeightsPass = definePass({
  name: 'quantize-weights',
  description: 'post-training symmetric uniform quantization of Conv/MatMul/Gemm weights at 2..16 bits (per output channel by default), as fake-quant float weights carrying the int format',
  options: QuantizeOptionsSchema.extend({ bits: QuantizeOptionsSchema.shape.bits.default(8) }),
  searchSpace: { bits: { kind: 'choice', values: [2, 3, 4, 8] } },
  run(graph, o, ctx) {
    const r = quantizeWeights(graph, o);
    ctx.record({ quantize: { bits: r.bits, perChannel: r.perChannel, format: r.format, layers: r.layers.map((l) => ({ name: l.name, maxError: l.maxError })) } });
    return graph;
  },
});
