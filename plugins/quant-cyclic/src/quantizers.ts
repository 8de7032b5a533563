import { GraphBuilder, stopGradient, Tensor, type NumberFormatRef, type Value } from '@tessera/core';
import { uniformInt } from '@tessera/numerics';

/** The 1-bit (sign) format; @tessera/targets prices binary x binary MACs as XNOR-popcount. */
export const BINARY: NumberFormatRef = Object.freeze({ id: 'binary', bits: 1 });

/** Format of a b-bit weight or hidden activation: binary at 1 bit, symmetric uniform int above (B1). */
export function symmetricFormat(bits: number): NumberFormatRef {
  return bits === 1 ? BINARY : { id: `int<${bits},sym>`, bits };
}

/** Positive levels of a symmetric b-bit grid: n = 2^(b-1) - 1 (B1). */
export const levels = (bits: number): number => 2 ** (bits - 1) - 1;

function reduce(b: GraphBuilder, op: 'ReduceMean', x: Value, axes: number[], keepdims: boolean): Value {
  // Reductions take `axes` as an input from opset 18, as an attribute before.
  const opset = b.graph.opsets.find((o) => o.domain === '')?.version ?? 17;
  if (opset >= 18) return b.op(op, [x, b.ints(axes, 'q_axes')], { keepdims: keepdims ? 1 : 0 }, { name: 'q_reduce' });
  return b.op(op, [x], { axes, keepdims: keepdims ? 1 : 0 }, { name: 'q_reduce' });
}

export interface WeightQuantizerOptions {
  bits: number;
  /** Axis of the weight that indexes output channels (the scaled sign uses one scale per channel). */
  outAxis: number;
  /** b >= 2: clip = clipStd · std(w), step s = clip / n (B1, [R] default 2.5). */
  clipStd: number;
}

/**
 * Fake-quantised weight, in the graph so that the STE trains the latent float weight.
 * 1 bit: scaled sign a·sign(w), a = mean|w| per output channel; Sign's core rule is the clipped
 * identity 1[|w| <= 1]. b >= 2: s·clamp(round(w/s), -n, n) with s = clipStd·std(w)/n recomputed
 * every step from the current weights (no gradient into s); Round passes the gradient, Clip masks it.
 */
export function fakeQuantWeight(b: GraphBuilder, w: Value, opts: WeightQuantizerOptions): Value {
  const rank = w.shape!.length;
  if (opts.bits === 1) {
    const axes = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== opts.outAxis);
    const alpha = reduce(b, 'ReduceMean', b.op('Abs', [w], {}, { name: 'q_abs' }), axes, true);
    return b.op('Mul', [b.op('Sign', [w], {}, { name: 'q_sign' }), alpha], {}, { name: 'q_scaled_sign' });
  }
  const n = levels(opts.bits);
  const all = Array.from({ length: rank }, (_, i) => i);
  const centred = b.op('Sub', [w, reduce(b, 'ReduceMean', w, all, true)], {}, { name: 'q_centred' });
  const variance = reduce(b, 'ReduceMean', b.op('Mul', [centred, centred], {}, { name: 'q_sq' }), all, false);
  const step = stopGradient(b, b.op('Mul', [b.op('Sqrt', [variance], {}, { name: 'q_std' }), b.constant(opts.clipStd / n, 'float32', 'q_clip_per_level')], {}, { name: 'q_step' }));
  const codes = b.op('Clip', [
    b.op('Round', [b.op('Div', [w, step], {}, { name: 'q_scaled' })], {}, { name: 'q_round' }),
    b.constant(-n, 'float32', 'q_code_min'), b.constant(n, 'float32', 'q_code_max'),
  ], {}, { name: 'q_codes' });
  return b.op('Mul', [codes, step], {}, { name: 'q_uniform' });
}

/**
 * Folds a weight quantizer into integer codes and a scale, with the same arithmetic as
 * fakeQuantWeight: w ≈ codes · scale, codes in {-1, +1} (1 bit) or -n..n. The scale has one entry
 * per output channel ([out], 1 bit) or one in total (scalar, b >= 2).
 */
