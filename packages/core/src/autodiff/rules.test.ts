import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../builder.js';
import { Graph, type Value } from '../graph.js';
import { Rng } from '../rng.js';
import { Tensor } from '../tensor.js';
import { checkGradients } from './check.js';
import { grad } from './grad.js';
import { interpret } from '../interpreter.js';

// Finite-difference checks (float64, reference interpreter) of every gradient rule.

const rng = new Rng(7);

function rand(shape: number[], opts: { lo?: number; hi?: number; away?: number[] } = {}): Tensor {
  const lo = opts.lo ?? -1;
  const hi = opts.hi ?? 1;
  const t = Tensor.zeros('float64', shape);
  for (let i = 0; i < t.size; i++) {
    let v = lo + (hi - lo) * rng.uniform();
    // Keep clear of kinks (ReLU at 0, Clip bounds...) so central differences are valid.
    for (const k of opts.away ?? []) if (Math.abs(v - k) < 0.05) v = k + (v >= k ? 0.05 : -0.05);
    t.setFlat(i, v);
  }
  return t;
}

type Build = (b: GraphBuilder, x: Value) => Value | Value[];

function check(build: Build, x: Tensor, extra: Record<string, unknown> = {}): void {
  const b = new GraphBuilder(new Graph('check'));
  const xv = b.input('x', 'float64', [...x.shape]);
  const out = build(b, xv);
  for (const o of Array.isArray(out) ? out : [out]) b.output(o);
  const r = checkGradients(b.graph, { feeds: { x }, ...extra });
  expect(r.mismatches).toEqual([]);
  expect(r.checked).toBeGreaterThan(0);
}

const p = (b: GraphBuilder, name: string, t: Tensor) => b.param(name, t);
const i64 = (v: number[], shape = [v.length]) => Tensor.from(v, shape, 'int64');

describe('elementwise gradient rules', () => {
  const unary: [string, Record<string, unknown>, { lo?: number; hi?: number; away?: number[] }][] = [
    ['Neg', {}, {}], ['Abs', {}, { away: [0] }], ['Exp', {}, {}], ['Log', {}, { lo: 0.2, hi: 2 }], ['Sqrt', {}, { lo: 0.2, hi: 2 }],
    ['Reciprocal', {}, { lo: 0.3, hi: 2 }], ['Relu', {}, { away: [0] }], ['LeakyRelu', { alpha: 0.1 }, { away: [0] }],
    ['Elu', { alpha: 0.7 }, { away: [0] }], ['Selu', {}, { away: [0] }], ['Sigmoid', {}, {}], ['Tanh', {}, {}], ['Softplus', {}, {}],
    ['Softsign', {}, { away: [0] }], ['HardSigmoid', { alpha: 0.4, beta: 0.5 }, { lo: -3, hi: 3, away: [-1.25, 1.25] }],
    ['HardSwish', {}, { lo: -4, hi: 4, away: [-3, 3] }], ['Erf', {}, {}], ['Sin', {}, {}], ['Cos', {}, {}], ['Identity', {}, {}],
  ];
  for (const [op, attrs, range] of unary) {
    it(`${op}`, () => check((b, x) => b.op(op, [x], attrs as Record<string, number>), rand([2, 3], range)));
  }

  const binary = ['Add', 'Sub', 'Mul', 'Div'];
  for (const op of binary) {
    it(`${op} with broadcasting of both operands`, () => {
      check((b, x) => b.op(op, [x, p(b, 'w', rand([3, 1], { lo: 0.5, hi: 1.5 }))]), rand([2, 3, 4]));
      check((b, x) => b.op(op, [p(b, 'w', rand([4], { lo: 0.5, hi: 1.5 })), x]), rand([3, 4], { lo: 0.5, hi: 1.5 }));
    });
  }
  it('Pow (base and exponent)', () => check((b, x) => b.op('Pow', [x, p(b, 'e', rand([3], { lo: 0.5, hi: 2 }))]), rand([2, 3], { lo: 0.5, hi: 2 })));
  it('Max / Min / Sum / Mean (variadic, broadcasting)', () => {
    for (const op of ['Max', 'Min', 'Sum', 'Mean']) check((b, x) => b.op(op, [x, p(b, 'w', rand([3])), p(b, 'u', rand([2, 1]))]), rand([2, 3]));
  });
  it('Where', () => check((b, x) => b.op('Where', [b.op('Greater', [x, b.constant(0, 'float64')]), p(b, 'w', rand([3])), b.op('Mul', [x, x])]), rand([2, 3], { away: [0] })));
  it('PRelu', () => check((b, x) => b.op('PRelu', [x, p(b, 'slope', rand([3]))]), rand([2, 3], { away: [0] })));
  it('Clip with learnable bounds (PACT-style)', () => {
    check((b, x) => b.op('Clip', [x, p(b, 'lo', Tensor.scalar(-0.5, 'float64')), p(b, 'hi', Tensor.scalar(0.4, 'float64'))]), rand([3, 4], { away: [-0.5, 0.4] }));
  });
  it('Cast float64 -> float64 passes the gradient', () => check((b, x) => b.op('Cast', [x], { to: 11 }), rand([3])));
});

