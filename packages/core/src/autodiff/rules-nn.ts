import type { GraphBuilder } from '../builder.js';
import { constantOf } from '../builder.js';
import type { Node, Value } from '../graph.js';
import type { GradientRule } from '../registry.js';
import { Tensor } from '../tensor.js';
import {
  castTo, dtypeOf, ensureOutput, normAxis, rank, reduceMean, reduceSum, requireShape, requireStatic, reshape,
  scalar, shapeValue, transpose, unbroadcast, unsqueeze, zerosOf,
} from './rules-util.js';

// Gradient rules of linear algebra, convolution, pooling, normalisation and loss ops. The
// formulations follow shared/notes/training-graphs.md (measured fast and exact on onnxruntime).

/** Node meta set by the MaxPool rule on a ReLU whose mask it already applied (the ReLU rule then passes dY). */
export const RELU_MASKED = 'reluMaskApplied';

const mul = (b: GraphBuilder, x: Value, y: Value) => b.op('Mul', [x, y]);
const sub = (b: GraphBuilder, x: Value, y: Value) => b.op('Sub', [x, y]);

function swapLast(r: number): number[] {
  const p = Array.from({ length: r }, (_, i) => i);
  [p[r - 2], p[r - 1]] = [p[r - 1]!, p[r - 2]!];
  return p;
}

/** Spatial pads of a Conv/Pool node (explicit, or resolved from auto_pad with static shapes). */
function convPads(node: Node, inSpatial: number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const s = kernel.length;
  const auto = node.string('auto_pad', 'NOTSET');
  if (auto === 'NOTSET') return node.ints('pads', new Array(2 * s).fill(0));
  if (auto === 'VALID') return new Array(2 * s).fill(0);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < s; i++) {
    const out = Math.ceil(inSpatial[i]! / strides[i]!);
    const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inSpatial[i]!);
    const small = Math.floor(total / 2);
    begin.push(auto === 'SAME_UPPER' ? small : total - small);
    end.push(auto === 'SAME_UPPER' ? total - small : small);
  }
  return [...begin, ...end];
}

