import type { DType } from '../dtype.js';
import type { OpSchema } from '../registry.js';
import { sizeOf, Tensor } from '../tensor.js';
import { centered, matmul, matmulCost, matmulShapes } from './linalg.js';
import { conv2d, convCost } from './nn.js';
import { elementwiseCost, fromNums, normAxis, nums, toF64, typeOf } from './util.js';

const RANGE: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
};

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

function saturate(v: number, dtype: DType): number {
  const r = RANGE[dtype];
  if (!r) throw new Error(`quantized type ${dtype} is not supported; valid: ${Object.keys(RANGE).join(', ')}`);
  return v < r[0] ? r[0] : v > r[1] ? r[1] : v;
}

/** Per-element parameter lookup: a scalar, or a 1-D tensor along `axis` of `shape`. */
function perAxis(p: Float64Array, shape: readonly number[], axis: number): (i: number) => number {
  if (p.length === 1) { const v = p[0]!; return () => v; }
  const ax = normAxis(axis, shape.length);
  const inner = sizeOf(shape.slice(ax + 1));
  const dim = shape[ax]!;
  if (p.length !== dim) throw new Error(`per-axis parameter has ${p.length} elements, axis ${ax} has ${dim}`);
  return (i) => p[Math.floor(i / inner) % dim]!;
}

export function quantize(x: Float64Array | ArrayLike<number>, shape: readonly number[], scale: Tensor, zp: Tensor | undefined, axis: number): Tensor {
  const dtype: DType = zp?.dtype ?? 'uint8';
  const s = perAxis(toF64(scale), shape, axis);
  const z = zp ? perAxis(toF64(zp), shape, axis) : () => 0;
  const out = new Float64Array(x.length);
  // float32 scales divide in float32, as onnxruntime and the ONNX reference do (ties then round to even).
  const f32 = scale.dtype === 'float32';
  for (let i = 0; i < x.length; i++) {
    const q = f32 ? Math.fround(x[i]! / s(i)) : x[i]! / s(i);
    out[i] = saturate(roundHalfEven(q) + z(i), dtype);
  }
  return fromNums(dtype, shape, out);
}

const quantizeLinear: OpSchema = {
  op: 'QuantizeLinear',
  inputs: [{ name: 'x' }, { name: 'y_scale' }, { name: 'y_zero_point', optional: true }],
  outputs: [{ name: 'y' }],
  attrs: { axis: { type: 'int', default: 1 }, saturate: { type: 'int', default: 1 } },
  differentiable: false,
  infer: (ctx) => [ctx.inputs[0] ? typeOf(ctx.inputs[2]?.dtype ?? 'uint8', ctx.inputs[0].shape) : undefined],
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    return [quantize(nums(x), x.shape, inputs[1]!, inputs[2], node.int('axis', 1))];
  },
  cost: elementwiseCost(2),
};

const dequantizeLinear: OpSchema = {
  op: 'DequantizeLinear',
  inputs: [{ name: 'x' }, { name: 'x_scale' }, { name: 'x_zero_point', optional: true }],
  outputs: [{ name: 'y' }],
  attrs: { axis: { type: 'int', default: 1 } },
  differentiable: false,
  infer: (ctx) => [ctx.inputs[0] ? typeOf(ctx.inputs[1]?.dtype ?? 'float32', ctx.inputs[0].shape) : undefined],
  kernel: ({ node, inputs }) => {
    const [x, scale, zp] = inputs as [Tensor, Tensor, Tensor | undefined];
    const axis = node.int('axis', 1);
    const s = perAxis(toF64(scale), x.shape, axis);
    const z = zp ? perAxis(toF64(zp), x.shape, axis) : () => 0;
    const X = nums(x);
    const out = new Float64Array(x.size);
    for (let i = 0; i < x.size; i++) out[i] = (X[i]! - z(i)) * s(i);
    return [fromNums(scale.dtype, x.shape, out)];
  },
  cost: elementwiseCost(2),
};

const dynamicQuantizeLinear: OpSchema = {
  op: 'DynamicQuantizeLinear',
  inputs: [{ name: 'x' }],
  outputs: [{ name: 'y' }, { name: 'y_scale' }, { name: 'y_zero_point' }],
  differentiable: false,
  infer: (ctx) => [ctx.inputs[0] ? typeOf('uint8', ctx.inputs[0].shape) : undefined, { dtype: 'float32', shape: [] }, { dtype: 'uint8', shape: [] }],
  kernel: ({ inputs }) => {
    const x = inputs[0]!;
    const X = nums(x);
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < X.length; i++) { if (X[i]! < lo) lo = X[i]!; if (X[i]! > hi) hi = X[i]!; }
    const scale = Math.fround(Math.fround(hi - lo) / 255);
    const zp = scale === 0 ? 0 : saturate(roundHalfEven(Math.fround(0 - Math.fround(lo / scale))), 'uint8');
    const y = new Float64Array(X.length);
    for (let i = 0; i < X.length; i++) y[i] = scale === 0 ? zp : saturate(roundHalfEven(Math.fround(X[i]! / scale)) + zp, 'uint8');
    return [fromNums('uint8', x.shape, y), fromNums('float32', [], [scale]), fromNums('uint8', [], [zp])];
  },
  cost: elementwiseCost(3),
};

