import { Tensor, type Graph } from '@tessera/core';
import { calibrateUniformInt, quantizePerChannel } from '@tessera/numerics';
import { selectLayers } from './layers.js';
import { parseOptions, QuantizeOptionsSchema, type QuantizeOptionsInput } from './options.js';

export interface QuantizedLayer {
  name: string;
  bits: number;
  /** Channel axis of the scales, or null for one scale per tensor. */
  axis: number | null;
  /** Step s of each channel (s = max|w_c| / (2^(b-1)-1)). */
  scales: number[];
  /** Max |w - q(w)| over the tensor (at most s/2 per channel: no weight is clipped). */
  maxError: number;
}

export interface QuantizeReport {
  bits: number;
  perChannel: boolean;
  /** Format id written to each quantized weight (`value.format`), e.g. 'int<4,sym>'. */
  format: string;
  layers: QuantizedLayer[];
}

/**
 * Post-training weight quantization, symmetric uniform (B1): q(w) = s·clamp(round(w/s), -n, n),
 * n = 2^(b-1)-1, s from max|w| per output channel (or per tensor), with @tessera/numerics'
 * uniform int format. Fake-quant: the weights stay float32 on the grid and carry the format, so
 * the graph runs anywhere and cost models can read the bits. Biases stay float. Mutates `graph`.
 */
export function quantizeWeights(graph: Graph, options: QuantizeOptionsInput): QuantizeReport {
  const o = parseOptions(QuantizeOptionsSchema, options, 'quantize-weights');
  const layers = selectLayers(graph, o.layers, 'quantize-weights');
  let format = '';
  const report = layers.map((l): QuantizedLayer => {
    const t = l.weight.initializer!;
    const src = Float32Array.from(t.toFloat64());
    const axis = o.perChannel ? l.channelAxis : null;
    const { values, formats } = axis === null
      ? (() => {
          const f = calibrateUniformInt(src, { bits: o.bits, symmetric: true });
          return { values: f.quantize(src, new Float32Array(src.length)), formats: [f] };
        })()
      : quantizePerChannel(src, t.shape, axis, { bits: o.bits, symmetric: true });
    let maxError = 0;
    for (let i = 0; i < src.length; i++) maxError = Math.max(maxError, Math.abs(src[i]! - values[i]!));
    graph.setInitializer(l.weight.name, new Tensor('float32', t.shape, values));
    format = formats[0]!.id;
    l.weight.format = { id: format, bits: o.bits };
    return { name: l.weight.name, bits: o.bits, axis, scales: formats.map((f) => f.scale), maxError };
  });
  return { bits: o.bits, perChannel: o.perChannel, format: format || `int<${o.bits},sym>`, layers: report };
}