describe('linear algebra gradient rules', () => {
  it('MatMul 2-D, batched x 2-D and batched x batched with broadcasting', () => {
    check((b, x) => b.op('MatMul', [x, p(b, 'w', rand([3, 4]))]), rand([2, 3]));
    check((b, x) => b.op('MatMul', [x, p(b, 'w', rand([3, 4]))]), rand([2, 5, 3]));
    check((b, x) => b.op('MatMul', [x, p(b, 'w', rand([1, 2, 3, 4]))]), rand([2, 1, 5, 3]));
  });
  for (const [ta, tb] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
    it(`Gemm transA=${ta} transB=${tb} alpha beta, broadcast C`, () => {
      check((b, x) => b.op('Gemm', [x, p(b, 'w', rand(tb ? [4, 3] : [3, 4])), p(b, 'c', rand([4]))], { transA: ta, transB: tb, alpha: 0.7, beta: 1.3 }), rand(ta ? [3, 2] : [2, 3]));
    });
  }
});

describe('convolution and pooling gradient rules', () => {
  const x = () => rand([2, 2, 5, 5]);
  it('Conv: pads, bias', () => check((b, v) => b.op('Conv', [v, p(b, 'w', rand([3, 2, 3, 3])), p(b, 'bias', rand([3]))], { pads: [1, 1, 1, 1] }), x()));
  it('Conv: stride 2 with a leftover row (ConvTranspose output_padding, sliced dW)', () => check((b, v) => b.op('Conv', [v, p(b, 'w', rand([2, 2, 2, 2]))], { strides: [2, 2] }), rand([1, 2, 6, 6])));
  it('Conv: dilation 2 and asymmetric pads', () => check((b, v) => b.op('Conv', [v, p(b, 'w', rand([2, 2, 2, 2]))], { dilations: [2, 2], pads: [0, 1, 1, 0] }), x()));
  it('Conv: groups 2 and depthwise', () => {
    check((b, v) => b.op('Conv', [v, p(b, 'w', rand([4, 1, 3, 3]))], { group: 2, pads: [1, 1, 1, 1] }), x());
    check((b, v) => b.op('Conv', [v, p(b, 'w', rand([2, 1, 2, 2]))], { group: 2 }), x());
  });
  it('MaxPool 2x2/2 and overlapping 3x3/1 with pads (Indices + ScatterElements)', () => {
    check((b, v) => b.op('MaxPool', [v], { kernel_shape: [2, 2], strides: [2, 2] }), rand([2, 2, 4, 4]));
    check((b, v) => b.op('MaxPool', [v], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1] }), rand([1, 2, 4, 4]));
  });
  it('ReLU feeding MaxPool: mask applied at the pooled size, exact', () => {
    check((b, v) => b.op('MaxPool', [b.op('Relu', [v])], { kernel_shape: [2, 2], strides: [2, 2] }), rand([2, 2, 4, 4], { away: [0] }));
  });
  it('AveragePool with and without counted pads', () => {
    check((b, v) => b.op('AveragePool', [v], { kernel_shape: [2, 2], strides: [2, 2] }), rand([1, 2, 4, 4]));
    check((b, v) => b.op('AveragePool', [v], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 0 }), rand([1, 2, 5, 5]));
    check((b, v) => b.op('AveragePool', [v], { kernel_shape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], count_include_pad: 1 }), rand([1, 1, 4, 4]));
  });
  it('GlobalAveragePool and GlobalMaxPool', () => {
    check((b, v) => b.op('GlobalAveragePool', [v]), x());
    check((b, v) => b.op('GlobalMaxPool', [v]), x());
  });
});