/** output_padding that makes a ConvTranspose reproduce the forward input's spatial size. */
function outputPadding(inSpatial: number[], outSpatial: number[], kernel: number[], strides: number[], dilations: number[], pads: number[]): number[] {
  const s = kernel.length;
  return inSpatial.map((h, i) => {
    const op = h - ((outSpatial[i]! - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - pads[i]! - pads[i + s]!);
    if (op < 0) throw new Error(`output size ${outSpatial[i]} does not fit input size ${h} (ceil_mode windows past the input have no gradient rule)`);
    return op;
  });
}

export const nnRules: Record<string, GradientRule> = {
  MatMul: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const [a, w] = [node.inputs[0]!, node.inputs[1]!];
    const ra = rank(a);
    const rw = rank(w);
    if (ra < 2 || rw < 2) throw new Error('MatMul with 1-D operands has no gradient rule; Unsqueeze them first');
    let da: Value | null = null;
    let dw: Value | null = null;
    if (ra === 2 && rw === 2) {
      if (needsGrad[0]) da = b.op('Gemm', [dy, w], { transB: 1 });
      if (needsGrad[1]) dw = b.op('Gemm', [a, dy], { transA: 1 });
      return [da, dw];
    }
    if (needsGrad[0]) da = unbroadcast(b, b.op('MatMul', [dy, transpose(b, w, swapLast(rw))]), a);
    if (needsGrad[1]) {
      if (rw === 2) {
        // [..., M, K]ᵀ·[..., M, N] summed over the batch = one Gemm on the flattened rows.
        const k = requireShape(a, 'MatMul gradient')[ra - 1]!;
        const n = requireShape(dy, 'MatMul gradient')[ra - 1]!;
        dw = b.op('Gemm', [reshape(b, a, [-1, k as number]), reshape(b, dy, [-1, n as number])], { transA: 1 });
      } else {
        dw = unbroadcast(b, b.op('MatMul', [transpose(b, a, swapLast(ra)), dy]), w);
      }
    }
    return [da, dw];
  },
  Gemm: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null, null];
    const [a, w, c] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2] ?? null];
    const alpha = node.float('alpha', 1);
    const beta = node.float('beta', 1);
    const ta = node.int('transA', 0);
    const tb = node.int('transB', 0);
    const al = alpha === 1 ? {} : { alpha };
    let da: Value | null = null;
    let dw: Value | null = null;
    if (needsGrad[0]) da = ta ? b.op('Gemm', [w, dy], { transA: tb, transB: 1, ...al }) : b.op('Gemm', [dy, w], { transB: tb ? 0 : 1, ...al });
    if (needsGrad[1]) dw = tb ? b.op('Gemm', [dy, a], { transA: 1, transB: ta, ...al }) : b.op('Gemm', [a, dy], { transA: ta ? 0 : 1, ...al });
    let dc: Value | null = null;
    if (c && needsGrad[2]) {
      const g = beta === 1 ? dy : mul(b, dy, scalar(b, beta, dy));
      dc = unbroadcast(b, g, c);
    }
    return [da, dw, dc];
  },
  Conv: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null, null];
    const [x, w, bias] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2] ?? null];
    const xs = requireStatic(x, 'the gradient of Conv');
    const ws = requireStatic(w, 'the gradient of Conv');
    const ys = requireStatic(node.outputs[0]!, 'the gradient of Conv');
    const s = xs.length - 2;
    const kernel = ws.slice(2);
    const strides = node.ints('strides', new Array(s).fill(1));
    const dil = node.ints('dilations', new Array(s).fill(1));
    const group = node.int('group', 1);
    const pads = convPads(node, xs.slice(2), kernel, strides, dil);
    let dx: Value | null = null;
    let dw: Value | null = null;
    let db: Value | null = null;
    if (needsGrad[0]) {
      // dX = ConvTranspose(dY, W) with the forward pads and the weight unchanged (measured fastest).
      const op = outputPadding(xs.slice(2), ys.slice(2), kernel, strides, dil, pads);
      dx = b.op('ConvTranspose', [dy, w], { strides, pads, dilations: dil, group, kernel_shape: kernel, ...(op.some((v) => v) ? { output_padding: op } : {}) });
    }
    if (needsGrad[1]) {
      // dW = a Conv with batch and channels swapped: Conv(Xᵀ, dYᵀ) with strides and dilations exchanged.
      const perm = [1, 0, ...Array.from({ length: s }, (_, i) => i + 2)];
      const n = xs[0]!;
      const cinG = xs[1]! / group;
      let xt: Value;
      if (group === 1) xt = transpose(b, x, perm);
      else {
        const r5 = reshape(b, x, [n, group, cinG, ...xs.slice(2)]);
        const t5 = transpose(b, r5, [2, 1, 0, ...Array.from({ length: s }, (_, i) => i + 3)]);
        xt = reshape(b, t5, [cinG, group * n, ...xs.slice(2)]);
      }
      const dyt = transpose(b, dy, perm);
      let c = b.op('Conv', [xt, dyt], { strides: dil, dilations: strides, pads, group });
      const cs = requireStatic(c, 'the gradient of Conv').slice(2);
      if (cs.some((d, i) => d !== kernel[i])) {
        c = b.op('Slice', [c, b.ints(kernel.map(() => 0), 'starts'), b.ints(kernel, 'ends'), b.ints(kernel.map((_, i) => i + 2), 'axes')]);
      }
      dw = transpose(b, c, perm);
    }
    if (bias && needsGrad[2]) db = reduceSum(b, dy, [0, ...Array.from({ length: s }, (_, i) => i + 2)], false);
    return [dx, dw, db];
  },
  MaxPool: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null];
    if (node.int('storage_order', 0) !== 0) throw new Error('MaxPool with storage_order=1 has no gradient rule');
    const x = node.inputs[0]!;
    const xs = requireStatic(x, 'the gradient of MaxPool');
    const kernel = node.ints('kernel_shape');
    const strides = node.ints('strides', kernel.map(() => 1));
    const dil = node.ints('dilations', kernel.map(() => 1));
    // Indices + ScatterElements: exact, and sends the gradient to the first maximum (PyTorch's rule).
    const idx = ensureOutput(b, node, 1);
    // ReLU feeding only this pool: apply its mask at the pooled size (a window's max is > 0 iff
    // the ReLU passed it), 4x less work, and tell the ReLU rule its mask is already applied.
    let g = dy;
    const relu = x.producer;
    if (relu && relu.op === 'Relu' && relu.domain === '' && x.uses.size === 1 && !x.isGraphOutput) {
      const pooled = node.outputs[0]!;
      g = b.op('Where', [b.op('Greater', [pooled, scalar(b, 0, pooled)]), dy, scalar(b, 0, dy)]);
      relu.meta.set(RELU_MASKED, true);
    }
    const overlap = kernel.some((k, i) => (k - 1) * dil[i]! + 1 > strides[i]!);
    const total = xs.reduce((p, q) => p * q, 1);
    const flat = b.op('ScatterElements', [zerosOf(b, [total], dtypeOf(dy)), reshape(b, idx, [-1]), reshape(b, g, [-1])], { axis: 0, ...(overlap ? { reduction: 'add' } : {}) });
    return [reshape(b, flat, xs)];
  },
  AveragePool: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null];
    const x = node.inputs[0]!;
    const xs = requireStatic(x, 'the gradient of AveragePool');
    const ys = requireStatic(node.outputs[0]!, 'the gradient of AveragePool');
    const kernel = node.ints('kernel_shape');
    const s = kernel.length;
    const strides = node.ints('strides', kernel.map(() => 1));
    const ones = kernel.map(() => 1);
    const pads = convPads(node, xs.slice(2), kernel, strides, ones);
    const includePad = node.int('count_include_pad', 0) === 1;
    // Window sizes per output position (they differ at padded borders unless pads are counted).
    const counts = Tensor.zeros(dtypeOf(dy), [1, 1, ...ys.slice(2)]);
    let uniform = true;
    const kprod = kernel.reduce((p, q) => p * q, 1);
    const pos = new Array<number>(s).fill(0);
    for (let k = 0; k < counts.size; k++) {
      let c = 1;
      for (let d = 0; d < s; d++) {
        const start = pos[d]! * strides[d]! - pads[d]!;
        const lo = includePad ? -pads[d]! : 0;
        const hi = includePad ? xs[d + 2]! + pads[d + s]! : xs[d + 2]!;
        c *= Math.max(0, Math.min(start + kernel[d]!, hi) - Math.max(start, lo));
      }
      counts.setFlat(k, c);
      if (c !== kprod) uniform = false;
      for (let d = s - 1; d >= 0; d--) { if (++pos[d]! < ys[d + 2]!) break; pos[d] = 0; }
    }
    const scaled = uniform ? mul(b, dy, scalar(b, 1 / kprod, dy)) : b.op('Div', [dy, b.constant(counts, dtypeOf(dy), 'pool_counts')]);
    const c = xs[1]!;
    const wt = Tensor.zeros(dtypeOf(dy), [c, 1, ...kernel]);
    for (let i = 0; i < wt.size; i++) wt.setFlat(i, 1);
    const op = outputPadding(xs.slice(2), ys.slice(2), kernel, strides, ones, pads);
    return [b.op('ConvTranspose', [scaled, b.constant(wt, dtypeOf(dy), 'pool_ones')], {
      strides, pads, group: c, kernel_shape: kernel, ...(op.some((v) => v) ? { output_padding: op } : {}),
    })];
  },
  GlobalAveragePool: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null];
    const x = node.inputs[0]!;
    const xs = requireStatic(x, 'the gradient of GlobalAveragePool');
    const hw = xs.slice(2).reduce((p, q) => p * q, 1);
    return [b.op('Expand', [mul(b, dy, scalar(b, 1 / hw, dy)), shapeValue(b, x)])];
  },
  GlobalMaxPool: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null];
    const x = node.inputs[0]!;
    const axes = Array.from({ length: rank(x) - 2 }, (_, i) => i + 2);
    const mask = castTo(b, b.op('Equal', [x, node.outputs[0]!]), dtypeOf(x));
    const ties = reduceSum(b, mask, axes, true);
    return [mul(b, mask, b.op('Div', [dy, ties]))];
  },
  BatchNormalization: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return node.inputs.map(() => null);
    const [x, scale] = [node.inputs[0]!, node.inputs[1]!];
    const r = rank(x);
    const eps = node.float('epsilon', 1e-5);
    const axes = [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2)];
    const chan = (v: Value) => unsqueeze(b, v, Array.from({ length: r - 2 }, (_, i) => i + 1)); // [C] -> [C,1,1]
    const training = node.int('training_mode', 0) === 1;
    let mean: Value;
    let variance: Value;
    if (training) {
      mean = reduceMean(b, x, axes, true);
      const xc = sub(b, x, mean);
      variance = reduceMean(b, mul(b, xc, xc), axes, true);
    } else {
      mean = chan(node.inputs[3]!);
      variance = chan(node.inputs[4]!);
    }
    const invstd = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [variance, scalar(b, eps, x)])])]);
    const xhat = mul(b, sub(b, x, mean), invstd);
    let dx: Value | null = null;
    if (needsGrad[0]) {
      const g = mul(b, dy, chan(scale));
      if (training) {
        const mg = reduceMean(b, g, axes, true);
        const mgx = reduceMean(b, mul(b, g, xhat), axes, true);
        dx = mul(b, invstd, sub(b, sub(b, g, mg), mul(b, xhat, mgx)));
      } else {
        dx = mul(b, g, invstd);
      }
    }
    const dscale = needsGrad[1] ? reduceSum(b, mul(b, dy, xhat), axes, false) : null;
    const dbias = needsGrad[2] ? reduceSum(b, dy, axes, false) : null;
    return [dx, dscale, dbias, null, null];
  },
  LayerNormalization: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null, null];
    const [x, scale, bias] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2] ?? null];
    const r = rank(x);
    const axis = normAxis(node.int('axis', -1), r);
    const axes = Array.from({ length: r - axis }, (_, i) => axis + i);
    // Keep the forward's Mean and InvStdDev outputs; dx = invstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·γ.
    // Mean/InvStdDev are in the stash type (float32 by default): cast when x is another float type.
    const asX = (v: Value) => (dtypeOf(v) === dtypeOf(x) ? v : castTo(b, v, dtypeOf(x)));
    const mean = asX(ensureOutput(b, node, 1));
    const invstd = asX(ensureOutput(b, node, 2));
    const xhat = mul(b, sub(b, x, mean), invstd);
    let dx: Value | null = null;
    if (needsGrad[0]) {
      const g = mul(b, dy, scale);
      const mg = reduceMean(b, g, axes, true);
      const mgx = reduceMean(b, mul(b, g, xhat), axes, true);
      dx = mul(b, invstd, sub(b, sub(b, g, mg), mul(b, xhat, mgx)));
    }
    const dscale = needsGrad[1] ? unbroadcast(b, mul(b, dy, xhat), scale) : null;
    const dbias = bias && needsGrad[2] ? unbroadcast(b, dy, bias) : null;
    return [dx, dscale, dbias];
  },
  Softmax: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null];
    const y = node.outputs[0]!;
    const axis = normAxis(node.int('axis', -1), rank(y));
    const s = reduceSum(b, mul(b, dy, y), [axis], true);
    return [mul(b, y, sub(b, dy, s))];
  },
  LogSoftmax: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null];
    const y = node.outputs[0]!;
    const axis = normAxis(node.int('axis', -1), rank(y));
    const s = reduceSum(b, dy, [axis], true);
    return [sub(b, dy, mul(b, b.op('Exp', [y]), s))];
  },
  SoftmaxCrossEntropyLoss: ({ b, node, outputGrads }) => {
    const dl = outputGrads[0] ?? null;
    const dlp = outputGrads[1] ?? null;
    const logp = ensureOutput(b, node, 1);
    let dscores: Value | null = null;
    if (dl) dscores = nllGrad(b, node, dl, b.op('Exp', [logp]));
    if (dlp) {
      const s = reduceSum(b, dlp, [1], true);
      const g = sub(b, dlp, mul(b, b.op('Exp', [logp]), s));
      dscores = dscores ? b.op('Add', [dscores, g]) : g;
    }
    return [dscores, null, null];
  },
  NegativeLogLikelihoodLoss: ({ b, node, outputGrads }) => {
    const dl = outputGrads[0];
    if (!dl) return [null, null, null];
    return [nllGrad(b, node, dl, null), null, null];
  },
  Dropout: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0] ?? null;
    const nulls = [null, null];
    if (!dy) return [null, ...nulls];
    const tm = node.inputs[2] ?? null;
    const tmConst = tm ? constantOf(tm) : undefined;
    if (!tm || (tmConst && tmConst.getFlat(0) === 0)) return [dy, ...nulls];
    const ratioV = node.inputs[1] ?? null;
    const ratioC = ratioV ? constantOf(ratioV) : undefined;
    if (ratioV && !ratioC) throw new Error('Dropout with a non-constant ratio has no gradient rule');
    const ratio = ratioC ? ratioC.getFlat(0) : 0.5;
    const mask = castTo(b, ensureOutput(b, node, 1), dtypeOf(dy));
    return [mul(b, mul(b, dy, mask), scalar(b, 1 / (1 - ratio), dy)), ...nulls];
  },
};

