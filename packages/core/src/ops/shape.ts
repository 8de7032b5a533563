import { allocate, dtypeFromOnnxCode, isBigIntDType, type DType, type TensorData } from '../dtype.js';
import type { Dim, Node, ValueType } from '../graph.js';
import type { InferContext, OpSchema } from '../registry.js';
import { constantOf } from '../builder.js';
import { sizeOf, stridesOf, Tensor, type Shape } from '../tensor.js';
import { broadcastShapes } from './shape-util.js';
import { expandTo } from './elementwise.js';
import {
  broadcastConcrete, constInts, dimMul, fmtShape, fromNums, gatherFlat, int64, intsOf, known, moveCost, normAxis,
  nums, opsetOf, optInts, scalarOf, toF64, typeOf, type AnyArray, type BigArray, type NumArray,
} from './util.js';

const I64 = (shape: Dim[] | undefined): ValueType => typeOf('int64', shape);

/** Index map for a general transpose: out[i] = in[idx[i]]. */
export function transposeIndex(shape: Shape, perm: readonly number[]): Int32Array {
  const n = sizeOf(shape);
  const r = shape.length;
  const st = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]!);
  const pst = perm.map((p) => st[p]!);
  const idx = new Int32Array(n);
  if (n === 0 || r === 0) return idx;
  const last = outShape[r - 1]!;
  const ls = pst[r - 1]!;
  const pos = new Array<number>(r).fill(0);
  let base = 0;
  for (let o = 0; o < n; o += last) {
    for (let j = 0; j < last; j++) idx[o + j] = base + j * ls;
    for (let d = r - 2; d >= 0; d--) {
      pos[d]++;
      base += pst[d]!;
      if (pos[d]! < outShape[d]!) break;
      base -= pst[d]! * outShape[d]!;
      pos[d] = 0;
    }
  }
  return idx;
}

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  const outShape = perm.map((p) => x.shape[p]!);
  if (x.dtype === 'string' || x.rank === 0 || x.size === 0) return gatherFlat(x, outShape, transposeIndex(x.shape, perm));
  // Typed storage: walk the output in rows of its last dim, reading the input directly (no index map).
  const src = x.data as unknown as NumArray | BigArray;
  const out = allocate(x.dtype, x.size) as unknown as NumArray | BigArray;
  const r = x.rank;
  const st = stridesOf(x.shape);
  const pst = perm.map((p) => st[p]!);
  const last = outShape[r - 1]!;
  const ls = pst[r - 1]!;
  const pos = new Array<number>(r).fill(0);
  let base = 0;
  for (let o = 0; o < x.size; o += last) {
    if (ls === 1 && last >= 64) out.set(src.subarray(base, base + last) as never, o);
    else if (ls === 1) for (let j = 0; j < last; j++) out[o + j] = src[base + j]!;
    else for (let j = 0, q = base; j < last; j++, q += ls) out[o + j] = src[q]!;
    for (let d = r - 2; d >= 0; d--) {
      pos[d]++;
      base += pst[d]!;
      if (pos[d]! < outShape[d]!) break;
      base -= pst[d]! * outShape[d]!;
      pos[d] = 0;
    }
  }
  return new Tensor(x.dtype, outShape, out as unknown as TensorData);
}

// ---------------- Reshape / Flatten / Squeeze / Unsqueeze ----------------

function reshapeDims(inShape: readonly Dim[] | undefined, target: number[], allowZero: boolean): Dim[] {
  const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (inShape ? inShape[i] ?? null : null) : d));
  const neg = out.filter((d) => d === -1).length;
  if (neg > 1) throw new Error(`shape [${target.join(', ')}] has more than one -1`);
  if (neg === 1) {
    const at = out.indexOf(-1);
    if (inShape && known(inShape)) {
      const total = sizeOf(inShape);
      const rest = out.reduce<number | null>((a, d, i) => (i === at || a === null || typeof d !== 'number' ? (i === at ? a : null) : a * d), 1);
      if (rest === null) out[at] = null;
      else {
        if (rest === 0 || total % rest !== 0) throw new Error(`cannot reshape ${fmtShape(inShape)} (${total} elements) to [${target.join(', ')}]`);
        out[at] = total / rest;
      }
    } else out[at] = null;
  }
  if (inShape && known(inShape) && known(out) && sizeOf(inShape) !== sizeOf(out)) {
    throw new Error(`cannot reshape ${fmtShape(inShape)} (${sizeOf(inShape)} elements) to [${target.join(', ')}] (${sizeOf(out)} elements)`);
  }
  return out;
}

const reshape: OpSchema = {
  op: 'Reshape',
  inputs: [{ name: 'data' }, { name: 'shape' }],
  outputs: [{ name: 'reshaped' }],
  attrs: { allowzero: { type: 'int', default: 0 } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x) return [undefined];
    const t = constInts(ctx, 1);
    if (!t) {
      const s = ctx.inputs[1]?.shape;
      return [s && typeof s[0] === 'number' ? { dtype: x.dtype, shape: new Array<Dim>(s[0]).fill(null) } : { dtype: x.dtype }];
    }
    return [{ dtype: x.dtype, shape: reshapeDims(x.shape, t, ctx.node.int('allowzero', 0) !== 0) }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const s = reshapeDims(x.shape, intsOf(inputs[1]!), node.int('allowzero', 0) !== 0) as number[];
    return [x.reshape(s)];
  },
  cost: moveCost,
};

/**
 * Product of dims for inference: a number when all are known; a single symbolic dim survives when
 * every other factor is 1 ([N, 1] -> N); otherwise unknown (null).
 */
function dimProduct(ds: readonly Dim[]): Dim {
  let num = 1;
  let sym: Dim | undefined;
  for (const d of ds) {
    if (typeof d === 'number') num *= d;
    else if (sym === undefined && d !== null) sym = d;
    else return num === 0 ? 0 : null;
  }
  if (sym === undefined || num === 0) return num;
  return num === 1 ? sym : null;
}

const flatten: OpSchema = {
  op: 'Flatten',
  inputs: [{ name: 'input' }],
  outputs: [{ name: 'output' }],
  attrs: { axis: { type: 'int', default: 1 } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x?.shape) return [x ? { dtype: x.dtype } : undefined];
    const r = x.shape.length;
    const a = ctx.node.int('axis', 1);
    const axis = a < 0 ? a + r : a;
    if (axis < 0 || axis > r) throw new Error(`axis ${a} is out of range for rank ${r}`);
    return [{ dtype: x.dtype, shape: [dimProduct(x.shape.slice(0, axis)), dimProduct(x.shape.slice(axis))] }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const a = node.int('axis', 1);
    const axis = a < 0 ? a + x.rank : a;
    return [x.reshape([sizeOf(x.shape.slice(0, axis)), sizeOf(x.shape.slice(axis))])];
  },
  cost: moveCost,
};

function axesArg(node: Node, input: Tensor | undefined): number[] | undefined {
  return input ? intsOf(input) : optInts(node, 'axes');
}

const squeeze: OpSchema = {
  op: 'Squeeze',
  inputs: [{ name: 'data' }, { name: 'axes', optional: true }],
  outputs: [{ name: 'squeezed' }],
  attrs: { axes: { type: 'ints' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x?.shape) return [x ? { dtype: x.dtype } : undefined];
    const axes = ctx.node.inputs[1] ? constInts(ctx, 1) : optInts(ctx.node, 'axes');
    if (ctx.node.inputs[1] && !axes) return [{ dtype: x.dtype }];
    if (!axes) {
      if (x.shape.some((d) => typeof d !== 'number')) return [{ dtype: x.dtype }];
      return [{ dtype: x.dtype, shape: x.shape.filter((d) => d !== 1) }];
    }
    const ax = axes.map((a) => normAxis(a, x.shape!.length));
    for (const a of ax) if (typeof x.shape[a] === 'number' && x.shape[a] !== 1) throw new Error(`cannot squeeze axis ${a} of size ${x.shape[a]} in ${fmtShape(x.shape)}`);
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !ax.includes(i)) }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const axes = axesArg(node, inputs[1]);
    const ax = axes ? axes.map((a) => normAxis(a, x.rank)) : x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
    for (const a of ax) if (x.shape[a] !== 1) throw new Error(`cannot squeeze axis ${a} of size ${x.shape[a]} in [${x.shape.join(', ')}]`);
    return [x.reshape(x.shape.filter((_, i) => !ax.includes(i)))];
  },
  cost: moveCost,
};