describe('normalisation, softmax and loss gradient rules', () => {
  it('BatchNormalization in inference mode', () => {
    check((b, v) => b.op('BatchNormalization', [v, p(b, 'g', rand([2])), p(b, 'beta', rand([2])), b.constant(rand([2]), 'float64'), b.constant(rand([2], { lo: 0.5, hi: 1.5 }), 'float64')], { epsilon: 1e-5 }), rand([3, 2, 2, 2]), { wrt: ['x', 'g', 'beta'] });
  });
  it('BatchNormalization in training mode (batch statistics)', () => {
    check((b, v) => b.opMulti('BatchNormalization', [v, p(b, 'g', rand([2])), p(b, 'beta', rand([2])), b.constant(rand([2]), 'float64'), b.constant(rand([2], { lo: 0.5, hi: 1.5 }), 'float64')], { epsilon: 1e-5, training_mode: 1 }, { outputs: 3 })[0]!, rand([3, 2, 2, 2]), { wrt: ['x', 'g', 'beta'] });
  });
  it('LayerNormalization (last axis and last two axes)', () => {
    check((b, v) => b.op('LayerNormalization', [v, p(b, 'g', rand([4])), p(b, 'beta', rand([4]))], { axis: -1 }), rand([2, 3, 4]));
    check((b, v) => b.op('LayerNormalization', [v, p(b, 'g', rand([3, 4])), p(b, 'beta', rand([4]))], { axis: 1 }), rand([2, 3, 4]));
  });
  it('Softmax and LogSoftmax on inner and last axes', () => {
    check((b, v) => b.op('Softmax', [v], { axis: 1 }), rand([2, 3, 4]));
    check((b, v) => b.op('LogSoftmax', [v], { axis: -1 }), rand([2, 3, 4]));
  });
  it('SoftmaxCrossEntropyLoss: mean, sum, none, class weights, ignore_index, [N, C, T] scores', () => {
    const labels = (b: GraphBuilder, v: number[], shape?: number[]) => b.constant(i64(v, shape), 'int64', 'labels');
    check((b, v) => b.op('SoftmaxCrossEntropyLoss', [v, labels(b, [0, 2, 1, 2])], { reduction: 'mean' }), rand([4, 3]));
    check((b, v) => b.op('SoftmaxCrossEntropyLoss', [v, labels(b, [0, 2, 1, 2])], { reduction: 'sum' }), rand([4, 3]));
    check((b, v) => b.op('SoftmaxCrossEntropyLoss', [v, labels(b, [0, 2, 1, 2])], { reduction: 'none' }), rand([4, 3]));
    check((b, v) => b.op('SoftmaxCrossEntropyLoss', [v, labels(b, [0, 2, 1, 2]), b.constant(rand([3], { lo: 0.5, hi: 2 }), 'float64')], { reduction: 'mean', ignore_index: 1 }), rand([4, 3]), { wrt: ['x'] });
    check((b, v) => b.op('SoftmaxCrossEntropyLoss', [v, labels(b, [0, 2, 1, 2, 0, 1], [2, 3])], { reduction: 'mean' }), rand([2, 3, 3]));
  });
  it('NegativeLogLikelihoodLoss', () => {
    check((b, v) => b.op('NegativeLogLikelihoodLoss', [v, b.constant(i64([1, 0, 2]), 'int64', 'labels')], { reduction: 'mean' }), rand([3, 3]));
  });
});

describe('shape and data-movement gradient rules', () => {
  it('Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand', () => {
    check((b, v) => b.op('Reshape', [v, b.ints([3, -1])]), rand([2, 3, 2]));
    check((b, v) => b.op('Flatten', [v], { axis: 2 }), rand([2, 3, 2]));
    check((b, v) => b.op('Squeeze', [v, b.ints([1])]), rand([2, 1, 3]));
    check((b, v) => b.op('Unsqueeze', [v, b.ints([0, 3])]), rand([2, 3]));
    check((b, v) => b.op('Transpose', [v], { perm: [2, 0, 1] }), rand([2, 3, 4]));
    check((b, v) => b.op('Expand', [v, b.ints([2, 3, 4])]), rand([3, 1]));
  });
  it('Concat and Split', () => {
    check((b, v) => b.op('Concat', [v, p(b, 'w', rand([2, 1])), v], { axis: 1 }), rand([2, 3]));
    check((b, v) => b.opMulti('Split', [v, b.ints([1, 3])], { axis: 1 }, { outputs: 2 }), rand([2, 4]));
    check((b, v) => b.opMulti('Split', [v, b.ints([1, 3])], { axis: 1 }, { outputs: 2 })[1]!, rand([2, 4]));
  });
  it('Slice with steps 1 and 2, negative indices', () => {
    check((b, v) => b.op('Slice', [v, b.ints([1, 0]), b.ints([3, -1]), b.ints([0, 1])]), rand([4, 5]));
    check((b, v) => b.op('Slice', [v, b.ints([0, 4]), b.ints([4, 0]), b.ints([0, 1]), b.ints([2, -2])]), rand([4, 5]));
  });
  it('Gather on axis 0 with repeated indices, on axis 1 with a scalar index', () => {
    check((b, v) => b.op('Gather', [v, b.constant(i64([2, 0, 2, 1], [2, 2]), 'int64')], { axis: 0 }), rand([3, 4]));
    check((b, v) => b.op('Gather', [v, b.constant(Tensor.scalar(1, 'int64'), 'int64')], { axis: 1 }), rand([2, 3, 4]));
  });
  it('Pad (constant) and Tile', () => {
    check((b, v) => b.op('Pad', [v, b.ints([0, 1, 2, 0])], { mode: 'constant' }), rand([2, 3]));
    check((b, v) => b.op('Tile', [v, b.ints([2, 3])]), rand([2, 3]));
  });
});

