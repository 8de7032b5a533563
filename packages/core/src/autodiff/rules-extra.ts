import type { GraphBuilder } from '../builder.js';
import { constantOf } from '../builder.js';
import { Graph, type Node, type Value } from '../graph.js';
import { interpret } from '../interpreter.js';
import type { GradientRule } from '../registry.js';
import { Tensor } from '../tensor.js';
import {
  dtypeOf, normAxis, rank, reduceAxes, reduceMean, reduceSum, requireStatic, reshape, scalar,
  shapeValue, transpose, unsqueeze, zerosOf,
} from './rules-util.js';
import { elementwiseRules } from './rules-elementwise.js';

// Gradient rules of the less common ops: inverse trigonometric and hyperbolic functions, more
// activations and reductions, index ops (GatherElements/ND, Scatter*, TopK, Compress),
// rearrangements (DepthToSpace, Trilu, ReverseSequence, CumSum), ConvTranspose, Einsum, instance
// and mean-variance normalisation, and Resize (as two constant interpolation matrices).

const mul = (b: GraphBuilder, x: Value, y: Value) => b.op('Mul', [x, y]);
const sub = (b: GraphBuilder, x: Value, y: Value) => b.op('Sub', [x, y]);
const div = (b: GraphBuilder, x: Value, y: Value) => b.op('Div', [x, y]);

function unary(f: (b: GraphBuilder, dy: Value, x: Value, y: Value, n: Node) => Value): GradientRule {
  return ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    return [dy ? f(b, dy, node.inputs[0]!, node.outputs[0]!, node) : null, ...node.inputs.slice(1).map(() => null)];
  };
}

const sqrtOf = (b: GraphBuilder, v: Value) => b.op('Sqrt', [v]);
const oneMinusSq = (b: GraphBuilder, x: Value) => sub(b, scalar(b, 1, x), mul(b, x, x));

/** Rows `idx` of a const boolean condition (Compress). */
function trueIndices(t: Tensor): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.size; i++) if (t.getFlat(i)) out.push(i);
  return out;
}

/** The interpolation matrix M [n, m] of a Resize along one axis: y = Mᵀ·x, from the interpreter on basis vectors. */
function resizeMatrix(node: Node, axis: number, n: number, m: number, dtype: Tensor['dtype'], r: number): Tensor {
  const g = new Graph('resize_axis');
  const shape = new Array<number>(r).fill(1);
  shape[0] = n;
  shape[axis] = n;
  const x = g.addInput('x', { dtype, shape });
  const basis = Tensor.zeros(dtype, shape);
  const stride = shape.slice(axis + 1).reduce((a, c) => a * c, 1);
  const perRow = shape.slice(1).reduce((a, c) => a * c, 1);
  for (let i = 0; i < n; i++) basis.setFlat(i * perRow + i * stride, 1);
  const scalesIn = constantOf(node.inputs[2]);
  const sizesIn = constantOf(node.inputs[3]);
  const scales = new Array<number>(r).fill(1);
  const sizes = [...shape];
  sizes[axis] = m;
  if (scalesIn && scalesIn.size > 0) scales[axis] = scalesIn.getFlat(axis);
  const attrs = Object.fromEntries(node.attrs);
  const inputs: (Value | null)[] = [x, null, null, null];
  if (scalesIn && scalesIn.size > 0) inputs[2] = g.addInitializer('scales', Tensor.from(scales, [r], 'float32'));
  else inputs[3] = g.addInitializer('sizes', Tensor.from(sizes, [r], 'int64'));
  const rn = g.addNode({ op: 'Resize', inputs, attrs, outputs: ['y'] });
  g.addOutput(rn.output(0));
  const y = interpret(g, { x: basis }).y!;
  const out = Tensor.zeros(dtype, [n, m]);
  const ostride = y.shape.slice(axis + 1).reduce((a, c) => a * c, 1);
  const operRow = y.shape.slice(1).reduce((a, c) => a * c, 1);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out.setFlat(i * m + j, y.getFlat(i * operRow + j * ostride));
  return out;
}

