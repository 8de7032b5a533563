/**
 * Post-training uniform quantisation of weights (int8 / int4, per channel or per tensor); the numbers
 * are @tessera/compress's (`quantizeTensor`, @tessera/numerics' uniform int format). Two forms of them:
 * - 'qdq' (default): weights stored as int8 codes with a DequantizeLinear in front of their layer,
 *   standard ONNX that onnxruntime (node and web) runs and that shrinks the exported file;
 * - 'fake': weights stay float32 on the integer grid and carry the format (`int<b,sym>`), for
 *   targets and cost models that read formats.
 */
import { Tensor, type Graph } from '@tessera/core';
import { quantizeTensor, weightLayers } from '@tessera/compress';
import type { UniformIntFormat } from '@tessera/numerics';
import { z } from 'zod';
import { definePass } from '../plugin.js';

export interface QuantizedWeight {
  name: string;
  axis: number | null;
  formats: UniformIntFormat[];
  /** Max |w - q(w)| over the tensor. */
  maxError: number;
}

export interface QuantizeOptions {
  bits: number;
  perChannel: boolean;
  mode: 'qdq' | 'fake';
  skip?: readonly string[];
}

/**
 * Quantises every float32 weight of a Conv / MatMul / Gemm layer (@tessera/compress's
 * `weightLayers`; biases stay float) with compress's `quantizeTensor`. Mutates and returns `graph`.
 */
export function quantizeWeights(graph: Graph, o: QuantizeOptions): { graph: Graph; weights: QuantizedWeight[] } {
  const done: QuantizedWeight[] = [];
  for (const { weight: w, node: layer, channelAxis } of weightLayers(graph)) {
    const t = w.initializer!;
    if (t.dtype !== 'float32' || o.skip?.includes(w.name)) continue;
    const src = t.data instanceof Float32Array ? t.data : Float32Array.from(t.toFloat64());
    const axis = o.perChannel ? channelAxis : null;
    const { values, formats, maxError } = quantizeTensor(src, t.shape, axis, o.bits);
    done.push({ name: w.name, axis, formats, maxError });
    const formatRef = { id: formats[0]!.id, bits: o.bits };
    if (o.mode === 'fake') {
      graph.setInitializer(w.name, new Tensor('float32', t.shape, values));
      w.format = formatRef;
      continue;
    }
    // qdq: int8 codes + per-channel (or per-tensor) scale and zero point, dequantised in front of the layer.
    let inner = 1;
    if (axis !== null) for (let d = axis + 1; d < t.rank; d++) inner *= t.shape[d]!;
    const channels = axis === null ? 1 : t.shape[axis]!;
    const codes = new Int8Array(src.length);
    for (let i = 0; i < src.length; i++) codes[i] = formats[axis === null ? 0 : Math.floor(i / inner) % channels]!.code(src[i]!);
    const q = graph.addInitializer(graph.uniqueName(`${w.name}.q`), new Tensor('int8', t.shape, codes));
    if (o.bits < 8) q.format = formatRef;
    const scaleShape = axis === null ? [] : [channels];
    const scale = graph.addInitializer(graph.uniqueName(`${w.name}.scale`), new Tensor('float32', scaleShape, Float32Array.from(formats, (f) => f.scale)));
    const zp = graph.addInitializer(graph.uniqueName(`${w.name}.zero_point`), new Tensor('int8', scaleShape, new Int8Array(channels)));
    const dq = graph.addNode(
      { op: 'DequantizeLinear', name: `${w.name}.dequantize`, inputs: [q, scale, zp], attrs: axis === null ? {} : { axis: { kind: 'int', value: axis } }, outputs: [graph.uniqueName(`${w.name}.dq`)] },
      layer,
    );
    dq.output().type = { dtype: 'float32', shape: [...t.shape] };
    dq.meta.set('quantized', { bits: o.bits, perChannel: axis !== null });
    w.replaceAllUsesWith(dq.output());
    graph.removeInitializer(w.name);
  }
  return { graph, weights: done };
}

export const quantizeUniformPass = definePass({
  name: 'quantize-uniform',
  description: 'post-training symmetric uniform quantisation of Conv/MatMul/Gemm weights (int8 or int4, per output channel), as DequantizeLinear (qdq) or fake-quant',
  options: z
    .object({
      bits: z.number().int().min(2).max(8).default(8),
      perChannel: z.boolean().default(true),
      mode: z.enum(['qdq', 'fake']).default('qdq'),
      skip: z.array(z.string()).default([]),
    })
    .strict(),
  searchSpace: { bits: { kind: 'choice', values: [4, 6, 8] }, perChannel: { kind: 'choice', values: [true, false] } },
  run(graph, o, ctx) {
    const { weights } = quantizeWeights(graph, o);
    if (weights.length === 0) ctx.logger.warn('no Conv/MatMul/Gemm weights found to quantise');
    ctx.record({
      bits: o.bits,
      mode: o.mode,
      perChannel: o.perChannel,
      quantizedTensors: weights.length,
      format: weights[0]?.formats[0]?.id ?? null,
      maxAbsError: Math.max(0, ...weights.map((w) => w.maxError)),
    });
    return graph;
  },
});
