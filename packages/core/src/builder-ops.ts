import type { DType } from './dtype.js';
import { ONNX_DTYPE_CODE } from './dtype.js';
import type { Value } from './graph.js';
import { GraphBuilder, type OpOptions } from './builder.js';

/** Window attributes shared by Conv, ConvTranspose and the pools. */
export interface WindowAttrs {
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  autoPad?: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
}

export interface ConvAttrs extends WindowAttrs {
  group?: number;
  kernelShape?: number[];
}

export interface ConvTransposeAttrs extends ConvAttrs {
  outputPadding?: number[];
  outputShape?: number[];
}

export interface PoolAttrs extends WindowAttrs {
  ceilMode?: boolean;
  /** AveragePool only. */
  countIncludePad?: boolean;
}

export interface GemmAttrs {
  alpha?: number;
  beta?: number;
  transA?: boolean;
  transB?: boolean;
}

export interface RecurrentAttrs {
  hiddenSize: number;
  direction?: 'forward' | 'reverse' | 'bidirectional';
  layout?: 0 | 1;
  /** GRU only. */
  linearBeforeReset?: boolean;
}

declare module './builder.js' {
  interface GraphBuilder {
    add(a: Value, b: Value, opts?: OpOptions): Value;
    sub(a: Value, b: Value, opts?: OpOptions): Value;
    mul(a: Value, b: Value, opts?: OpOptions): Value;
    div(a: Value, b: Value, opts?: OpOptions): Value;
    pow(a: Value, b: Value, opts?: OpOptions): Value;
    max(xs: Value[], opts?: OpOptions): Value;
    min(xs: Value[], opts?: OpOptions): Value;
    equal(a: Value, b: Value, opts?: OpOptions): Value;
    less(a: Value, b: Value, opts?: OpOptions): Value;
    greater(a: Value, b: Value, opts?: OpOptions): Value;
    where(cond: Value, a: Value, b: Value, opts?: OpOptions): Value;
    neg(x: Value, opts?: OpOptions): Value;
    abs(x: Value, opts?: OpOptions): Value;
    exp(x: Value, opts?: OpOptions): Value;
    log(x: Value, opts?: OpOptions): Value;
    sqrt(x: Value, opts?: OpOptions): Value;
    reciprocal(x: Value, opts?: OpOptions): Value;
    erf(x: Value, opts?: OpOptions): Value;
    relu(x: Value, opts?: OpOptions): Value;
    leakyRelu(x: Value, alpha?: number, opts?: OpOptions): Value;
    sigmoid(x: Value, opts?: OpOptions): Value;
    tanh(x: Value, opts?: OpOptions): Value;
    gelu(x: Value, approximate?: 'none' | 'tanh', opts?: OpOptions): Value;
    clip(x: Value, min?: Value | null, max?: Value | null, opts?: OpOptions): Value;
    cast(x: Value, to: DType, opts?: OpOptions): Value;
    identity(x: Value, opts?: OpOptions): Value;
    matmul(a: Value, b: Value, opts?: OpOptions): Value;
    gemm(a: Value, b: Value, c?: Value | null, attrs?: GemmAttrs, opts?: OpOptions): Value;
    conv(x: Value, w: Value, b?: Value | null, attrs?: ConvAttrs, opts?: OpOptions): Value;
    convTranspose(x: Value, w: Value, b?: Value | null, attrs?: ConvTransposeAttrs, opts?: OpOptions): Value;
    maxPool(x: Value, kernelShape: number[], attrs?: PoolAttrs, opts?: OpOptions): Value;
    averagePool(x: Value, kernelShape: number[], attrs?: PoolAttrs, opts?: OpOptions): Value;
    globalAveragePool(x: Value, opts?: OpOptions): Value;
    globalMaxPool(x: Value, opts?: OpOptions): Value;
    batchNorm(x: Value, scale: Value, bias: Value, mean: Value, variance: Value, epsilon?: number, opts?: OpOptions): Value;
    layerNorm(x: Value, scale: Value, bias?: Value | null, attrs?: { axis?: number; epsilon?: number }, opts?: OpOptions): Value;
    softmax(x: Value, axis?: number, opts?: OpOptions): Value;
    logSoftmax(x: Value, axis?: number, opts?: OpOptions): Value;
    dropout(x: Value, ratio?: number, opts?: OpOptions): Value;
    reshape(x: Value, shape: number[] | Value, opts?: OpOptions): Value;
    flatten(x: Value, axis?: number, opts?: OpOptions): Value;
    transpose(x: Value, perm?: number[], opts?: OpOptions): Value;
    squeeze(x: Value, axes?: number[], opts?: OpOptions): Value;
    unsqueeze(x: Value, axes: number[], opts?: OpOptions): Value;
    concat(xs: Value[], axis: number, opts?: OpOptions): Value;
    split(x: Value, sizes: number[], axis?: number, opts?: OpOptions): Value[];
    slice(x: Value, starts: number[], ends: number[], axes?: number[], steps?: number[], opts?: OpOptions): Value;
    gather(x: Value, indices: Value, axis?: number, opts?: OpOptions): Value;
    expand(x: Value, shape: number[] | Value, opts?: OpOptions): Value;
    shapeOf(x: Value, opts?: OpOptions): Value;
    reduceMean(x: Value, axes?: number[], keepdims?: boolean, opts?: OpOptions): Value;
    reduceSum(x: Value, axes?: number[], keepdims?: boolean, opts?: OpOptions): Value;
    reduceMax(x: Value, axes?: number[], keepdims?: boolean, opts?: OpOptions): Value;
    argMax(x: Value, axis?: number, keepdims?: boolean, opts?: OpOptions): Value;
    lstm(x: Value, w: Value, r: Value, b: Value | null, attrs: RecurrentAttrs, initial?: { h?: Value; c?: Value }, opts?: OpOptions): Value[];
    gru(x: Value, w: Value, r: Value, b: Value | null, attrs: RecurrentAttrs, initialH?: Value, opts?: OpOptions): Value[];
  }
}