const qlinearMatMul: OpSchema = {
  op: 'QLinearMatMul',
  inputs: [
    { name: 'a' }, { name: 'a_scale' }, { name: 'a_zero_point' }, { name: 'b' }, { name: 'b_scale' }, { name: 'b_zero_point' },
    { name: 'y_scale' }, { name: 'y_zero_point' },
  ],
  outputs: [{ name: 'y' }],
  differentiable: false,
  infer: (ctx) => {
    const [a, , , b, , , , yz] = ctx.inputs;
    const d = yz?.dtype ?? 'uint8';
    if (!a?.shape || !b?.shape) return [{ dtype: d }];
    return [{ dtype: d, shape: matmulShapes(a.shape, b.shape) }];
  },
  kernel: ({ inputs }) => {
    const [a, as, az, b, bs, bz, ys, yz] = inputs as Tensor[];
    const A = new Tensor('float64', a!.shape, centered(a!, az, -2));
    const B = new Tensor('float64', b!.shape, centered(b!, bz, -1));
    const acc = matmul(A, B, 'float64');
    const N = acc.shape[acc.rank - 1]!;
    const M = acc.rank > 1 ? acc.shape[acc.rank - 2]! : 1;
    const sa = toF64(as!);
    const sb = toF64(bs!);
    const real = acc.data as Float64Array;
    for (let i = 0; i < real.length; i++) {
      const col = i % N;
      const row = Math.floor(i / N) % M;
      real[i] *= (sa.length === 1 ? sa[0]! : sa[row]!) * (sb.length === 1 ? sb[0]! : sb[col]!);
    }
    return [quantize(real, acc.shape, ys!, yz, 1)];
  },
  cost: matmulCost,
};

const convAttrs: OpSchema['attrs'] = {
  auto_pad: { type: 'string', default: 'NOTSET' }, dilations: { type: 'ints' }, group: { type: 'int', default: 1 },
  kernel_shape: { type: 'ints' }, pads: { type: 'ints' }, strides: { type: 'ints' },
};

function convInferAs(dtypeOf: (ctx: Parameters<OpSchema['infer']>[0]) => DType, xi: number, wi: number): OpSchema['infer'] {
  return (ctx) => {
    const x = ctx.inputs[xi];
    const w = ctx.inputs[wi];
    const d = dtypeOf(ctx);
    if (!x?.shape || !w?.shape) return [{ dtype: d }];
    const node = ctx.node;
    const r = x.shape.length - 2;
    const k = node.attrs.has('kernel_shape') ? node.ints('kernel_shape') : (w.shape.slice(2) as number[]);
    const strides = node.attrs.has('strides') ? node.ints('strides') : new Array<number>(r).fill(1);
    const dil = node.attrs.has('dilations') ? node.ints('dilations') : new Array<number>(r).fill(1);
    const pads = node.attrs.has('pads') ? node.ints('pads') : new Array<number>(2 * r).fill(0);
    const auto = node.attrs.has('auto_pad') ? node.string('auto_pad') : 'NOTSET';
    const sp = x.shape.slice(2).map((dim, i) => {
      if (typeof dim !== 'number' || typeof k[i] !== 'number') return null;
      if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') return Math.ceil(dim / strides[i]!);
      const p = auto === 'VALID' ? 0 : pads[i]! + pads[i + r]!;
      return Math.floor((dim + p - ((k[i]! - 1) * dil[i]! + 1)) / strides[i]!) + 1;
    });
    return [{ dtype: d, shape: [x.shape[0]!, w.shape[0]!, ...sp] }];
  };
}

const convInteger: OpSchema = {
  op: 'ConvInteger',
  inputs: [{ name: 'x' }, { name: 'w' }, { name: 'x_zero_point', optional: true }, { name: 'w_zero_point', optional: true }],
  outputs: [{ name: 'y' }],
  attrs: convAttrs,
  differentiable: false,
  infer: convInferAs(() => 'int32', 0, 1),
  kernel: ({ node, inputs }) => {
    const [x, w, xz, wz] = inputs;
    const X = new Tensor('float64', x!.shape, centered(x!, xz, 1));
    const W = new Tensor('float64', w!.shape, centered(w!, wz, 0));
    const y = conv2d(X, W, undefined, node);
    return [fromNums('int32', y.shape, y.data as Float64Array)];
  },
  cost: convCost,
};

const qlinearConv: OpSchema = {
  op: 'QLinearConv',
  inputs: [
    { name: 'x' }, { name: 'x_scale' }, { name: 'x_zero_point' }, { name: 'w' }, { name: 'w_scale' }, { name: 'w_zero_point' },
    { name: 'y_scale' }, { name: 'y_zero_point' }, { name: 'B', optional: true },
  ],
  outputs: [{ name: 'y' }],
  attrs: convAttrs,
  differentiable: false,
  infer: convInferAs((ctx) => ctx.inputs[7]?.dtype ?? 'uint8', 0, 3),
  kernel: ({ node, inputs }) => {
    const [x, xs, xz, w, ws, wz, ys, yz, b] = inputs;
    const X = new Tensor('float64', x!.shape, centered(x!, xz, 1));
    const W = new Tensor('float64', w!.shape, centered(w!, wz, 0));
    const B = b ? new Tensor('float64', b.shape, toF64(b)) : undefined;
    const acc = conv2d(X, W, B, node);
    const OC = acc.shape[1]!;
    const S = sizeOf(acc.shape.slice(2));
    const sx = toF64(xs!)[0]!;
    const sw = toF64(ws!);
    const real = acc.data as Float64Array;
    for (let i = 0; i < real.length; i++) real[i] *= sx * (sw.length === 1 ? sw[0]! : sw[Math.floor(i / S) % OC]!);
    return [quantize(real, acc.shape, ys!, yz, 1)];
  },
  cost: convCost,
};

export const quantOps: OpSchema[] = [quantizeLinear, dequantizeLinear, dynamicQuantizeLinear, qlinearMatMul, convInteger, qlinearConv];