/**
 * d(loss)/d(input) of NLL over log-probabilities (when `probs` is null) or of softmax cross-entropy
 * over scores (`probs` = softmax): per sample w_n·(p − onehot) (or −w_n·onehot), scaled by the
 * reduction (mean divides by Σ w_n over non-ignored samples, as ONNX defines it).
 */
function nllGrad(b: GraphBuilder, node: Node, dl: Value, probs: Value | null): Value {
  const [scores, labels, weights] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2] ?? null];
  const shape = requireShape(scores, 'the gradient of a cross-entropy loss');
  const c = shape[1];
  if (typeof c !== 'number') throw new Error('the class dimension must be static');
  const dt = dtypeOf(scores);
  const reduction = node.string('reduction', 'mean');
  const ignore = node.attrs.has('ignore_index') ? node.int('ignore_index') : undefined;
  const onehot = b.op('OneHot', [labels, b.ints([c], 'depth'), b.constant(Tensor.from([0, 1], [2], dt), dt, 'onehot_values')], { axis: 1 });
  // Per-sample weight w_n (labels' shape), zero for ignored samples.
  let w: Value | null = weights ? b.op('Gather', [weights, labels], { axis: 0 }) : null;
  if (ignore !== undefined) {
    const keep = castTo(b, b.op('Not', [b.op('Equal', [labels, b.constant(Tensor.scalar(ignore, dtypeOf(labels)), dtypeOf(labels), 'ignore_index')])]), dt);
    w = w ? mul(b, w, keep) : keep;
  }
  let g = probs ? sub(b, probs, onehot) : b.op('Neg', [onehot]);
  let scale: Value = dl;
  if (reduction === 'mean') {
    const denom = w ? reduceSum(b, w, Array.from({ length: rank(labels) }, (_, i) => i), false) : null;
    if (denom) scale = b.op('Div', [dl, denom]);
    else {
      const ls = requireStatic(labels, 'the mean reduction of a cross-entropy loss');
      scale = mul(b, dl, scalar(b, 1 / ls.reduce((p, q) => p * q, 1), dl));
    }
  } else if (reduction === 'none') {
    scale = unsqueeze(b, dl, [1]);
  }
  if (w) g = mul(b, g, unsqueeze(b, w, [1]));
  return mul(b, g, scale);
}