function unsqueezeShape<T>(shape: readonly T[], axes: number[], one: T): T[] {
  const r = shape.length + axes.length;
  const ax = axes.map((a) => normAxis(a, r));
  if (new Set(ax).size !== ax.length) throw new Error(`axes [${axes.join(', ')}] repeat an axis`);
  const out: T[] = [];
  let j = 0;
  for (let i = 0; i < r; i++) out.push(ax.includes(i) ? one : shape[j++]!);
  return out;
}

const unsqueeze: OpSchema = {
  op: 'Unsqueeze',
  inputs: [{ name: 'data' }, { name: 'axes', optional: true }],
  outputs: [{ name: 'expanded' }],
  attrs: { axes: { type: 'ints' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x?.shape) return [x ? { dtype: x.dtype } : undefined];
    const axes = ctx.node.inputs[1] ? constInts(ctx, 1) : optInts(ctx.node, 'axes');
    if (!axes) return [{ dtype: x.dtype }];
    return [{ dtype: x.dtype, shape: unsqueezeShape<Dim>(x.shape, axes, 1) }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const axes = axesArg(node, inputs[1]);
    if (!axes) throw new Error('axes are required (input or attribute)');
    return [x.reshape(unsqueezeShape<number>(x.shape, axes, 1))];
  },
  cost: moveCost,
};

// ---------------- Transpose / Concat / Split ----------------

const transposeOp: OpSchema = {
  op: 'Transpose',
  inputs: [{ name: 'data' }],
  outputs: [{ name: 'transposed' }],
  attrs: { perm: { type: 'ints' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x?.shape) return [x ? { dtype: x.dtype } : undefined];
    const r = x.shape.length;
    const perm = optInts(ctx.node, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    if (perm.length !== r || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) throw new Error(`perm [${perm.join(', ')}] is not a permutation of ${r} axes`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape![p]!) }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const perm = optInts(node, 'perm') ?? Array.from({ length: x.rank }, (_, i) => x.rank - 1 - i);
    return [transpose(x, perm)];
  },
  cost: moveCost,
};

export function concat(xs: Tensor[], axis: number): Tensor {
  const first = xs[0]!;
  const ax = normAxis(axis, first.rank);
  const shape = [...first.shape];
  shape[ax] = xs.reduce((s, t) => s + t.shape[ax]!, 0);
  for (const t of xs) {
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== ax && d !== first.shape[i])) {
      throw new Error(`inputs [${first.shape.join(', ')}] and [${t.shape.join(', ')}] differ outside axis ${ax}`);
    }
  }
  const out = Tensor.zeros(first.dtype, shape);
  const outer = sizeOf(shape.slice(0, ax));
  const inner = sizeOf(shape.slice(ax + 1));
  const O = out.data as unknown as AnyArray;
  const rowOut = shape[ax]! * inner;
  let off = 0;
  for (const t of xs) {
    const len = t.shape[ax]! * inner;
    const S = t.data as unknown as AnyArray;
    if (!Array.isArray(O) && !Array.isArray(S)) {
      const so = out.data as unknown as Float32Array;
      const ss = t.data as unknown as Float32Array;
      for (let o = 0; o < outer; o++) so.set(ss.subarray(o * len, (o + 1) * len), o * rowOut + off);
    } else {
      for (let o = 0; o < outer; o++) for (let i = 0; i < len; i++) O[o * rowOut + off + i] = S[o * len + i];
    }
    off += len;
  }
  return out;
}

const concatOp: OpSchema = {
  op: 'Concat',
  inputs: [{ name: 'inputs', variadic: true }],
  outputs: [{ name: 'concat_result' }],
  attrs: { axis: { type: 'int', required: true } },
  infer: (ctx) => {
    const ts = ctx.inputs;
    const first = ts.find((t) => t);
    if (!first) return [undefined];
    if (!ts.every((t) => t?.shape)) return [{ dtype: first.dtype }];
    const r = first.shape!.length;
    const ax = normAxis(ctx.node.int('axis'), r);
    const shape: Dim[] = [...first.shape!];
    let sum: Dim = 0;
    for (const t of ts) {
      if (t!.shape!.length !== r) throw new Error(`inputs ${fmtShape(first.shape)} and ${fmtShape(t!.shape)} differ in rank`);
      t!.shape!.forEach((d, i) => {
        if (i === ax) return;
        if (typeof d === 'number' && typeof shape[i] === 'number' && d !== shape[i]) throw new Error(`inputs ${fmtShape(first.shape)} and ${fmtShape(t!.shape)} differ in dim ${i}`);
        if (typeof shape[i] !== 'number') shape[i] = d;
      });
      const d = t!.shape![ax]!;
      sum = typeof sum === 'number' && typeof d === 'number' ? sum + d : null;
    }
    shape[ax] = sum;
    return [{ dtype: first.dtype, shape }];
  },
  kernel: ({ node, inputs }) => [concat(inputs.filter((t): t is Tensor => t !== undefined), node.int('axis'))],
  cost: moveCost,
};

function splitSizes(node: Node, dim: number, splitInput: number[] | undefined, nOut: number): number[] {
  const split = splitInput ?? optInts(node, 'split');
  if (split) {
    if (split.reduce((a, b) => a + b, 0) !== dim) throw new Error(`split [${split.join(', ')}] does not sum to the axis size ${dim}`);
    return split;
  }
  const n = node.attrs.has('num_outputs') ? node.int('num_outputs') : nOut;
  const chunk = Math.ceil(dim / n);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
}

const split: OpSchema = {
  op: 'Split',
  inputs: [{ name: 'input' }, { name: 'split', optional: true }],
  outputs: [{ name: 'outputs', variadic: true }],
  attrs: { axis: { type: 'int', default: 0 }, split: { type: 'ints' }, num_outputs: { type: 'int' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    const n = ctx.node.outputs.length;
    if (!x?.shape) return new Array(n).fill(x ? { dtype: x.dtype } : undefined);
    const ax = normAxis(ctx.node.int('axis', 0), x.shape.length);
    const d = x.shape[ax];
    const s = ctx.node.inputs[1] ? constInts(ctx, 1) : undefined;
    if (typeof d !== 'number' || (ctx.node.inputs[1] && !s)) {
      return Array.from({ length: n }, () => ({ dtype: x.dtype, shape: x.shape!.map((v, i) => (i === ax ? null : v)) }));
    }
    const sizes = splitSizes(ctx.node, d, s, n);
    return sizes.map((sz) => ({ dtype: x.dtype, shape: x.shape!.map((v, i) => (i === ax ? sz : v)) }));
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const ax = normAxis(node.int('axis', 0), x.rank);
    const sizes = splitSizes(node, x.shape[ax]!, inputs[1] ? intsOf(inputs[1]) : undefined, node.outputs.length);
    let start = 0;
    return sizes.map((sz) => {
      const t = sliceTensor(x, [start], [start + sz], [ax], [1]);
      start += sz;
      return t;
    });
  },
  cost: moveCost,
};

// ---------------- Slice ----------------

interface SliceRange { start: number; step: number; count: number }

function sliceRanges(shape: readonly number[], starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined): SliceRange[] {
  const r = shape.length;
  const ranges: SliceRange[] = shape.map((d) => ({ start: 0, step: 1, count: d }));
  const ax = axes ?? starts.map((_, i) => i);
  ax.forEach((a0, i) => {
    const a = normAxis(a0, r, 'axes entry');
    const d = shape[a]!;
    const step = steps ? steps[i]! : 1;
    if (step === 0) throw new Error('steps must not be 0');
    let s = starts[i]!;
    let e = ends[i]!;
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = Math.max(0, Math.min(d, s));
      e = Math.max(0, Math.min(d, e));
    } else {
      s = Math.max(0, Math.min(d - 1, s));
      e = Math.max(-1, Math.min(d - 1, e));
    }
    const count = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
    ranges[a] = { start: s, step, count };
  });
  return ranges;
}