function einsumParts(eq: string, n: number): { ins: string[]; out: string } {
  const [lhs, rhs] = eq.replace(/\s+/g, '').split('->');
  const ins = lhs!.split(',');
  if (ins.length !== n || rhs === undefined || eq.includes('.')) throw new Error(`Einsum '${eq}': only explicit '->' equations without ellipsis have a gradient rule`);
  return { ins, out: rhs };
}

export const extraRules: Record<string, GradientRule> = {
  Asin: unary((b, dy, x) => div(b, dy, sqrtOf(b, oneMinusSq(b, x)))),
  Acos: unary((b, dy, x) => b.op('Neg', [div(b, dy, sqrtOf(b, oneMinusSq(b, x)))])),
  Atan: unary((b, dy, x) => div(b, dy, b.op('Add', [scalar(b, 1, x), mul(b, x, x)]))),
  Asinh: unary((b, dy, x) => div(b, dy, sqrtOf(b, b.op('Add', [mul(b, x, x), scalar(b, 1, x)])))),
  Acosh: unary((b, dy, x) => div(b, dy, sqrtOf(b, sub(b, mul(b, x, x), scalar(b, 1, x))))),
  Atanh: unary((b, dy, x) => div(b, dy, oneMinusSq(b, x))),
  Sinh: unary((b, dy, x) => mul(b, dy, b.op('Cosh', [x]))),
  Cosh: unary((b, dy, x) => mul(b, dy, b.op('Sinh', [x]))),
  Tan: unary((b, dy, _x, y) => mul(b, dy, b.op('Add', [scalar(b, 1, y), mul(b, y, y)]))),
  CastLike: ({ b, node, outputGrads }) => [elementwiseRules.Cast!({ b, node, outputGrads, needsGrad: [true] })[0] ?? null, null],
  Celu: unary((b, dy, x, _y, n) => {
    const alpha = n.float('alpha', 1);
    return b.op('Where', [b.op('Greater', [x, scalar(b, 0, x)]), dy, mul(b, dy, b.op('Exp', [div(b, x, scalar(b, alpha, x))]))]);
  }),
  Mish: unary((b, dy, x) => {
    // y = x·tanh(softplus(x)): dy/dx = tanh(sp) + x·σ(x)·(1 − tanh²(sp))
    const t = b.op('Tanh', [b.op('Softplus', [x])]);
    return mul(b, dy, b.op('Add', [t, mul(b, mul(b, x, b.op('Sigmoid', [x])), oneMinusSq(b, t))]));
  }),
  Shrink: unary((b, dy, x, _y, n) => b.op('Where', [b.op('Greater', [b.op('Abs', [x]), scalar(b, n.float('lambd', 0.5), x)]), dy, scalar(b, 0, dy)])),
  ThresholdedRelu: unary((b, dy, x, _y, n) => b.op('Where', [b.op('Greater', [x, scalar(b, n.float('alpha', 1), x)]), dy, scalar(b, 0, dy)])),
  ReduceLogSum: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    const nulls = node.inputs.slice(1).map(() => null);
    if (!dy) return [null, ...nulls];
    const axes = reduceAxes(node);
    const keep = (v: Value) => (node.int('keepdims', 1) === 1 ? v : unsqueeze(b, v, axes));
    const x = node.inputs[0]!;
    return [b.op('Expand', [div(b, keep(dy), b.op('Exp', [keep(node.outputs[0]!)])), shapeValue(b, x)]), ...nulls];
  },
  ReduceProd: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    const nulls = node.inputs.slice(1).map(() => null);
    if (!dy) return [null, ...nulls];
    const axes = reduceAxes(node);
    const keep = (v: Value) => (node.int('keepdims', 1) === 1 ? v : unsqueeze(b, v, axes));
    // d prod / dx_i = prod / x_i (inputs with zeros are not supported by this rule).
    return [mul(b, keep(dy), div(b, keep(node.outputs[0]!), node.inputs[0]!)), ...nulls];
  },
  CumSum: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    return [b.op('CumSum', [dy, node.inputs[1]!], { exclusive: node.int('exclusive', 0), reverse: node.int('reverse', 0) ? 0 : 1 }), null];
  },
  DepthToSpace: unary((b, dy, x, _y, n) => {
    const bs = n.int('blocksize');
    if (n.string('mode', 'DCR') === 'DCR') return b.op('SpaceToDepth', [dy], { blocksize: bs });
    const [N, C, H, W] = requireStatic(x, 'the gradient of DepthToSpace');
    // CRD: y = reshape(transpose(reshape(x, [N, C/b², b, b, H, W]), [0, 1, 4, 2, 5, 3]), ...)
    const r6 = reshape(b, dy, [N!, C! / (bs * bs), H!, bs, W!, bs]);
    return reshape(b, transpose(b, r6, [0, 1, 3, 5, 2, 4]), [N!, C!, H!, W!]);
  }),
  SpaceToDepth: unary((b, dy, _x, _y, n) => b.op('DepthToSpace', [dy], { blocksize: n.int('blocksize'), mode: 'DCR' })),
  Trilu: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    return [b.op('Trilu', node.inputs[1] ? [dy, node.inputs[1]] : [dy], { upper: node.int('upper', 1) }), null];
  },
  ReverseSequence: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    return [b.op('ReverseSequence', [dy, node.inputs[1]!], { batch_axis: node.int('batch_axis', 1), time_axis: node.int('time_axis', 0) }), null];
  },
  GatherElements: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const x = node.inputs[0]!;
    return [b.op('ScatterElements', [zerosOf(b, shapeValue(b, x), dtypeOf(dy)), node.inputs[1]!, dy], { axis: node.int('axis', 0), reduction: 'add' }), null];
  },
  GatherND: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    if (node.int('batch_dims', 0) !== 0) throw new Error('GatherND with batch_dims > 0 has no gradient rule');
    const x = node.inputs[0]!;
    return [b.op('ScatterND', [zerosOf(b, shapeValue(b, x), dtypeOf(dy)), node.inputs[1]!, dy], { reduction: 'add' }), null];
  },
  ScatterElements: scatterElements,
  Scatter: scatterElements,
  ScatterND: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null, null];
    if (node.string('reduction', 'none') !== 'none') throw new Error('ScatterND with a reduction has no gradient rule');
    const [, idx, upd] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2]!];
    const dData = needsGrad[0] ? b.op('ScatterND', [dy, idx, zerosOf(b, shapeValue(b, upd), dtypeOf(dy))]) : null;
    const dUpd = needsGrad[2] ? b.op('GatherND', [dy, idx]) : null;
    return [dData, null, dUpd];
  },
  TopK: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const x = node.inputs[0]!;
    const axis = normAxis(node.int('axis', -1), rank(x));
    return [b.op('ScatterElements', [zerosOf(b, shapeValue(b, x), dtypeOf(dy)), node.outputs[1]!, dy], { axis, reduction: 'add' }), null];
  },
  Compress: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const cond = constantOf(node.inputs[1]);
    if (!cond) throw new Error('Compress needs a constant condition for its gradient');
    const x = node.inputs[0]!;
    const shape = requireStatic(x, 'the gradient of Compress');
    const idx = trueIndices(cond);
    if (!node.attrs.has('axis')) {
      const flat = b.op('ScatterND', [zerosOf(b, [shape.reduce((a, c) => a * c, 1)], dtypeOf(dy)), b.constant(Tensor.from(idx, [idx.length, 1], 'int64'), 'int64', 'compress_idx'), dy]);
      return [reshape(b, flat, shape), null];
    }
    const axis = normAxis(node.int('axis'), shape.length);
    const perm = [axis, ...shape.map((_, i) => i).filter((i) => i !== axis)];
    const zs = perm.map((p) => shape[p]!);
    const sc = b.op('ScatterND', [zerosOf(b, zs, dtypeOf(dy)), b.constant(Tensor.from(idx, [idx.length, 1], 'int64'), 'int64', 'compress_idx'), transpose(b, dy, perm)]);
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [transpose(b, sc, inv), null];
  },
  ConvTranspose: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null, null];
    const [x, w, bias] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2] ?? null];
    const xs = requireStatic(x, 'the gradient of ConvTranspose');
    const ws = requireStatic(w, 'the gradient of ConvTranspose');
    const s = xs.length - 2;
    const kernel = ws.slice(2);
    const strides = node.ints('strides', new Array(s).fill(1));
    const dil = node.ints('dilations', new Array(s).fill(1));
    const group = node.int('group', 1);
    if (node.string('auto_pad', 'NOTSET') !== 'NOTSET' || node.attrs.has('output_shape')) throw new Error('ConvTranspose with auto_pad or output_shape has no gradient rule; give explicit pads');
    const pads = node.ints('pads', new Array(2 * s).fill(0));
    // dX = Conv(dY, W) with the same geometry; dW = Conv(dYᵀ, Xᵀ) with strides and dilations exchanged.
    const dx = needsGrad[0] ? b.op('Conv', [dy, w], { strides, pads, dilations: dil, group, kernel_shape: kernel }) : null;
    let dw: Value | null = null;
    if (needsGrad[1]) {
      if (group !== 1) throw new Error('grouped ConvTranspose has no weight-gradient rule');
      const perm = [1, 0, ...Array.from({ length: s }, (_, i) => i + 2)];
      let c = b.op('Conv', [transpose(b, dy, perm), transpose(b, x, perm)], { strides: dil, dilations: strides, pads });
      const cs = requireStatic(c, 'the gradient of ConvTranspose').slice(2);
      if (cs.some((d, i) => d !== kernel[i])) {
        c = b.op('Slice', [c, b.ints(kernel.map(() => 0), 'starts'), b.ints(kernel, 'ends'), b.ints(kernel.map((_, i) => i + 2), 'axes')]);
      }
      dw = transpose(b, c, perm);
    }
    const db = bias && needsGrad[2] ? reduceSum(b, dy, [0, ...Array.from({ length: s }, (_, i) => i + 2)], false) : null;
    return [dx, dw, db];
  },
  Einsum: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return node.inputs.map(() => null);
    const eq = node.string('equation');
    const { ins, out } = einsumParts(eq, node.inputs.length);
    return node.inputs.map((x, k) => {
      if (!x || !needsGrad[k]) return null;
      const target = ins[k]!;
      if (new Set(target).size !== target.length) throw new Error(`Einsum '${eq}': operand ${k} repeats an index (a diagonal), which has no gradient rule`);
      const others = ins.filter((_, j) => j !== k);
      const avail = new Set([...out, ...others.join('')]);
      const missing = [...target].filter((c) => !avail.has(c));
      const srcs = [dy, ...node.inputs.filter((_, j) => j !== k) as Value[]];
      const kept = [...target].filter((c) => avail.has(c)).join('');
      let g = b.op('Einsum', srcs, { equation: `${[out, ...others].join(',')}->${kept}` });
      if (missing.length) {
        // Indices summed away inside operand k: broadcast the gradient back over them.
        const axes = [...target].map((c, i) => (missing.includes(c) ? i : -1)).filter((i) => i >= 0);
        g = b.op('Expand', [unsqueeze(b, g, axes), shapeValue(b, x)]);
      }
      return g;
    });
  },
  InstanceNormalization: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null, null];
    const [x, scale] = [node.inputs[0]!, node.inputs[1]!];
    const r = rank(x);
    const axes = Array.from({ length: r - 2 }, (_, i) => i + 2);
    const chan = (v: Value) => unsqueeze(b, v, Array.from({ length: r - 2 }, (_, i) => i + 1));
    const mean = reduceMean(b, x, axes, true);
    const xc = sub(b, x, mean);
    const invstd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [reduceMean(b, mul(b, xc, xc), axes, true), scalar(b, node.float('epsilon', 1e-5), x)])])]);
    const xhat = mul(b, xc, invstd);
    let dx: Value | null = null;
    if (needsGrad[0]) {
      const g = mul(b, dy, chan(scale));
      dx = mul(b, invstd, sub(b, sub(b, g, reduceMean(b, g, axes, true)), mul(b, xhat, reduceMean(b, mul(b, g, xhat), axes, true))));
    }
    const all = [0, ...axes];
    return [dx, needsGrad[1] ? reduceSum(b, mul(b, dy, xhat), all, false) : null, needsGrad[2] ? reduceSum(b, dy, all, false) : null];
  },
  MeanVarianceNormalization: unary((b, dy, x, _y, n) => {
    const axes = n.ints('axes', [0, 2, 3]).map((a) => normAxis(a, rank(x)));
    const mean = reduceMean(b, x, axes, true);
    const xc = sub(b, x, mean);
    // ONNX MVN: (x − mean) / sqrt(var), no epsilon (reference: onnx/defs/nn/defs.cc function body).
    const invstd = b.op('Reciprocal', [b.op('Sqrt', [reduceMean(b, mul(b, xc, xc), axes, true)])]);
    const xhat = mul(b, xc, invstd);
    return mul(b, invstd, sub(b, sub(b, dy, reduceMean(b, dy, axes, true)), mul(b, xhat, reduceMean(b, mul(b, dy, xhat), axes, true))));
  }),
  GlobalLpPool: unary((b, dy, x, y, n) => {
    const p = n.int('p', 2);
    // y = (Σ|x|^p)^(1/p): dy/dx = sign(x)|x|^(p−1) / y^(p−1)
    const ax = b.op('Abs', [x]);
    const num = mul(b, b.op('Sign', [x]), p === 2 ? ax : b.op('Pow', [ax, scalar(b, p - 1, x)]));
    const den = p === 2 ? y : b.op('Pow', [y, scalar(b, p - 1, y)]);
    return mul(b, div(b, num, den), dy);
  }),
  Resize: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    const nulls = node.inputs.slice(1).map(() => null);
    if (!dy) return [null, ...nulls];
    const x = node.inputs[0]!;
    const xs = requireStatic(x, 'the gradient of Resize');
    const ys = requireStatic(node.outputs[0]!, 'the gradient of Resize');
    if (xs.length !== 4 || xs[0] !== ys[0] || xs[1] !== ys[1]) throw new Error('Resize gradients cover [N, C, H, W] inputs resized on H and W only');
    if (node.string('coordinate_transformation_mode', 'half_pixel') === 'tf_crop_and_resize') throw new Error("Resize with 'tf_crop_and_resize' has no gradient rule");
    // Resize is separable and linear: Y = Mhᵀ·X·Mw, so dX = Mh·dY·Mwᵀ with constant matrices.
    const dt = dtypeOf(x);
    const mh = resizeMatrix(node, 2, xs[2]!, ys[2]!, dt, 4);
    const mw = resizeMatrix(node, 3, xs[3]!, ys[3]!, dt, 4);
    const mwT = Tensor.zeros(dt, [ys[3]!, xs[3]!]);
    for (let i = 0; i < xs[3]!; i++) for (let j = 0; j < ys[3]!; j++) mwT.setFlat(j * xs[3]! + i, mw.getFlat(i * ys[3]! + j));
    const t = b.op('MatMul', [dy, b.constant(mwT, dt, 'resize_w')]);
    return [b.op('MatMul', [b.constant(mh, dt, 'resize_h'), t]), ...nulls];
  },
};

function scatterElements({ b, node, outputGrads, needsGrad }: Parameters<GradientRule>[0]): (Value | null)[] {
  const dy = outputGrads[0];
  if (!dy) return [null, null, null];
  if (node.string('reduction', 'none') !== 'none') throw new Error(`${node.op} with a reduction has no gradient rule`);
  const [, idx, upd] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2]!];
  const axis = node.int('axis', 0);
  const dData = needsGrad[0] ? b.op('ScatterElements', [dy, idx, zerosOf(b, shapeValue(b, upd), dtypeOf(dy))], { axis }) : null;
  const dUpd = needsGrad[2] ? b.op('GatherElements', [dy, idx], { axis }) : null;
  return [dData, null, dUpd];
}

