import type { Dim, Node } from '../graph.js';
import type { InferContext, KernelContext, OpSchema } from '../registry.js';
import { sizeOf, stridesOf, Tensor } from '../tensor.js';
import {
  broadcastIndex, constInts, fromNums, intsOf, ioCost, isBigIntDType, normAxis, numel, nums, opsetOf, optInts, scalarOf,
  typeOf, type BigArray,
} from './util.js';

type ReduceKind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'logsumexp' | 'sumsquare' | 'logsum';

/** Axes from the attribute (old opsets) or the second input (ReduceSum 13+, all reductions 18+). */
function reduceAxes(node: Node, rank: number, fromInput: number[] | undefined | null): number[] | undefined {
  const raw = fromInput === null ? undefined : fromInput ?? optInts(node, 'axes');
  if (raw === undefined || raw.length === 0) {
    if (node.int('noop_with_empty_axes', 0) !== 0) return [];
    return Array.from({ length: rank }, (_, i) => i);
  }
  return raw.map((a) => normAxis(a, rank, 'axes entry'));
}

function reduceInfer(ctx: InferContext) {
  const x = ctx.inputs[0];
  if (!x) return [undefined];
  if (!x.shape) return [{ dtype: x.dtype }];
  const hasInput = ctx.node.inputs[1] != null;
  const fromInput = hasInput ? constInts(ctx, 1) : undefined;
  const keep = ctx.node.int('keepdims', 1) !== 0;
  if (hasInput && fromInput === undefined) {
    return [keep ? { dtype: x.dtype, shape: x.shape.map(() => null) } : { dtype: x.dtype }];
  }
  const axes = reduceAxes(ctx.node, x.shape.length, fromInput);
  if (axes!.length === 0 && ctx.node.int('noop_with_empty_axes', 0) !== 0) return [x];
  const shape: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes!.includes(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dtype: x.dtype, shape }];
}

export function reduce(x: Tensor, axes: number[], keep: boolean, kind: ReduceKind): Tensor {
  const keepShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keep ? keepShape : x.shape.filter((_, i) => !axes.includes(i));
  const outN = sizeOf(keepShape);
  const cnt = outN === 0 ? 0 : x.size / outN;
  if (isBigIntDType(x.dtype) && (kind === 'sum' || kind === 'max' || kind === 'min' || kind === 'prod')) {
    const X = x.data as BigArray;
    const idx = broadcastIndex(keepShape, x.shape);
    const acc = new Array<bigint | undefined>(outN).fill(undefined);
    for (let i = 0; i < x.size; i++) {
      const v = X[i]!;
      const o = idx[i]!;
      const a = acc[o];
      acc[o] = a === undefined ? v : kind === 'sum' ? a + v : kind === 'prod' ? a * v : kind === 'max' ? (v > a ? v : a) : v < a ? v : a;
    }
    const out = Tensor.zeros(x.dtype, outShape);
    const O = out.data as BigArray;
    for (let i = 0; i < outN; i++) O[i] = acc[i] ?? (kind === 'prod' ? 1n : 0n);
    return out;
  }
  const X = nums(x);
  const acc = new Float64Array(outN);
  const init = kind === 'max' ? -Infinity : kind === 'min' ? Infinity : kind === 'prod' ? 1 : 0;
  acc.fill(init);
  // Fast path: reducing trailing contiguous axes.
  const trailing = axes.length > 0 && axes.every((a) => a >= x.rank - axes.length);
  const idx = trailing ? undefined : broadcastIndex(keepShape, x.shape);
  const at = (i: number) => (idx ? idx[i]! : Math.floor(i / cnt));
  if (kind === 'logsumexp') {
    const mx = new Float64Array(outN).fill(-Infinity);
    for (let i = 0; i < x.size; i++) { const o = at(i); if (X[i]! > mx[o]!) mx[o] = X[i]!; }
    for (let i = 0; i < x.size; i++) { const o = at(i); acc[o] += Math.exp(X[i]! - mx[o]!); }
    for (let o = 0; o < outN; o++) acc[o] = Number.isFinite(mx[o]!) ? Math.log(acc[o]!) + mx[o]! : mx[o]!;
  } else {
    for (let i = 0; i < x.size; i++) {
      const v = X[i]!;
      const o = at(i);
      switch (kind) {
        case 'max': if (v > acc[o]! || Number.isNaN(v)) acc[o] = v; break;
        case 'min': if (v < acc[o]! || Number.isNaN(v)) acc[o] = v; break;
        case 'prod': acc[o] *= v; break;
        case 'l1': acc[o] += Math.abs(v); break;
        case 'l2': case 'sumsquare': acc[o] += v * v; break;
        default: acc[o] += v;
      }
    }
    for (let o = 0; o < outN; o++) {
      if (kind === 'mean') acc[o] /= cnt;
      else if (kind === 'l2') acc[o] = Math.sqrt(acc[o]!);
      else if (kind === 'logsum') acc[o] = Math.log(acc[o]!);
    }
  }
  return fromNums(x.dtype, outShape, acc);
}