export function sliceTensor(x: Tensor, starts: number[], ends: number[], axes?: number[], steps?: number[]): Tensor {
  const ranges = sliceRanges(x.shape, starts, ends, axes, steps);
  const shape = ranges.map((r) => r.count);
  const n = sizeOf(shape);
  const st = stridesOf(x.shape);
  const idx = new Int32Array(n);
  const r = shape.length;
  if (n > 0) {
    const pos = new Array<number>(r).fill(0);
    let base = ranges.reduce((b, g, i) => b + g.start * st[i]!, 0);
    for (let o = 0; o < n; o++) {
      idx[o] = base;
      for (let d = r - 1; d >= 0; d--) {
        pos[d]++;
        base += ranges[d]!.step * st[d]!;
        if (pos[d]! < shape[d]!) break;
        base -= ranges[d]!.step * st[d]! * shape[d]!;
        pos[d] = 0;
      }
    }
  }
  return gatherFlat(x, shape, idx);
}

const slice: OpSchema = {
  op: 'Slice',
  inputs: [{ name: 'data' }, { name: 'starts' }, { name: 'ends' }, { name: 'axes', optional: true }, { name: 'steps', optional: true }],
  outputs: [{ name: 'output' }],
  attrs: { starts: { type: 'ints' }, ends: { type: 'ints' }, axes: { type: 'ints' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x?.shape) return [x ? { dtype: x.dtype } : undefined];
    const viaAttrs = ctx.node.attrs.has('starts');
    const starts = viaAttrs ? ctx.node.ints('starts') : constInts(ctx, 1);
    const ends = viaAttrs ? ctx.node.ints('ends') : constInts(ctx, 2);
    const axes = viaAttrs ? optInts(ctx.node, 'axes') : ctx.node.inputs[3] ? constInts(ctx, 3) : undefined;
    const steps = ctx.node.inputs[4] ? constInts(ctx, 4) : undefined;
    const unknownAxes = !viaAttrs && ctx.node.inputs[3] && !axes;
    const unknownSteps = ctx.node.inputs[4] && !steps;
    if (!starts || !ends || unknownAxes || unknownSteps) return [{ dtype: x.dtype, shape: x.shape.map(() => null) }];
    const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, x.shape!.length, 'axes entry'));
    const concrete = x.shape.map((d) => (typeof d === 'number' ? d : 0));
    const ranges = sliceRanges(concrete, starts, ends, ax, steps);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (ax.includes(i) ? (typeof d === 'number' ? ranges[i]!.count : null) : d)) }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    if (node.attrs.has('starts')) return [sliceTensor(x, node.ints('starts'), node.ints('ends'), optInts(node, 'axes'))];
    return [sliceTensor(x, intsOf(inputs[1]!), intsOf(inputs[2]!), inputs[3] ? intsOf(inputs[3]) : undefined, inputs[4] ? intsOf(inputs[4]) : undefined)];
  },
  cost: moveCost,
};

// ---------------- Gather family ----------------

function fixIndex(i: number, dim: number, what: string): number {
  const j = i < 0 ? i + dim : i;
  if (j < 0 || j >= dim) throw new Error(`${what} ${i} is out of range for a dimension of size ${dim}`);
  return j;
}

const gather: OpSchema = {
  op: 'Gather',
  inputs: [{ name: 'data' }, { name: 'indices' }],
  outputs: [{ name: 'output' }],
  attrs: { axis: { type: 'int', default: 0 } },
  infer: (ctx) => {
    const [x, ind] = ctx.inputs;
    if (!x) return [undefined];
    if (!x.shape || !ind?.shape) return [{ dtype: x.dtype }];
    const ax = normAxis(ctx.node.int('axis', 0), x.shape.length);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, ax), ...ind.shape, ...x.shape.slice(ax + 1)] }];
  },
  kernel: ({ node, inputs }) => {
    const [x, ind] = inputs as [Tensor, Tensor];
    const ax = normAxis(node.int('axis', 0), x.rank);
    const outer = sizeOf(x.shape.slice(0, ax));
    const dim = x.shape[ax]!;
    const inner = sizeOf(x.shape.slice(ax + 1));
    const I = intsOf(ind).map((i) => fixIndex(i, dim, 'index'));
    const shape = [...x.shape.slice(0, ax), ...ind.shape, ...x.shape.slice(ax + 1)];
    const idx = new Int32Array(outer * I.length * inner);
    let o = 0;
    for (let a = 0; a < outer; a++) for (const i of I) {
      const base = (a * dim + i) * inner;
      for (let q = 0; q < inner; q++) idx[o++] = base + q;
    }
    return [gatherFlat(x, shape, idx)];
  },
  cost: moveCost,
};

/** Flat index into `shape` for each element of `ind` along `axis` (GatherElements / ScatterElements). */
function elementsIndex(shape: Shape, indShape: Shape, ind: number[], axis: number): Int32Array {
  const st = stridesOf(shape);
  const ist = stridesOf(indShape);
  const r = shape.length;
  const idx = new Int32Array(ind.length);
  for (let i = 0; i < ind.length; i++) {
    let rem = i;
    let flat = 0;
    for (let d = 0; d < r; d++) {
      const c = Math.floor(rem / ist[d]!);
      rem -= c * ist[d]!;
      flat += (d === axis ? fixIndex(ind[i]!, shape[axis]!, 'index') : c) * st[d]!;
    }
    idx[i] = flat;
  }
  return idx;
}

const gatherElements: OpSchema = {
  op: 'GatherElements',
  inputs: [{ name: 'data' }, { name: 'indices' }],
  outputs: [{ name: 'output' }],
  attrs: { axis: { type: 'int', default: 0 } },
  infer: (ctx) => [ctx.inputs[0] ? typeOf(ctx.inputs[0].dtype, ctx.inputs[1]?.shape) : undefined],
  kernel: ({ node, inputs }) => {
    const [x, ind] = inputs as [Tensor, Tensor];
    const ax = normAxis(node.int('axis', 0), x.rank);
    return [gatherFlat(x, ind.shape, elementsIndex(x.shape, ind.shape, intsOf(ind), ax))];
  },
  cost: moveCost,
};

function gatherNDPlan(shape: Shape, indShape: Shape, ind: number[], batchDims: number) {
  const k = indShape[indShape.length - 1]!;
  const st = stridesOf(shape);
  const batch = sizeOf(shape.slice(0, batchDims));
  const sliceSize = sizeOf(shape.slice(batchDims + k));
  const perBatch = sizeOf(indShape.slice(batchDims, -1));
  const batchStride = batchDims > 0 ? st[batchDims - 1]! : 0;
  const starts: number[] = [];
  for (let b = 0; b < batch; b++) for (let q = 0; q < perBatch; q++) {
    const t = (b * perBatch + q) * k;
    let flat = b * batchStride;
    for (let j = 0; j < k; j++) flat += fixIndex(ind[t + j]!, shape[batchDims + j]!, 'index') * st[batchDims + j]!;
    starts.push(flat);
  }
  return { starts, sliceSize, outShape: [...indShape.slice(0, -1), ...shape.slice(batchDims + k)] };
}

const gatherND: OpSchema = {
  op: 'GatherND',
  inputs: [{ name: 'data' }, { name: 'indices' }],
  outputs: [{ name: 'output' }],
  attrs: { batch_dims: { type: 'int', default: 0 } },
  infer: (ctx) => {
    const [x, ind] = ctx.inputs;
    if (!x) return [undefined];
    if (!x.shape || !ind?.shape) return [{ dtype: x.dtype }];
    const k = ind.shape[ind.shape.length - 1];
    if (typeof k !== 'number') return [{ dtype: x.dtype }];
    const b = ctx.node.int('batch_dims', 0);
    return [{ dtype: x.dtype, shape: [...ind.shape.slice(0, -1), ...x.shape.slice(b + k)] }];
  },
  kernel: ({ node, inputs }) => {
    const [x, ind] = inputs as [Tensor, Tensor];
    const p = gatherNDPlan(x.shape, ind.shape, intsOf(ind), node.int('batch_dims', 0));
    const idx = new Int32Array(p.starts.length * p.sliceSize);
    p.starts.forEach((s, i) => { for (let q = 0; q < p.sliceSize; q++) idx[i * p.sliceSize + q] = s + q; });
    return [gatherFlat(x, p.outShape, idx)];
  },
  cost: moveCost,
};