export function foldWeight(w: Tensor, opts: WeightQuantizerOptions): { codes: Tensor; scale: Tensor; format: NumberFormatRef } {
  const data = w.data as Float32Array;
  const shape = w.shape;
  const outDim = shape[opts.outAxis]!;
  const inner = shape.slice(opts.outAxis + 1).reduce((a, d) => a * d, 1);
  const channel = (i: number) => Math.floor(i / inner) % outDim;
  const codes = new Float32Array(data.length);
  if (opts.bits === 1) {
    const sums = new Float64Array(outDim);
    for (let i = 0; i < data.length; i++) sums[channel(i)]! += Math.abs(data[i]!);
    const per = data.length / outDim;
    const alpha = Float32Array.from(sums, (s) => s / per);
    // ONNX Sign maps an exact 0 to 0; the fold does the same so both graphs agree bit for bit.
    for (let i = 0; i < data.length; i++) codes[i] = Math.sign(data[i]!);
    const s = new Tensor('float32', [outDim], alpha);
    return { codes: new Tensor('float32', [...shape], codes), scale: s, format: BINARY };
  }
  const n = levels(opts.bits);
  let mean = 0;
  for (let i = 0; i < data.length; i++) mean += data[i]!;
  mean /= data.length;
  let sq = 0;
  for (let i = 0; i < data.length; i++) sq += (data[i]! - mean) ** 2;
  const step = Math.fround(Math.fround(Math.sqrt(sq / data.length)) * Math.fround(opts.clipStd / n));
  const fmt = uniformInt({ bits: opts.bits, symmetric: true, scale: step });
  const q = fmt.quantize(data, new Float64Array(data.length));
  for (let i = 0; i < data.length; i++) codes[i] = Math.round(q[i]! / step);
  return { codes: new Tensor('float32', [...shape], codes), scale: Tensor.scalar(step, 'float32'), format: { id: fmt.id, bits: fmt.bits } };
}

/** Dequantised weight values codes·scale (what `transfer: 'quantized'` hands to the accurate model). */
export function quantizedWeightValues(w: Tensor, opts: WeightQuantizerOptions): Tensor {
  const { codes, scale } = foldWeight(w, opts);
  const out = new Float32Array(codes.size);
  const c = codes.data as Float32Array;
  const s = scale.data as Float32Array;
  const inner = w.shape.slice(opts.outAxis + 1).reduce((a, d) => a * d, 1);
  const outDim = w.shape[opts.outAxis]!;
  for (let i = 0; i < out.length; i++) out[i] = c[i]! * (s.length === 1 ? s[0]! : s[Math.floor(i / inner) % outDim]!);
  return new Tensor('float32', [...w.shape], out);
}

/** s·clamp(round(x/s), lo, hi) with a fixed step, as Mul/Round/Clip/Mul (every op costed by the targets). */
function fixedGrid(b: GraphBuilder, x: Value, step: number, lo: number, hi: number): Value {
  const codes = b.op('Clip', [
    b.op('Round', [b.op('Mul', [x, b.constant(1 / step, 'float32', 'q_inv_step')], {}, { name: 'q_scaled' })], {}, { name: 'q_round' }),
    b.constant(lo, 'float32', 'q_code_min'), b.constant(hi, 'float32', 'q_code_max'),
  ], {}, { name: 'q_codes' });
  return b.op('Mul', [codes, b.constant(step, 'float32', 'q_step')], {}, { name: 'q_uniform' });
}

/**
 * Quantizer of a hidden activation bounded in [-1, 1] (Tanh or Clip(-1, 1) output).
 * 1 bit: Sign (core rule: clipped identity 1[|x| <= 1]); b >= 2: the symmetric uniform grid
 * s·clamp(round(x/s), -n, n), s = 1/n (Round passes the gradient, Clip masks it).
 */
export function fakeQuantActivation(b: GraphBuilder, x: Value, bits: number): Value {
  const n = levels(bits);
  const y = bits === 1 ? b.op('Sign', [x], {}, { name: 'q_act_sign' }) : fixedGrid(b, x, 1 / n, -n, n);
  y.format = symmetricFormat(bits);
  return y;
}

/** Unsigned b-bit grid of [0, 1] inputs (pixels), step 1/(2^b - 1). */
export function fakeQuantInput(b: GraphBuilder, x: Value, bits: number): Value {
  const top = 2 ** bits - 1;
  const y = fixedGrid(b, x, 1 / top, 0, top);
  y.format = { id: `int<${bits},asym>`, bits };
  return y;
}