const P = GraphBuilder.prototype;

function windowAttrs(a: WindowAttrs = {}): Record<string, number[] | string | undefined> {
  return { strides: a.strides, pads: a.pads, dilations: a.dilations, auto_pad: a.autoPad };
}

/** Opset 13+ reductions other than ReduceSum still take axes as an attribute in opset 17 (our default). */
function reduce(b: GraphBuilder, op: string, x: Value, axes: number[] | undefined, keepdims: boolean, opts?: OpOptions): Value {
  if (op === 'ReduceSum') return b.op(op, axes ? [x, b.ints(axes, 'axes')] : [x], { keepdims: keepdims ? 1 : 0 }, opts);
  return b.op(op, [x], { axes, keepdims: keepdims ? 1 : 0 }, opts);
}

const binary = (op: string) => function (this: GraphBuilder, a: Value, b: Value, opts?: OpOptions) { return this.op(op, [a, b], {}, opts); };
const unary = (op: string) => function (this: GraphBuilder, x: Value, opts?: OpOptions) { return this.op(op, [x], {}, opts); };

P.add = binary('Add');
P.sub = binary('Sub');
P.mul = binary('Mul');
P.div = binary('Div');
P.pow = binary('Pow');
P.equal = binary('Equal');
P.less = binary('Less');
P.greater = binary('Greater');
P.matmul = binary('MatMul');
P.max = function (xs, opts) { return this.op('Max', xs, {}, opts); };
P.min = function (xs, opts) { return this.op('Min', xs, {}, opts); };
P.where = function (c, a, b, opts) { return this.op('Where', [c, a, b], {}, opts); };
P.neg = unary('Neg');
P.abs = unary('Abs');
P.exp = unary('Exp');
P.log = unary('Log');
P.sqrt = unary('Sqrt');
P.reciprocal = unary('Reciprocal');
P.erf = unary('Erf');
P.relu = unary('Relu');
P.sigmoid = unary('Sigmoid');
P.tanh = unary('Tanh');
P.identity = unary('Identity');
P.globalAveragePool = unary('GlobalAveragePool');
P.globalMaxPool = unary('GlobalMaxPool');
P.shapeOf = unary('Shape');
P.leakyRelu = function (x, alpha = 0.01, opts) { return this.op('LeakyRelu', [x], { alpha }, opts); };
P.gelu = function (x, approximate = 'none', opts) { return this.op('Gelu', [x], { approximate }, opts); };
P.clip = function (x, min = null, max = null, opts) { return this.op('Clip', [x, min, max], {}, opts); };
P.cast = function (x, to, opts) { return this.op('Cast', [x], { to: ONNX_DTYPE_CODE[to] }, opts); };
P.gemm = function (a, b, c = null, attrs = {}, opts) {
  return this.op('Gemm', c ? [a, b, c] : [a, b], {
    alpha: attrs.alpha, beta: attrs.beta, transA: attrs.transA ? 1 : undefined, transB: attrs.transB ? 1 : undefined,
  }, opts);
};
P.conv = function (x, w, b = null, attrs = {}, opts) {
  return this.op('Conv', b ? [x, w, b] : [x, w], { ...windowAttrs(attrs), group: attrs.group, kernel_shape: attrs.kernelShape }, opts);
};
P.convTranspose = function (x, w, b = null, attrs = {}, opts) {
  return this.op('ConvTranspose', b ? [x, w, b] : [x, w], {
    ...windowAttrs(attrs), group: attrs.group, kernel_shape: attrs.kernelShape, output_padding: attrs.outputPadding, output_shape: attrs.outputShape,
  }, opts);
};
P.maxPool = function (x, kernelShape, attrs = {}, opts) {
  return this.op('MaxPool', [x], { ...windowAttrs(attrs), kernel_shape: kernelShape, ceil_mode: attrs.ceilMode ? 1 : undefined }, opts);
};
P.averagePool = function (x, kernelShape, attrs = {}, opts) {
  return this.op('AveragePool', [x], {
    ...windowAttrs(attrs), kernel_shape: kernelShape, ceil_mode: attrs.ceilMode ? 1 : undefined, count_include_pad: attrs.countIncludePad ? 1 : undefined,
  }, opts);
};
P.batchNorm = function (x, scale, bias, mean, variance, epsilon, opts) {
  return this.op('BatchNormalization', [x, scale, bias, mean, variance], { epsilon }, opts);
};
P.layerNorm = function (x, scale, bias = null, attrs = {}, opts) {
  return this.op('LayerNormalization', bias ? [x, scale, bias] : [x, scale], { axis: attrs.axis, epsilon: attrs.epsilon }, opts);
};
P.softmax = function (x, axis = -1, opts) { return this.op('Softmax', [x], { axis }, opts); };
P.logSoftmax = function (x, axis = -1, opts) { return this.op('LogSoftmax', [x], { axis }, opts); };
P.dropout = function (x, ratio, opts) {
  return this.op('Dropout', ratio === undefined ? [x] : [x, this.constant(ratio, 'float32', 'ratio')], {}, opts);
};
P.reshape = function (x, shape, opts) { return this.op('Reshape', [x, Array.isArray(shape) ? this.ints(shape, 'shape') : shape], {}, opts); };
P.flatten = function (x, axis = 1, opts) { return this.op('Flatten', [x], { axis }, opts); };
P.transpose = function (x, perm, opts) { return this.op('Transpose', [x], { perm }, opts); };
P.squeeze = function (x, axes, opts) { return this.op('Squeeze', axes ? [x, this.ints(axes, 'axes')] : [x], {}, opts); };
P.unsqueeze = function (x, axes, opts) { return this.op('Unsqueeze', [x, this.ints(axes, 'axes')], {}, opts); };
P.concat = function (xs, axis, opts) { return this.op('Concat', xs, { axis }, opts); };
P.split = function (x, sizes, axis = 0, opts) {
  return this.opMulti('Split', [x, this.ints(sizes, 'split')], { axis }, { ...opts, outputs: sizes.length });
};
P.slice = function (x, starts, ends, axes, steps, opts) {
  const ins: (Value | null)[] = [x, this.ints(starts, 'starts'), this.ints(ends, 'ends')];
  if (axes || steps) ins.push(axes ? this.ints(axes, 'axes') : null);
  if (steps) ins.push(this.ints(steps, 'steps'));
  return this.op('Slice', ins, {}, opts);
};
P.gather = function (x, indices, axis = 0, opts) { return this.op('Gather', [x, indices], { axis }, opts); };
P.expand = function (x, shape, opts) { return this.op('Expand', [x, Array.isArray(shape) ? this.ints(shape, 'shape') : shape], {}, opts); };
P.reduceMean = function (x, axes, keepdims = true, opts) { return reduce(this, 'ReduceMean', x, axes, keepdims, opts); };
P.reduceSum = function (x, axes, keepdims = true, opts) { return reduce(this, 'ReduceSum', x, axes, keepdims, opts); };
P.reduceMax = function (x, axes, keepdims = true, opts) { return reduce(this, 'ReduceMax', x, axes, keepdims, opts); };
P.argMax = function (x, axis = 0, keepdims = true, opts) { return this.op('ArgMax', [x], { axis, keepdims: keepdims ? 1 : 0 }, opts); };

function recurrentAttrs(a: RecurrentAttrs): Record<string, number | string | undefined> {
  return {
    hidden_size: a.hiddenSize, direction: a.direction, layout: a.layout,
    linear_before_reset: a.linearBeforeReset ? 1 : undefined,
  };
}

P.lstm = function (x, w, r, b, attrs, initial = {}, opts) {
  const ins: (Value | null)[] = [x, w, r, b, null, initial.h ?? null, initial.c ?? null];
  while (ins.length > 3 && ins[ins.length - 1] === null) ins.pop();
  return this.opMulti('LSTM', ins, recurrentAttrs(attrs), { ...opts, outputs: 3 });
};
P.gru = function (x, w, r, b, attrs, initialH, opts) {
  const ins: (Value | null)[] = [x, w, r, b, null, initialH ?? null];
  while (ins.length > 3 && ins[ins.length - 1] === null) ins.pop();
  return this.opMulti('GRU', ins, recurrentAttrs(attrs), { ...opts, outputs: 2 });
};