function reduceOp(op: string, kind: ReduceKind): OpSchema {
  return {
    op,
    inputs: [{ name: 'data' }, { name: 'axes', optional: true }],
    outputs: [{ name: 'reduced' }],
    attrs: { axes: { type: 'ints' }, keepdims: { type: 'int', default: 1 }, noop_with_empty_axes: { type: 'int', default: 0 } },
    differentiable: kind === 'max' || kind === 'min' ? true : undefined,
    infer: reduceInfer,
    kernel: ({ node, inputs }) => {
      const x = inputs[0]!;
      const axes = reduceAxes(node, x.rank, inputs[1] ? intsOf(inputs[1]) : undefined)!;
      if (axes.length === 0) return [x];
      return [reduce(x, axes, node.int('keepdims', 1) !== 0, kind)];
    },
    cost: (node) => ({ ...ioCost(node), flops: numel(node.inputs[0]) }),
  };
}

// ---------------- ArgMax / ArgMin ----------------

function argOp(op: string, max: boolean): OpSchema {
  return {
    op,
    inputs: [{ name: 'data' }],
    outputs: [{ name: 'reduced' }],
    attrs: { axis: { type: 'int', default: 0 }, keepdims: { type: 'int', default: 1 }, select_last_index: { type: 'int', default: 0 } },
    differentiable: false,
    infer: (ctx) => {
      const x = ctx.inputs[0];
      if (!x?.shape) return [{ dtype: 'int64' }];
      const axis = normAxis(ctx.node.int('axis', 0), x.shape.length);
      const keep = ctx.node.int('keepdims', 1) !== 0;
      return [{ dtype: 'int64', shape: keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis) }];
    },
    kernel: ({ node, inputs }) => {
      const x = inputs[0]!;
      const axis = normAxis(node.int('axis', 0), x.rank);
      const last = node.int('select_last_index', 0) !== 0;
      const outer = sizeOf(x.shape.slice(0, axis));
      const dim = x.shape[axis]!;
      const inner = sizeOf(x.shape.slice(axis + 1));
      const X = nums(x);
      const out = new BigInt64Array(outer * inner);
      for (let o = 0; o < outer; o++) for (let q = 0; q < inner; q++) {
        let best = X[o * dim * inner + q]!;
        let arg = 0;
        for (let d = 1; d < dim; d++) {
          const v = X[(o * dim + d) * inner + q]!;
          if (max ? v > best || (last && v === best) : v < best || (last && v === best)) { best = v; arg = d; }
        }
        out[o * inner + q] = BigInt(arg);
      }
      const keep = node.int('keepdims', 1) !== 0;
      return [new Tensor('int64', keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis), out)];
    },
    cost: (node) => ({ ...ioCost(node), flops: numel(node.inputs[0]) }),
  };
}

// ---------------- TopK ----------------