describe('reduction gradient rules', () => {
  const cases: [string, { lo?: number; hi?: number }][] = [
    ['ReduceSum', {}], ['ReduceMean', {}], ['ReduceSumSquare', {}], ['ReduceL2', {}], ['ReduceL1', { lo: 0.1, hi: 1 }],
    ['ReduceLogSumExp', {}], ['ReduceMax', {}], ['ReduceMin', {}],
  ];
  for (const [op, range] of cases) {
    it(`${op} over some axes (keepdims 0 and 1) and over all`, () => {
      const reduce = (b: GraphBuilder, v: Value, axes: number[] | undefined, keepdims: number) => {
        const schema = b.registry.get(op)!;
        if (schema.inputs.some((i) => i.name === 'axes')) return b.op(op, axes ? [v, b.ints(axes)] : [v], { keepdims });
        return b.op(op, [v], { ...(axes ? { axes } : {}), keepdims });
      };
      check((b, v) => reduce(b, v, [1], 0), rand([2, 3, 4], range));
      check((b, v) => reduce(b, v, [0, 2], 1), rand([2, 3, 4], range));
      check((b, v) => reduce(b, v, undefined, 0), rand([2, 3], range));
    });
  }
});

describe('gradient rules of less common ops', () => {
  const unary: [string, Record<string, unknown>, { lo?: number; hi?: number; away?: number[] }][] = [
    ['Asin', {}, { lo: -0.8, hi: 0.8 }], ['Acos', {}, { lo: -0.8, hi: 0.8 }], ['Atan', {}, {}], ['Asinh', {}, {}],
    ['Acosh', {}, { lo: 1.2, hi: 3 }], ['Atanh', {}, { lo: -0.8, hi: 0.8 }], ['Sinh', {}, {}], ['Cosh', {}, {}], ['Tan', {}, {}],
    ['Celu', { alpha: 0.8 }, { away: [0] }], ['Mish', {}, {}], ['Shrink', { lambd: 0.3 }, { away: [-0.3, 0.3] }],
    ['ThresholdedRelu', { alpha: 0.2 }, { away: [0.2] }],
  ];
  for (const [op, attrs, range] of unary) {
    it(`${op}`, () => check((b, x) => b.op(op, [x], attrs as Record<string, number>), rand([2, 3], range)));
  }
  it('CastLike, ReduceLogSum, ReduceProd, CumSum (reverse, exclusive)', () => {
    check((b, x) => b.op('CastLike', [x, b.constant(0, 'float64')]), rand([3]));
    check((b, x) => b.op('ReduceLogSum', [x], { axes: [1], keepdims: 0 }), rand([2, 3], { lo: 0.2, hi: 1 }));
    check((b, x) => b.op('ReduceProd', [x], { axes: [0], keepdims: 1 }), rand([3, 2], { lo: 0.3, hi: 1.5 }));
    check((b, x) => b.op('CumSum', [x, b.constant(Tensor.scalar(1, 'int64'), 'int64')], { exclusive: 1, reverse: 1 }), rand([2, 4]));
  });
  it('DepthToSpace (DCR, CRD) and SpaceToDepth', () => {
    check((b, x) => b.op('DepthToSpace', [x], { blocksize: 2, mode: 'DCR' }), rand([1, 8, 2, 3]));
    check((b, x) => b.op('DepthToSpace', [x], { blocksize: 2, mode: 'CRD' }), rand([1, 8, 2, 3]));
    check((b, x) => b.op('SpaceToDepth', [x], { blocksize: 2 }), rand([1, 2, 4, 4]));
  });
  it('Trilu and ReverseSequence', () => {
    check((b, x) => b.op('Trilu', [x, b.constant(Tensor.scalar(1, 'int64'), 'int64')], { upper: 0 }), rand([3, 4]));
    check((b, x) => b.op('ReverseSequence', [x, b.constant(i64([2, 3]), 'int64')], { batch_axis: 1, time_axis: 0 }), rand([3, 2, 2]));
  });
  it('GatherElements, GatherND, ScatterElements, ScatterND, TopK, Compress', () => {
    check((b, x) => b.op('GatherElements', [x, b.constant(i64([0, 2, 2, 1, 0, 0], [2, 3]), 'int64')], { axis: 1 }), rand([2, 3]));
    check((b, x) => b.op('GatherND', [x, b.constant(i64([1, 0, 0, 2, 1, 0], [3, 2]), 'int64')]), rand([2, 3]));
    check((b, x) => b.op('ScatterElements', [x, b.constant(i64([1, 0], [1, 2]), 'int64'), p(b, 'u', rand([1, 2]))], { axis: 0 }), rand([2, 2]));
    check((b, x) => b.op('ScatterND', [x, b.constant(i64([1, 0], [2, 1]), 'int64'), p(b, 'u', rand([2, 3]))]), rand([3, 3]));
    check((b, x) => b.opMulti('TopK', [x, b.ints([2])], { axis: 1 }, { outputs: 2 })[0]!, rand([2, 4]), { wrt: ['x'] });
    check((b, x) => b.op('Compress', [x, b.constant(Tensor.from([1, 0, 1], [3], 'bool'), 'bool')], { axis: 1 }), rand([2, 3]));
  });
  it('ConvTranspose (stride 2, pads, bias)', () => {
    check((b, x) => b.op('ConvTranspose', [x, p(b, 'w', rand([2, 3, 3, 3])), p(b, 'bias', rand([3]))], { strides: [2, 2], pads: [1, 1, 1, 1] }), rand([1, 2, 3, 3]));
  });
  it('Einsum: matmul, batched contraction, an index summed inside one operand', () => {
    check((b, x) => b.op('Einsum', [x, p(b, 'w', rand([3, 4]))], { equation: 'ij,jk->ik' }), rand([2, 3]));
    check((b, x) => b.op('Einsum', [x, p(b, 'w', rand([2, 4, 3]))], { equation: 'bij,bkj->bik' }), rand([2, 2, 3]));
    check((b, x) => b.op('Einsum', [x, p(b, 'w', rand([3]))], { equation: 'ij,j->i' }), rand([2, 3]));
    check((b, x) => b.op('Einsum', [x], { equation: 'ij->i' }), rand([2, 3]));
  });
  it('InstanceNormalization, MeanVarianceNormalization, GlobalLpPool', () => {
    check((b, x) => b.op('InstanceNormalization', [x, p(b, 'g', rand([2])), p(b, 'beta', rand([2]))], { epsilon: 1e-5 }), rand([2, 2, 3, 3]));
    check((b, x) => b.op('MeanVarianceNormalization', [x], { axes: [0, 2, 3] }), rand([2, 2, 2, 2]));
    check((b, x) => b.op('GlobalLpPool', [x], { p: 2 }), rand([1, 2, 3, 3]));
    check((b, x) => b.op('GlobalLpPool', [x], { p: 3 }), rand([1, 2, 3, 3], { lo: 0.2, hi: 1 }));
  });
  it('Resize: nearest x2 and linear (half_pixel, align_corners) via constant interpolation matrices', () => {
    check((b, x) => b.op('Resize', [x, null, b.constant(Tensor.from([1, 1, 2, 2], [4], 'float32'), 'float32')], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }), rand([1, 2, 3, 3]));
    check((b, x) => b.op('Resize', [x, null, b.constant(Tensor.from([1, 1, 2, 2], [4], 'float32'), 'float32')], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' }), rand([1, 1, 3, 4]));
    check((b, x) => b.op('Resize', [x, null, null, b.constant(i64([1, 1, 5, 3]), 'int64')], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }), rand([1, 1, 3, 2]));
  });
});

describe('MaxPool first-maximum rule', () => {
  it('sends the gradient of a window with tied maxima to its first maximum only', () => {
    const b = new GraphBuilder(new Graph('tie'));
    const x = b.input('x', 'float64', [1, 1, 2, 4]);
    const loss = b.op('ReduceSum', [b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }), b.ints([0, 1, 2, 3])], { keepdims: 0 });
    const { grads } = grad(b.graph, loss, [x]);
    const out = interpret(b.graph, { x: Tensor.from([1, 1, 0, 2, 1, 1, 2, 2], [1, 1, 2, 4], 'float64') }, { fetches: [grads[0]!.name] });
    expect(Array.from(out[grads[0]!.name]!.toFloat64())).toEqual([1, 0, 0, 1, 0, 0, 0, 0]);
  });
});
