/**
 * Post-training uniform quantisation of weights (int8 / int4, per channel or per tensor) with
 * @tessera/numerics' uniform int format. Two forms of the same numbers:
 * - 'qdq' (default): weights stored as int8 codes with a DequantizeLinear in front of their layer,
 *   standard ONNX that onnxruntime (node and web) runs and that shrinks the exported file;
 * - 'fake': weights stay float32 on the integer grid and carry the format (`int<b,sym>`), for
 *   targets and cost models that read formats.
 */
import { Tensor, type Graph, type Node, type Value } from '@tessera/core';
import { calibrateUniformInt, quantizePerChannel, type UniformIntFormat } from '@tessera/numerics';
import { z } from 'zod';
import { definePass } from '../plugin.js';

const WEIGHT_INPUT: Record<string, number> = { Conv: 1, ConvTranspose: 1, MatMul: 1, Gemm: 1 };

/** The channel axis of a weight for its consumer: output channels (Conv: 0, MatMul [in,out]: last, Gemm: by transB). */
function channelAxis(w: Value, consumer: Node): number {
  const rank = w.initializer!.rank;
  switch (consumer.op) {
    case 'Conv': return 0;
    case 'ConvTranspose': return 1;
    case 'Gemm': return consumer.int('transB', 0) ? 0 : 1;
    default: return rank - 1;
  }
}

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

/** Quantises every weight feeding a Conv / MatMul / Gemm (biases stay float). Mutates and returns `graph`. */
export function quantizeWeights(graph: Graph, o: QuantizeOptions): { graph: Graph; weights: QuantizedWeight[] } {
  const done: QuantizedWeight[] = [];
  for (const w of [...graph.initializers.values()]) {
    const t = w.initializer!;
    if (t.dtype !== 'float32' || t.rank < 2 || o.skip?.includes(w.name)) continue;
    const consumers = w.consumers();
    const layer = consumers.find((n) => n.domain === '' && WEIGHT_INPUT[n.op] !== undefined && n.inputs[WEIGHT_INPUT[n.op]!] === w);
    if (!layer || consumers.length !== 1) continue;
    const src = t.data instanceof Float32Array ? t.data : Float32Array.from(t.toFloat64());
    const axis = o.perChannel ? channelAxis(w, layer) : null;
    const { values, formats } = axis === null
      ? (() => {
          const f = calibrateUniformInt(src, { bits: o.bits, symmetric: true });
          return { values: f.quantize(src, new Float32Array(src.length)), formats: [f] };
        })()
      : quantizePerChannel(src, t.shape, axis, { bits: o.bits, symmetric: true });
    let maxError = 0;
    for (let i = 0; i < src.length; i++) maxError = Math.max(maxError, Math.abs(src[i]! - values[i]!));
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