const topK: OpSchema = {
  op: 'TopK',
  inputs: [{ name: 'X' }, { name: 'K' }],
  outputs: [{ name: 'Values' }, { name: 'Indices' }],
  attrs: { axis: { type: 'int', default: -1 }, largest: { type: 'int', default: 1 }, sorted: { type: 'int', default: 1 } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x?.shape) return [x ? { dtype: x.dtype } : undefined, { dtype: 'int64' }];
    const axis = normAxis(ctx.node.int('axis', -1), x.shape.length);
    const kk = ctx.node.inputs[1] ? constInts(ctx, 1) : [ctx.node.int('k')];
    const shape = x.shape.map((d, i) => (i === axis ? (kk ? kk[0]! : null) : d));
    return [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const axis = normAxis(node.int('axis', -1), x.rank);
    const k = inputs[1] ? intsOf(inputs[1])[0]! : node.int('k');
    const largest = node.int('largest', 1) !== 0;
    const dim = x.shape[axis]!;
    if (k < 0 || k > dim) throw new Error(`K = ${k} is out of range for axis of size ${dim}`);
    const outer = sizeOf(x.shape.slice(0, axis));
    const inner = sizeOf(x.shape.slice(axis + 1));
    const X = nums(x);
    const vals = new Float64Array(outer * k * inner);
    const idxs = new BigInt64Array(outer * k * inner);
    const order = new Array<number>(dim);
    for (let o = 0; o < outer; o++) for (let q = 0; q < inner; q++) {
      for (let d = 0; d < dim; d++) order[d] = d;
      const at = (d: number) => X[(o * dim + d) * inner + q]!;
      order.sort((a, b) => {
        const va = at(a);
        const vb = at(b);
        if (va !== vb) return largest ? vb - va : va - vb;
        return a - b;
      });
      for (let j = 0; j < k; j++) {
        const d = order[j]!;
        vals[(o * k + j) * inner + q] = at(d);
        idxs[(o * k + j) * inner + q] = BigInt(d);
      }
    }
    const shape = x.shape.map((d, i) => (i === axis ? k : d));
    return [fromNums(x.dtype, shape, vals), new Tensor('int64', shape, idxs)];
  },
  cost: (node) => ({ ...ioCost(node), flops: numel(node.inputs[0]) }),
};

// ---------------- CumSum ----------------

const cumSum: OpSchema = {
  op: 'CumSum',
  inputs: [{ name: 'x' }, { name: 'axis' }],
  outputs: [{ name: 'y' }],
  attrs: { exclusive: { type: 'int', default: 0 }, reverse: { type: 'int', default: 0 } },
  infer: (ctx) => [ctx.inputs[0]],
  kernel: ({ node, inputs }: KernelContext) => {
    const x = inputs[0]!;
    const axis = normAxis(scalarOf(inputs[1], 0), x.rank);
    const excl = node.int('exclusive', 0) !== 0;
    const rev = node.int('reverse', 0) !== 0;
    const dim = x.shape[axis]!;
    const st = stridesOf(x.shape)[axis]!;
    const outer = sizeOf(x.shape.slice(0, axis));
    const big = isBigIntDType(x.dtype);
    const X = big ? (x.data as BigArray) : nums(x);
    const out = Tensor.zeros(x.dtype, x.shape);
    const Y = big ? (out.data as BigArray) : new Float64Array(x.size);
    for (let o = 0; o < outer; o++) for (let q = 0; q < st; q++) {
      let acc: number | bigint = big ? 0n : 0;
      for (let j = 0; j < dim; j++) {
        const d = rev ? dim - 1 - j : j;
        const i = (o * dim + d) * st + q;
        const v = X[i]!;
        if (excl) { (Y as unknown as (number | bigint)[])[i] = acc; acc = (acc as number) + (v as number); }
        else { acc = (acc as number) + (v as number); (Y as unknown as (number | bigint)[])[i] = acc; }
      }
    }
    return [big ? out : fromNums(x.dtype, x.shape, Y as Float64Array)];
  },
  cost: (node) => ({ ...ioCost(node), flops: numel(node.inputs[0]) }),
};

export const reduceOps: OpSchema[] = [
  reduceOp('ReduceSum', 'sum'), reduceOp('ReduceMean', 'mean'), reduceOp('ReduceMax', 'max'), reduceOp('ReduceMin', 'min'),
  reduceOp('ReduceProd', 'prod'), reduceOp('ReduceL1', 'l1'), reduceOp('ReduceL2', 'l2'),
  reduceOp('ReduceLogSumExp', 'logsumexp'), reduceOp('ReduceSumSquare', 'sumsquare'), reduceOp('ReduceLogSum', 'logsum'),
  argOp('ArgMax', true), argOp('ArgMin', false), topK, cumSum,
];

export { opsetOf, typeOf };