// ---------------- Scatter family ----------------

function combine(reduction: string, big: boolean): (a: any, b: any) => any {
  switch (reduction) {
    case 'none': return (_a, b) => b;
    case 'add': return (a, b) => a + b;
    case 'mul': return (a, b) => a * b;
    case 'max': return (a, b) => (a > b ? a : b);
    case 'min': return (a, b) => (a < b ? a : b);
    default: throw new Error(`reduction is '${reduction}'; valid: none, add, mul, max, min${big ? '' : ''}`);
  }
}

function scatterAt(x: Tensor, targets: ArrayLike<number>, updates: Tensor, reduction: string): Tensor {
  const out = x.clone();
  const O = out.data as unknown as AnyArray;
  const U = updates.data as unknown as AnyArray;
  const f = combine(reduction, isBigIntDType(x.dtype));
  const conv = x.dtype === 'float16' || x.dtype === 'bfloat16';
  if (conv) {
    const o = toF64(out);
    const u = toF64(updates);
    for (let i = 0; i < targets.length; i++) o[targets[i]!] = f(o[targets[i]!], u[i]);
    return fromNums(x.dtype, x.shape, o);
  }
  for (let i = 0; i < targets.length; i++) O[targets[i]!] = f(O[targets[i]!], U[i]);
  return out;
}

function scatterElementsOp(op: string): OpSchema {
  return {
    op,
    inputs: [{ name: 'data' }, { name: 'indices' }, { name: 'updates' }],
    outputs: [{ name: 'output' }],
    attrs: { axis: { type: 'int', default: 0 }, reduction: { type: 'string', default: 'none' } },
    infer: (ctx) => [ctx.inputs[0]],
    kernel: ({ node, inputs }) => {
      const [x, ind, upd] = inputs as [Tensor, Tensor, Tensor];
      const ax = normAxis(node.int('axis', 0), x.rank);
      return [scatterAt(x, elementsIndex(x.shape, ind.shape, intsOf(ind), ax), upd, node.string('reduction', 'none'))];
    },
    cost: moveCost,
  };
}

const scatterND: OpSchema = {
  op: 'ScatterND',
  inputs: [{ name: 'data' }, { name: 'indices' }, { name: 'updates' }],
  outputs: [{ name: 'output' }],
  attrs: { reduction: { type: 'string', default: 'none' } },
  infer: (ctx) => [ctx.inputs[0]],
  kernel: ({ node, inputs }) => {
    const [x, ind, upd] = inputs as [Tensor, Tensor, Tensor];
    const p = gatherNDPlan(x.shape, ind.shape, intsOf(ind), 0);
    const targets = new Int32Array(p.starts.length * p.sliceSize);
    p.starts.forEach((s, i) => { for (let q = 0; q < p.sliceSize; q++) targets[i * p.sliceSize + q] = s + q; });
    return [scatterAt(x, targets, upd, node.string('reduction', 'none'))];
  },
  cost: moveCost,
};

// ---------------- Expand / Tile / Pad ----------------

const expand: OpSchema = {
  op: 'Expand',
  inputs: [{ name: 'input' }, { name: 'shape' }],
  outputs: [{ name: 'output' }],
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x) return [undefined];
    const s = constInts(ctx, 1);
    if (!s || !x.shape) return [{ dtype: x.dtype }];
    return [{ dtype: x.dtype, shape: broadcastShapes(x.shape, s) }];
  },
  kernel: ({ inputs }) => {
    const x = inputs[0]!;
    return [expandTo(x, broadcastConcrete(x.shape, intsOf(inputs[1]!)))];
  },
  cost: moveCost,
};

