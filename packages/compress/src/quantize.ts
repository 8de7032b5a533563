import { Tensor, type Graph } from '@tessera/core';
import { calibrateUniformInt, quantizePerChannel, type UniformIntFormat } from '@tessera/numerics';
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

export interface QuantizedTensor {
  /** q(w) as float32 on the grid (fake-quant values). */
  values: Float32Array;
  /** One format per channel along `axis`, or a single one for the whole tensor. */
  formats: UniformIntFormat[];
  /** Max |w - q(w)| over the tensor. */
  maxError: number;
}

/**
 * The numbers of symmetric uniform quantization (B1) for one tensor: q(w) = s·clamp(round(w/s), -n, n),
 * n = 2^(b-1)-1, s from max|w| per channel along `axis` (null: one scale for the tensor), with
 * @tessera/numerics' uniform int format. `formats[c].code(w)` gives the integer codes.
 */
export function quantizeTensor(src: Float32Array, shape: readonly number[], axis: number | null, bits: number): QuantizedTensor {
  const { values, formats } = axis === null
    ? (() => {
        const f = calibrateUniformInt(src, { bits, symmetric: true });
        return { values: f.quantize(src, new Float32Array(src.length)), formats: [f] };
      })()
    : quantizePerChannel(src, shape, axis, { bits, symmetric: true });
  let maxError = 0;
  for (let i = 0; i < src.length; i++) maxError = Math.max(maxError, Math.abs(src[i]! - values[i]!));
  return { values, formats, maxError };
}

/**
 * Post-training weight quantization, symmetric uniform (B1): `quantizeTensor` on every selected
 * layer weight, per output channel (or per tensor). Fake-quant: the weights stay float32 on the
 * grid and carry the format, so the graph runs anywhere and cost models can read the bits. Biases
 * stay float. Mutates `graph`.
 */
export function quantizeWeights(graph: Graph, options: QuantizeOptionsInput): QuantizeReport {
  const o = parseOptions(QuantizeOptionsSchema, options, 'quantize-weights');
  const layers = selectLayers(graph, o.layers, 'quantize-weights');
  let format = '';
  const report = layers.map((l): QuantizedLayer => {
    const t = l.weight.initializer!;
    const src = Float32Array.from(t.toFloat64());
    const axis = o.perChannel ? l.channelAxis : null;
    const { values, formats, maxError } = quantizeTensor(src, t.shape, axis, o.bits);
    graph.setInitializer(l.weight.name, new Tensor('float32', t.shape, values));
    format = formats[0]!.id;
    l.weight.format = { id: format, bits: o.bits };
    return { name: l.weight.name, bits: o.bits, axis, scales: formats.map((f) => f.scale), maxError };
  });
  return { bits: o.bits, perChannel: o.perChannel, format: format || `int<${o.bits},sym>`, layers: report };
}