const tile: OpSchema = {
  op: 'Tile',
  inputs: [{ name: 'input' }, { name: 'repeats' }],
  outputs: [{ name: 'output' }],
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x) return [undefined];
    const r = constInts(ctx, 1);
    if (!x.shape) return [{ dtype: x.dtype }];
    if (!r) return [{ dtype: x.dtype, shape: x.shape.map(() => null) }];
    if (r.length !== x.shape.length) throw new Error(`repeats has ${r.length} entries, input has rank ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => dimMul(d, r[i]!)) }];
  },
  kernel: ({ inputs }) => {
    const x = inputs[0]!;
    const reps = intsOf(inputs[1]!);
    if (reps.length !== x.rank) throw new Error(`repeats has ${reps.length} entries, input has rank ${x.rank}`);
    const shape = x.shape.map((d, i) => d * reps[i]!);
    const n = sizeOf(shape);
    const st = stridesOf(x.shape);
    const ost = stridesOf(shape);
    const idx = new Int32Array(n);
    for (let o = 0; o < n; o++) {
      let rem = o;
      let flat = 0;
      for (let d = 0; d < shape.length; d++) {
        const c = Math.floor(rem / ost[d]!);
        rem -= c * ost[d]!;
        flat += (c % x.shape[d]!) * st[d]!;
      }
      idx[o] = flat;
    }
    return [gatherFlat(x, shape, idx)];
  },
  cost: moveCost,
};

function padArgs(node: Node, x: Tensor, inputs: (Tensor | undefined)[]): { pads: number[]; value: number | bigint } {
  const r = x.rank;
  let pads = inputs[1] ? intsOf(inputs[1]) : node.ints('pads');
  const axes = inputs[3] ? intsOf(inputs[3]).map((a) => normAxis(a, r)) : undefined;
  if (axes) {
    const full = new Array<number>(2 * r).fill(0);
    axes.forEach((a, i) => { full[a] = pads[i]!; full[a + r] = pads[i + axes.length]!; });
    pads = full;
  }
  if (pads.length !== 2 * r) throw new Error(`pads has ${pads.length} entries, input of rank ${r} needs ${2 * r}`);
  let value: number | bigint = inputs[2] && inputs[2].size > 0 ? (isBigIntDType(x.dtype) ? (inputs[2].data as BigArray)[0]! : scalarOf(inputs[2], 0)) : node.float('value', 0);
  if (isBigIntDType(x.dtype) && typeof value === 'number') value = BigInt(value);
  return { pads, value };
}

function padTensor(x: Tensor, pads: number[], mode: string, value: number | bigint): Tensor {
  const r = x.rank;
  const shape = x.shape.map((d, i) => d + pads[i]! + pads[i + r]!);
  const n = sizeOf(shape);
  const st = stridesOf(x.shape);
  const ost = stridesOf(shape);
  const idx = new Int32Array(n);
  for (let o = 0; o < n; o++) {
    let rem = o;
    let flat = 0;
    for (let d = 0; d < r; d++) {
      const c = Math.floor(rem / ost[d]!);
      rem -= c * ost[d]!;
      let i = c - pads[d]!;
      const dim = x.shape[d]!;
      if (i < 0 || i >= dim) {
        if (mode === 'constant') { flat = -1; break; }
        if (mode === 'edge') i = i < 0 ? 0 : dim - 1;
        else if (mode === 'reflect') {
          if (dim === 1) i = 0;
          else {
            const period = 2 * (dim - 1);
            i = ((i % period) + period) % period;
            if (i >= dim) i = period - i;
          }
        } else if (mode === 'wrap') i = ((i % dim) + dim) % dim;
        else throw new Error(`mode is '${mode}'; valid: constant, reflect, edge, wrap`);
      }
      if (flat >= 0) flat += i * st[d]!;
    }
    idx[o] = flat;
  }
  const out = Tensor.zeros(x.dtype, shape);
  const O = out.data as unknown as AnyArray;
  const S = x.data as unknown as AnyArray;
  const fill = x.dtype === 'float16' || x.dtype === 'bfloat16' ? fromNums(x.dtype, [1], [Number(value)]).data[0] : value;
  for (let o = 0; o < n; o++) O[o] = idx[o]! < 0 ? fill : S[idx[o]!];
  return out;
}

const pad: OpSchema = {
  op: 'Pad',
  inputs: [{ name: 'data' }, { name: 'pads' }, { name: 'constant_value', optional: true }, { name: 'axes', optional: true }],
  outputs: [{ name: 'output' }],
  attrs: { mode: { type: 'string', default: 'constant' }, pads: { type: 'ints' }, value: { type: 'float', default: 0 } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x?.shape) return [x ? { dtype: x.dtype } : undefined];
    const r = x.shape.length;
    let pads = ctx.node.inputs[1] ? constInts(ctx, 1) : optInts(ctx.node, 'pads');
    if (!pads) return [{ dtype: x.dtype, shape: x.shape.map(() => null) }];
    if (ctx.node.inputs[3]) {
      const axes = constInts(ctx, 3);
      if (!axes) return [{ dtype: x.dtype, shape: x.shape.map(() => null) }];
      const full = new Array<number>(2 * r).fill(0);
      axes.map((a) => normAxis(a, r)).forEach((a, i) => { full[a] = pads![i]!; full[a + r] = pads![i + axes.length]!; });
      pads = full;
    }
    if (pads.length !== 2 * r) throw new Error(`pads has ${pads.length} entries, input of rank ${r} needs ${2 * r}`);
    // A symbolic dim that is not padded keeps its name; a padded one becomes unknown.
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => {
      const extra = pads![i]! + pads![i + r]!;
      if (typeof d === 'number') return d + extra;
      return extra === 0 ? d : null;
    }) }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const { pads, value } = padArgs(node, x, inputs);
    return [padTensor(x, pads, node.string('mode', 'constant'), value)];
  },
  cost: moveCost,
};

// ---------------- Shape / Size / ConstantOfShape / Constant / Range ----------------

function shapeRange(node: Node, r: number): [number, number] {
  const clamp = (v: number) => Math.max(0, Math.min(r, v < 0 ? v + r : v));
  return [clamp(node.int('start', 0)), node.attrs.has('end') ? clamp(node.int('end')) : r];
}

const shapeOp: OpSchema = {
  op: 'Shape',
  inputs: [{ name: 'data' }],
  outputs: [{ name: 'shape' }],
  attrs: { start: { type: 'int', default: 0 }, end: { type: 'int' } },
  differentiable: false,
  infer: (ctx) => {
    const s = ctx.inputs[0]?.shape;
    if (!s) return [I64([null])];
    const [a, b] = shapeRange(ctx.node, s.length);
    return [I64([Math.max(0, b - a)])];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const [a, b] = shapeRange(node, x.rank);
    return [int64(x.shape.slice(a, Math.max(a, b)))];
  },
  cost: moveCost,
};

const size: OpSchema = {
  op: 'Size',
  inputs: [{ name: 'data' }],
  outputs: [{ name: 'size' }],
  differentiable: false,
  infer: () => [I64([])],
  kernel: ({ inputs }) => [int64([inputs[0]!.size], [])],
  cost: moveCost,
};

const constantOfShape: OpSchema = {
  op: 'ConstantOfShape',
  inputs: [{ name: 'input' }],
  outputs: [{ name: 'output' }],
  attrs: { value: { type: 'tensor' } },
  differentiable: false,
  infer: (ctx) => {
    const dtype = ctx.node.tensor('value')?.dtype ?? 'float32';
    const s = constInts(ctx, 0);
    if (s) return [{ dtype, shape: s }];
    const r = ctx.inputs[0]?.shape?.[0];
    return [typeof r === 'number' ? { dtype, shape: new Array<Dim>(r).fill(null) } : { dtype }];
  },
  kernel: ({ node, inputs }) => {
    const v = node.tensor('value');
    const shape = intsOf(inputs[0]!);
    const out = Tensor.zeros(v?.dtype ?? 'float32', shape);
    if (v) (out.data as unknown as { fill(x: unknown): void }).fill((v.data as unknown as AnyArray)[0]);
    return [out];
  },
  cost: moveCost,
};

function constantValue(node: Node): Tensor {
  const t = constantOf(node.outputs[0]);
  if (t) return t;
  if (node.attrs.has('value_string')) return new Tensor('string', [], [node.string('value_string')]);
  if (node.attrs.has('value_strings')) { const s = node.strings('value_strings'); return new Tensor('string', [s.length], s); }
  const sp = node.attr('sparse_value');
  if (sp?.kind === 'sparse_tensor') {
    const { values, indices, dims } = sp.value;
    const out = Tensor.zeros(values.dtype, dims);
    const I = intsOf(indices);
    const st = stridesOf(dims);
    const O = out.data as unknown as AnyArray;
    const V = values.data as unknown as AnyArray;
    const coords = indices.rank === 2;
    for (let i = 0; i < values.size; i++) {
      const flat = coords ? st.reduce((f, s, d) => f + I[i * dims.length + d]! * s, 0) : I[i]!;
      O[flat] = V[i];
    }
    return out;
  }
  throw new Error('has none of value, value_float(s), value_int(s), value_string(s), sparse_value');
}

const constant: OpSchema = {
  op: 'Constant',
  inputs: [],
  outputs: [{ name: 'output' }],
  attrs: {
    value: { type: 'tensor' }, value_float: { type: 'float' }, value_floats: { type: 'floats' }, value_int: { type: 'int' },
    value_ints: { type: 'ints' }, value_string: { type: 'string' }, value_strings: { type: 'strings' },
  },
  differentiable: false,
  infer: (ctx) => {
    const t = constantValue(ctx.node);
    return [{ dtype: t.dtype, shape: [...t.shape] }];
  },
  kernel: ({ node }) => [constantValue(node)],
  cost: () => ({ flops: 0 }),
};

const range: OpSchema = {
  op: 'Range',
  inputs: [{ name: 'start' }, { name: 'limit' }, { name: 'delta' }],
  outputs: [{ name: 'output' }],
  differentiable: false,
  infer: (ctx) => {
    const d = ctx.inputs[0]?.dtype;
    if (!d) return [undefined];
    const [s, l, dl] = [ctx.constant(0), ctx.constant(1), ctx.constant(2)];
    if (s && l && dl) return [{ dtype: d, shape: [Math.max(0, Math.ceil((scalarOf(l, 0) - scalarOf(s, 0)) / scalarOf(dl, 1)))] }];
    return [{ dtype: d, shape: [null] }];
  },
  kernel: ({ inputs }) => {
    const [s, l, d] = inputs.map((t) => scalarOf(t, 0)) as [number, number, number];
    if (d === 0) throw new Error('delta must not be 0');
    const n = Math.max(0, Math.ceil((l - s) / d));
    const dt = inputs[0]!.dtype;
    const v = new Float64Array(n);
    if (dt === 'float32') {
      // Accumulate as onnxruntime does: start + i * delta in float32.
      for (let i = 0; i < n; i++) v[i] = Math.fround(s + i * d);
    } else for (let i = 0; i < n; i++) v[i] = s + i * d;
    return [fromNums(dt, [n], v)];
  },
  cost: moveCost,
};

// ---------------- Resize / Upsample ----------------

interface ResizeOpts {
  mode: string;
  coord: string;
  nearest: string;
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
}

/** Contributions (index, weight) of input positions to each output position along one axis. */
function axisWeights(inLen: number, outLen: number, scale: number, o: ResizeOpts, roi: [number, number]): { idx: number[]; w: number[]; out: boolean }[] {
  const res: { idx: number[]; w: number[]; out: boolean }[] = [];
  const outWidth = scale * inLen;
  for (let x = 0; x < outLen; x++) {
    let xo: number;
    switch (o.coord) {
      case 'half_pixel': xo = (x + 0.5) / scale - 0.5; break;
      case 'pytorch_half_pixel': xo = outLen > 1 ? (x + 0.5) / scale - 0.5 : 0; break;
      case 'align_corners': xo = outWidth === 1 || outLen === 1 ? 0 : (x * (inLen - 1)) / (outWidth - 1); break;
      case 'asymmetric': xo = x / scale; break;
      case 'tf_half_pixel_for_nn': xo = (x + 0.5) / scale; break;
      case 'tf_crop_and_resize':
        xo = outLen > 1 ? roi[0] * (inLen - 1) + (x * (roi[1] - roi[0]) * (inLen - 1)) / (outLen - 1) : (0.5 * (roi[0] + roi[1]) * (inLen - 1));
        break;
      default: throw new Error(`coordinate_transformation_mode is '${o.coord}'; valid: half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn, tf_crop_and_resize`);
    }
    if (o.coord === 'tf_crop_and_resize' && (xo < 0 || xo > inLen - 1)) { res.push({ idx: [], w: [], out: true }); continue; }
    const clamp = (i: number) => Math.max(0, Math.min(inLen - 1, i));
    if (o.mode === 'nearest') {
      let i: number;
      if (Number.isInteger(xo)) i = xo;
      else {
        const f = Math.floor(xo);
        const r = xo - f;
        switch (o.nearest) {
          case 'round_prefer_floor': i = r <= 0.5 ? f : f + 1; break;
          case 'round_prefer_ceil': i = r < 0.5 ? f : f + 1; break;
          case 'floor': i = f; break;
          case 'ceil': i = f + 1; break;
          default: throw new Error(`nearest_mode is '${o.nearest}'; valid: round_prefer_floor, round_prefer_ceil, floor, ceil`);
        }
      }
      res.push({ idx: [clamp(i)], w: [1], out: false });
      continue;
    }
    // Left neighbour convention of the ONNX reference: ratio in (0, 1].
    const base = Math.ceil(xo) - 1;
    const t = xo - base;
    let idx: number[];
    let w: number[];
    if (o.mode === 'linear') {
      idx = [base, base + 1];
      w = [1 - t, t];
    } else if (o.mode === 'cubic') {
      const A = o.cubicA;
      const c = (d: number) => {
        const ad = Math.abs(d);
        if (ad <= 1) return ((A + 2) * ad - (A + 3)) * ad * ad + 1;
        if (ad < 2) return ((A * ad - 5 * A) * ad + 8 * A) * ad - 4 * A;
        return 0;
      };
      idx = [base - 1, base, base + 1, base + 2];
      w = [c(t + 1), c(t), c(1 - t), c(2 - t)];
    } else throw new Error(`mode is '${o.mode}'; valid: nearest, linear, cubic`);
    if (o.excludeOutside) {
      let s = 0;
      idx.forEach((i, k) => { if (i < 0 || i >= inLen) w[k] = 0; s += w[k]!; });
      w = w.map((v) => v / s);
    }
    res.push({ idx: idx.map(clamp), w, out: false });
  }
  return res;
}

function resizeTensor(x: Tensor, outShape: number[], scales: number[], roi: number[] | undefined, o: ResizeOpts): Tensor {
  const r = x.rank;
  const axes = x.shape.map((d, i) => axisWeights(d, outShape[i]!, scales[i]!, o, roi ? [roi[i]!, roi[i + r]!] : [0, 1]));
  const X = nums(x);
  const st = stridesOf(x.shape);
  const n = sizeOf(outShape);
  const Y = new Float64Array(n);
  const ost = stridesOf(outShape);
  for (let q = 0; q < n; q++) {
    let rem = q;
    const per: { idx: number[]; w: number[]; out: boolean }[] = [];
    let outside = false;
    for (let d = 0; d < r; d++) {
      const c = Math.floor(rem / ost[d]!);
      rem -= c * ost[d]!;
      const a = axes[d]![c]!;
      if (a.out) outside = true;
      per.push(a);
    }
    if (outside) { Y[q] = o.extrapolation; continue; }
    let acc = 0;
    const walk = (d: number, off: number, w: number) => {
      if (d === r) { acc += w * X[off]!; return; }
      const a = per[d]!;
      for (let k = 0; k < a.idx.length; k++) if (a.w[k] !== 0) walk(d + 1, off + a.idx[k]! * st[d]!, w * a.w[k]!);
    };
    walk(0, 0, 1);
    Y[q] = acc;
  }
  return fromNums(x.dtype, outShape, Y);
}

function resizeInputs(node: Node): { roi: number; scales: number; sizes: number } {
  if (node.op === 'Upsample' || opsetOf(node) < 11) return { roi: -1, scales: 1, sizes: -1 };
  return { roi: 1, scales: 2, sizes: 3 };
}

function resizeOpts(node: Node): ResizeOpts {
  const legacy = node.op === 'Upsample' || opsetOf(node) < 11;
  return {
    mode: node.string('mode', 'nearest'),
    coord: legacy ? 'asymmetric' : node.string('coordinate_transformation_mode', 'half_pixel'),
    nearest: legacy ? 'floor' : node.string('nearest_mode', 'round_prefer_floor'),
    cubicA: node.float('cubic_coeff_a', -0.75),
    excludeOutside: node.int('exclude_outside', 0) !== 0,
    extrapolation: node.float('extrapolation_value', 0),
  };
}

function resizePlan(node: Node, shape: readonly number[], sizesT: number[] | undefined, scalesT: number[] | undefined): { out: number[]; scales: number[] } {
  const r = shape.length;
  const axes = optInts(node, 'axes')?.map((a) => normAxis(a, r));
  const expandFull = (v: number[], fill: (i: number) => number) => {
    if (!axes) return v;
    const full = Array.from({ length: r }, (_, i) => fill(i));
    axes.forEach((a, i) => { full[a] = v[i]!; });
    return full;
  };
  if (sizesT && sizesT.length > 0) {
    const sizes = expandFull(sizesT, (i) => shape[i]!);
    let scales = sizes.map((s, i) => s / shape[i]!);
    const policy = node.string('keep_aspect_ratio_policy', 'stretch');
    if (policy !== 'stretch') {
      const sel = axes ?? shape.map((_, i) => i);
      const ss = sel.map((a) => sizes[a]! / shape[a]!);
      const s = policy === 'not_larger' ? Math.min(...ss) : Math.max(...ss);
      scales = shape.map((_, i) => (sel.includes(i) ? s : 1));
      return { out: shape.map((d, i) => (sel.includes(i) ? Math.round(d * s) : d)), scales };
    }
    return { out: sizes, scales };
  }
  if (!scalesT) throw new Error('needs scales or sizes');
  const scales = expandFull(scalesT, () => 1);
  if (scales.length !== r) throw new Error(`scales has ${scales.length} entries, input has rank ${r}`);
  return { out: shape.map((d, i) => Math.floor(d * scales[i]!)), scales };
}

/** The explicit output size of axis i from a `sizes` input (undefined when `axes` leaves i out). */
function resizeSizeAt(node: Node, sizes: number[], r: number, i: number): number | undefined {
  const axes = optInts(node, 'axes')?.map((a) => normAxis(a, r));
  if (!axes) return sizes[i];
  const at = axes.indexOf(i);
  return at < 0 ? undefined : sizes[at];
}

function resizeOp(op: string): OpSchema {
  return {
    op,
    inputs: op === 'Upsample'
      ? [{ name: 'X' }, { name: 'scales' }]
      : [{ name: 'X' }, { name: 'roi', optional: true }, { name: 'scales', optional: true }, { name: 'sizes', optional: true }],
    outputs: [{ name: 'Y' }],
    attrs: {
      mode: { type: 'string', default: 'nearest' }, coordinate_transformation_mode: { type: 'string', default: 'half_pixel' },
      nearest_mode: { type: 'string', default: 'round_prefer_floor' }, cubic_coeff_a: { type: 'float', default: -0.75 },
      exclude_outside: { type: 'int', default: 0 }, extrapolation_value: { type: 'float', default: 0 }, axes: { type: 'ints' },
      keep_aspect_ratio_policy: { type: 'string', default: 'stretch' }, scales: { type: 'floats' },
    },
    infer: (ctx) => {
      const x = ctx.inputs[0];
      if (!x?.shape) return [x ? { dtype: x.dtype } : undefined];
      const at = resizeInputs(ctx.node);
      const c = (i: number) => (i >= 0 && ctx.node.inputs[i] ? ctx.constant(i) : undefined);
      const sizes = c(at.sizes);
      const scales = c(at.scales);
      const scalesAttr = optInts(ctx.node, 'scales') ? undefined : ctx.node.attrs.has('scales') ? ctx.node.floats('scales') : undefined;
      const unknown = [{ dtype: x.dtype, shape: x.shape.map(() => null) }];
      const sizesV = sizes && sizes.size > 0 ? intsOf(sizes) : undefined;
      const scalesV = scales && scales.size > 0 ? Array.from(toF64(scales)) : scalesAttr;
      if (!sizesV && !scalesV) {
        // Sizes or scales come at run time: only a missing-but-declared input tells us nothing.
        return unknown;
      }
      if (known(x.shape)) return [{ dtype: x.dtype, shape: resizePlan(ctx.node, x.shape, sizesV, scalesV).out }];
      // Symbolic input dims: plan with 1 in their place, then keep each symbolic dim whose scale is
      // exactly 1 (it is not resized); resized symbolic dims are unknown.
      const xs: readonly Dim[] = x.shape;
      const stand = xs.map((d) => (typeof d === 'number' ? d : 1));
      const policy = ctx.node.string('keep_aspect_ratio_policy', 'stretch');
      if (sizesV && policy !== 'stretch') return unknown;
      const plan = resizePlan(ctx.node, stand, sizesV, scalesV);
      return [{ dtype: x.dtype, shape: xs.map((d, i) => {
        if (typeof d === 'number') return plan.out[i]!;
        if (sizesV) return resizeSizeAt(ctx.node, sizesV, xs.length, i) ?? d;
        return plan.scales[i] === 1 ? d : null;
      }) }];
    },
    kernel: ({ node, inputs }) => {
      const x = inputs[0]!;
      const at = resizeInputs(node);
      const sizesT = at.sizes >= 0 ? inputs[at.sizes] : undefined;
      const scalesT = inputs[at.scales];
      const roiT = at.roi >= 0 ? inputs[at.roi] : undefined;
      const scalesAttr = node.attrs.has('scales') ? node.floats('scales') : undefined;
      const plan = resizePlan(node, x.shape, sizesT && sizesT.size > 0 ? intsOf(sizesT) : undefined, scalesT && scalesT.size > 0 ? Array.from(toF64(scalesT)) : scalesAttr);
      let roi = roiT && roiT.size > 0 ? Array.from(toF64(roiT)) : undefined;
      const axes = optInts(node, 'axes')?.map((a) => normAxis(a, x.rank));
      if (roi && axes) {
        const full = [...new Array<number>(x.rank).fill(0), ...new Array<number>(x.rank).fill(1)];
        axes.forEach((a, i) => { full[a] = roi![i]!; full[a + x.rank] = roi![i + axes.length]!; });
        roi = full;
      }
      return [resizeTensor(x, plan.out, plan.scales, roi, resizeOpts(node))];
    },
    cost: (node) => {
      const n = node.outputs[0]?.type?.shape;
      return { flops: known(n) ? sizeOf(n) * 4 : undefined };
    },
  };
}

// ---------------- DepthToSpace / SpaceToDepth ----------------

const depthToSpace: OpSchema = {
  op: 'DepthToSpace',
  inputs: [{ name: 'input' }],
  outputs: [{ name: 'output' }],
  attrs: { blocksize: { type: 'int', required: true }, mode: { type: 'string', default: 'DCR' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x?.shape) return [x ? { dtype: x.dtype } : undefined];
    const b = ctx.node.int('blocksize');
    const [n, c, h, w] = x.shape;
    if (typeof c === 'number' && c % (b * b) !== 0) throw new Error(`channels ${c} are not divisible by blocksize² ${b * b}`);
    return [{ dtype: x.dtype, shape: [n!, typeof c === 'number' ? c / (b * b) : null, dimMul(h!, b), dimMul(w!, b)] }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const b = node.int('blocksize');
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const c = C / (b * b);
    const crd = node.string('mode', 'DCR') === 'CRD';
    const tmp = crd ? x.reshape([N, c, b, b, H, W]) : x.reshape([N, b, b, c, H, W]);
    const perm = crd ? [0, 1, 4, 2, 5, 3] : [0, 3, 4, 1, 5, 2];
    return [transpose(tmp, perm).reshape([N, c, H * b, W * b])];
  },
  cost: moveCost,
};

const spaceToDepth: OpSchema = {
  op: 'SpaceToDepth',
  inputs: [{ name: 'input' }],
  outputs: [{ name: 'output' }],
  attrs: { blocksize: { type: 'int', required: true } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x?.shape) return [x ? { dtype: x.dtype } : undefined];
    const b = ctx.node.int('blocksize');
    const [n, c, h, w] = x.shape;
    const div = (d: Dim) => (typeof d === 'number' ? d / b : null);
    return [{ dtype: x.dtype, shape: [n!, dimMul(c!, b * b), div(h!), div(w!)] }];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const b = node.int('blocksize');
    const [N, C, H, W] = x.shape as [number, number, number, number];
    if (H % b || W % b) throw new Error(`spatial dims ${H}x${W} are not divisible by blocksize ${b}`);
    const tmp = x.reshape([N, C, H / b, b, W / b, b]);
    return [transpose(tmp, [0, 3, 5, 1, 2, 4]).reshape([N, C * b * b, H / b, W / b])];
  },
  cost: moveCost,
};

// ---------------- Trilu / OneHot / NonZero / EyeLike / Compress / ReverseSequence / Unique ----------------

const trilu: OpSchema = {
  op: 'Trilu',
  inputs: [{ name: 'input' }, { name: 'k', optional: true }],
  outputs: [{ name: 'output' }],
  attrs: { upper: { type: 'int', default: 1 } },
  infer: (ctx) => [ctx.inputs[0]],
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const k = inputs[1] ? scalarOf(inputs[1], 0) : 0;
    const upper = node.int('upper', 1) !== 0;
    const H = x.shape[x.rank - 2]!;
    const W = x.shape[x.rank - 1]!;
    const out = Tensor.zeros(x.dtype, x.shape);
    const O = out.data as unknown as AnyArray;
    const S = x.data as unknown as AnyArray;
    for (let i = 0; i < x.size; i++) {
      const c = i % W;
      const r = Math.floor(i / W) % H;
      if (upper ? c - r >= k : c - r <= k) O[i] = S[i];
    }
    return [out];
  },
  cost: moveCost,
};

const oneHot: OpSchema = {
  op: 'OneHot',
  inputs: [{ name: 'indices' }, { name: 'depth' }, { name: 'values' }],
  outputs: [{ name: 'output' }],
  attrs: { axis: { type: 'int', default: -1 } },
  differentiable: false,
  infer: (ctx) => {
    const [ind, , vals] = ctx.inputs;
    if (!vals) return [undefined];
    if (!ind?.shape) return [{ dtype: vals.dtype }];
    const r = ind.shape.length + 1;
    const ax = normAxis(ctx.node.int('axis', -1), r);
    const dT = ctx.constant(1);
    const shape: Dim[] = [...ind.shape];
    shape.splice(ax, 0, dT ? scalarOf(dT, 0) : null);
    return [{ dtype: vals.dtype, shape }];
  },
  kernel: ({ node, inputs }) => {
    const [ind, depthT, vals] = inputs as [Tensor, Tensor, Tensor];
    const depth = Math.trunc(scalarOf(depthT, 0));
    const r = ind.rank + 1;
    const ax = normAxis(node.int('axis', -1), r);
    const shape = [...ind.shape];
    shape.splice(ax, 0, depth);
    const I = toF64(ind);
    const outer = sizeOf(ind.shape.slice(0, ax));
    const inner = sizeOf(ind.shape.slice(ax));
    const out = Tensor.zeros(vals.dtype, shape);
    const O = out.data as unknown as AnyArray;
    const V = vals.data as unknown as AnyArray;
    for (let i = 0; i < out.size; i++) O[i] = V[0];
    for (let o = 0; o < outer; o++) for (let q = 0; q < inner; q++) {
      let v = Math.trunc(I[o * inner + q]!);
      if (v < 0) v += depth;
      if (v >= 0 && v < depth) O[(o * depth + v) * inner + q] = V[1];
    }
    return [out];
  },
  cost: moveCost,
};

const nonZero: OpSchema = {
  op: 'NonZero',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }],
  differentiable: false,
  infer: (ctx) => [I64([ctx.inputs[0]?.shape?.length ?? null, null])],
  kernel: ({ inputs }) => {
    const x = inputs[0]!;
    const X = x.data as unknown as AnyArray;
    const hits: number[] = [];
    for (let i = 0; i < x.size; i++) { const v = X[i]; if (v !== 0 && v !== 0n && v !== '' && !(typeof v === 'number' && v === 0)) hits.push(i); }
    const r = x.rank;
    const st = stridesOf(x.shape);
    const out = new BigInt64Array(r * hits.length);
    hits.forEach((flat, j) => {
      let rem = flat;
      for (let d = 0; d < r; d++) {
        const c = Math.floor(rem / st[d]!);
        rem -= c * st[d]!;
        out[d * hits.length + j] = BigInt(c);
      }
    });
    return [new Tensor('int64', [r, hits.length], out)];
  },
  cost: moveCost,
};

const eyeLike: OpSchema = {
  op: 'EyeLike',
  inputs: [{ name: 'input' }],
  outputs: [{ name: 'output' }],
  attrs: { dtype: { type: 'int' }, k: { type: 'int', default: 0 } },
  differentiable: false,
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x) return [undefined];
    const d = ctx.node.attrs.has('dtype') ? dtypeFromOnnxCode(ctx.node.int('dtype')) : x.dtype;
    return [typeOf(d, x.shape)];
  },
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const d: DType = node.attrs.has('dtype') ? dtypeFromOnnxCode(node.int('dtype')) : x.dtype;
    const [H, W] = x.shape as [number, number];
    const k = node.int('k', 0);
    const v = new Float64Array(H * W);
    for (let i = 0; i < H; i++) { const j = i + k; if (j >= 0 && j < W) v[i * W + j] = 1; }
    return [fromNums(d, [H, W], v)];
  },
  cost: moveCost,
};

const compress: OpSchema = {
  op: 'Compress',
  inputs: [{ name: 'input' }, { name: 'condition' }],
  outputs: [{ name: 'output' }],
  attrs: { axis: { type: 'int' } },
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x) return [undefined];
    if (!ctx.node.attrs.has('axis')) return [{ dtype: x.dtype, shape: [null] }];
    if (!x.shape) return [{ dtype: x.dtype }];
    const ax = normAxis(ctx.node.int('axis'), x.shape.length);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i === ax ? null : d)) }];
  },
  kernel: ({ node, inputs }) => {
    let x = inputs[0]!;
    const cond = nums(inputs[1]!);
    let ax = 0;
    if (node.attrs.has('axis')) ax = normAxis(node.int('axis'), x.rank);
    else x = x.reshape([x.size]);
    const keep: number[] = [];
    for (let i = 0; i < Math.min(cond.length, x.shape[ax]!); i++) if (cond[i]) keep.push(i);
    const outer = sizeOf(x.shape.slice(0, ax));
    const dim = x.shape[ax]!;
    const inner = sizeOf(x.shape.slice(ax + 1));
    const idx = new Int32Array(outer * keep.length * inner);
    let o = 0;
    for (let a = 0; a < outer; a++) for (const k of keep) for (let q = 0; q < inner; q++) idx[o++] = (a * dim + k) * inner + q;
    return [gatherFlat(x, x.shape.map((d, i) => (i === ax ? keep.length : d)), idx)];
  },
  cost: moveCost,
};

const reverseSequence: OpSchema = {
  op: 'ReverseSequence',
  inputs: [{ name: 'input' }, { name: 'sequence_lens' }],
  outputs: [{ name: 'Y' }],
  attrs: { batch_axis: { type: 'int', default: 1 }, time_axis: { type: 'int', default: 0 } },
  infer: (ctx) => [ctx.inputs[0]],
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const lens = intsOf(inputs[1]!);
    const ba = node.int('batch_axis', 1);
    const ta = node.int('time_axis', 0);
    const st = stridesOf(x.shape);
    const idx = new Int32Array(x.size);
    for (let i = 0; i < x.size; i++) {
      let rem = i;
      let b = 0;
      let t = 0;
      for (let d = 0; d < x.rank; d++) {
        const c = Math.floor(rem / st[d]!);
        rem -= c * st[d]!;
        if (d === ba) b = c;
        if (d === ta) t = c;
      }
      const L = lens[b]!;
      idx[i] = t < L ? i + (L - 1 - 2 * t) * st[ta]! : i;
    }
    return [gatherFlat(x, x.shape, idx)];
  },
  cost: moveCost,
};

const unique: OpSchema = {
  op: 'Unique',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }, { name: 'indices', optional: true }, { name: 'inverse_indices', optional: true }, { name: 'counts', optional: true }],
  attrs: { axis: { type: 'int' }, sorted: { type: 'int', default: 1 } },
  differentiable: false,
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x) return [undefined, undefined, undefined, undefined];
    const y = ctx.node.attrs.has('axis') && x.shape
      ? { dtype: x.dtype, shape: x.shape.map((d, i) => (i === normAxis(ctx.node.int('axis'), x.shape!.length) ? null : d)) }
      : { dtype: x.dtype, shape: [null] };
    return [y, I64([null]), I64([null]), I64([null])];
  },
  kernel: ({ node, inputs }) => {
    let x = inputs[0]!;
    const hasAxis = node.attrs.has('axis');
    const ax = hasAxis ? normAxis(node.int('axis'), x.rank) : 0;
    if (!hasAxis) x = x.reshape([x.size]);
    const dim = x.shape[ax]!;
    const outer = sizeOf(x.shape.slice(0, ax));
    const inner = sizeOf(x.shape.slice(ax + 1));
    const X = nums(x);
    const sliceOf = (k: number) => {
      const v: number[] = [];
      for (let a = 0; a < outer; a++) for (let q = 0; q < inner; q++) v.push(X[(a * dim + k) * inner + q]!);
      return v;
    };
    const keyOf = (v: number[]) => v.join(',');
    const first = new Map<string, number>();
    const slices: number[][] = [];
    for (let k = 0; k < dim; k++) {
      const s = sliceOf(k);
      slices.push(s);
      const key = keyOf(s);
      if (!first.has(key)) first.set(key, k);
    }
    let order = [...first.values()];
    if (node.int('sorted', 1) !== 0) {
      order = order.sort((a, b) => {
        const sa = slices[a]!;
        const sb = slices[b]!;
        for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return sa[i]! - sb[i]!;
        return 0;
      });
    }
    const pos = new Map(order.map((k, i) => [keyOf(slices[k]!), i]));
    const inverse = slices.map((s) => pos.get(keyOf(s))!);
    const counts = order.map((_, i) => inverse.filter((v) => v === i).length);
    const idx = new Int32Array(outer * order.length * inner);
    let o = 0;
    for (let a = 0; a < outer; a++) for (const k of order) for (let q = 0; q < inner; q++) idx[o++] = (a * dim + k) * inner + q;
    const y = gatherFlat(x, x.shape.map((d, i) => (i === ax ? order.length : d)), idx);
    return [y, int64(order), int64(inverse), int64(counts)];
  },
  cost: moveCost,
};

export const shapeOps: OpSchema[] = [
  reshape, flatten, squeeze, unsqueeze, transposeOp, concatOp, split, slice, gather, gatherElements, gatherND,
  scatterElementsOp('ScatterElements'), scatterElementsOp('Scatter'), scatterND, expand, tile, pad, shapeOp, size,
  constantOfShape, constant, range, resizeOp('Resize'), resizeOp('Upsample'), depthToSpace, spaceToDepth, trilu, oneHot,
  nonZero, eyeLike, compress, reverseSequence, unique,
];

export type { InferContext };
