import type { GradientRule } from '../registry.js';
import { Tensor } from '../tensor.js';
import {
  constInts, dtypeOf, inversePerm, normAxis, rank, reduceSum, requireShape, requireStatic, reshapeLike, shapeValue, split,
  transpose, unbroadcast, unsqueeze, zerosOf,
} from './rules-util.js';

// Gradient rules of data-movement ops: the gradient is moved back the way the data came.

const reshapeBack: GradientRule = ({ b, node, outputGrads }) => {
  const dy = outputGrads[0];
  return [dy ? reshapeLike(b, dy, node.inputs[0]!) : null, ...node.inputs.slice(1).map(() => null)];
};

export const shapeRules: Record<string, GradientRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null];
    const r = rank(node.inputs[0]!);
    const perm = node.ints('perm', Array.from({ length: r }, (_, i) => r - 1 - i));
    return [transpose(b, dy, inversePerm(perm))];
  },
  Expand: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    return [dy ? unbroadcast(b, dy, node.inputs[0]!) : null, null];
  },
  Concat: ({ b, node, outputGrads, needsGrad }) => {
    const dy = outputGrads[0];
    if (!dy) return node.inputs.map(() => null);
    const r = rank(node.inputs[0]!);
    const axis = normAxis(node.int('axis'), r);
    const sizes = node.inputs.map((x) => {
      const d = requireShape(x!, 'the gradient of Concat')[axis];
      if (typeof d !== 'number') throw new Error(`input '${x!.name}' has a non-static size on the concat axis ${axis}`);
      return d;
    });
    if (sizes.length === 1) return [dy];
    const parts = split(b, dy, sizes, axis);
    return parts.map((p, i) => (needsGrad[i] ? p : null));
  },
  Split: ({ b, node, outputGrads }) => {
    const x = node.inputs[0]!;
    const r = rank(x);
    const axis = normAxis(node.int('axis', 0), r);
    const parts = node.outputs.map((o, i) => {
      const g = outputGrads[i];
      if (g) return g;
      return zerosOf(b, shapeValue(b, o), dtypeOf(x));
    });
    const dx = parts.length === 1 ? parts[0]! : b.op('Concat', parts, { axis });
    return [dx, ...node.inputs.slice(1).map(() => null)];
  },
  Slice: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    const x = node.inputs[0]!;
    const nulls = node.inputs.slice(1).map(() => null);
    if (!dy) return [null, ...nulls];
    const shape = requireStatic(x, 'the gradient of Slice');
    const r = shape.length;
    const starts = constInts(node, 1, 'starts') ?? [];
    const ends = constInts(node, 2, 'ends') ?? [];
    const axes = (constInts(node, 3, 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, r));
    const steps = constInts(node, 4, 'steps') ?? starts.map(() => 1);
    const begin = new Array<number>(r).fill(0);
    const step = new Array<number>(r).fill(1);
    const count = [...shape];
    axes.forEach((a, i) => {
      const dim = shape[a]!;
      const st = steps[i]!;
      const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
      let s = starts[i]! < 0 ? starts[i]! + dim : starts[i]!;
      let e = ends[i]! < 0 ? ends[i]! + dim : ends[i]!;
      if (st > 0) { s = clamp(s, 0, dim); e = clamp(e, 0, dim); } else { s = clamp(s, 0, dim - 1); e = clamp(e, -1, dim - 1); }
      begin[a] = s;
      step[a] = st;
      count[a] = Math.max(0, Math.ceil((e - s) / st));
    });
    if (step.every((s) => s === 1)) {
      const pads = [...begin, ...begin.map((s, i) => shape[i]! - s - count[i]!)];
      return [b.op('Pad', [dy, b.ints(pads, 'pads')], { mode: 'constant' }), ...nulls];
    }
    // Strided slices: scatter into zeros at the element indices the slice read.
    const n = count.reduce((p, q) => p * q, 1);
    const idx = Tensor.zeros('int64', [...count, r]);
    const pos = new Array<number>(r).fill(0);
    for (let k = 0; k < n; k++) {
      for (let d = 0; d < r; d++) idx.setFlat(k * r + d, begin[d]! + pos[d]! * step[d]!);
      for (let d = r - 1; d >= 0; d--) { if (++pos[d]! < count[d]!) break; pos[d] = 0; }
    }
    const zeros = zerosOf(b, shape, dtypeOf(dy));
    return [b.op('ScatterND', [zeros, b.constant(idx, 'int64', 'slice_idx'), dy]), ...nulls];
  },
  Gather: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const [data, indices] = [node.inputs[0]!, node.inputs[1]!];
    const shape = requireShape(data, 'the gradient of Gather');
    const r = shape.length;
    const axis = normAxis(node.int('axis', 0), r);
    const q = rank(indices);
    // dy = [pre (axis dims), idx (q dims), post]; bring the index dims to the front, scatter-add
    // rows of a [data[axis], pre, post] zero tensor, then move the axis back in place.
    const pre = Array.from({ length: axis }, (_, i) => i);
    const idx = Array.from({ length: q }, (_, i) => axis + i);
    const post = Array.from({ length: r - axis - 1 }, (_, i) => axis + q + i);
    const upd = transpose(b, dy, [...idx, ...pre, ...post]);
    const zshape = [shape[axis]!, ...pre.map((i) => shape[i]!), ...shape.slice(axis + 1)];
    const zs = zshape.every((d) => typeof d === 'number') ? (zshape as number[]) : undefined;
    if (!zs) throw new Error(`the gradient of Gather needs a static data shape, got [${shape.join(', ')}]`);
    const scattered = b.op('ScatterND', [zerosOf(b, zs, dtypeOf(dy)), unsqueeze(b, indices, [q]), upd], { reduction: 'add' });
    const back = [...pre.map((_, i) => i + 1), 0, ...shape.slice(axis + 1).map((_, i) => axis + 1 + i)];
    return [transpose(b, scattered, back), null];
  },
  Pad: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    const nulls = node.inputs.slice(1).map(() => null);
    if (!dy) return [null, ...nulls];
    const mode = node.string('mode', 'constant');
    if (mode !== 'constant') throw new Error(`only mode 'constant' has a gradient, got '${mode}'`);
    const x = node.inputs[0]!;
    const shape = requireStatic(x, 'the gradient of Pad');
    const r = shape.length;
    const pads = constInts(node, 1, 'pads') ?? node.ints('pads');
    const axes = (constInts(node, 3, 'axes') ?? shape.map((_, i) => i)).map((a) => normAxis(a, r));
    const begin = new Array<number>(r).fill(0);
    axes.forEach((a, i) => {
      begin[a] = pads[i]!;
      if (pads[i]! < 0 || pads[i + axes.length]! < 0) throw new Error('negative pads have no gradient rule');
    });
    const starts = begin;
    const ends = begin.map((s, i) => s + shape[i]!);
    const dx = b.op('Slice', [dy, b.ints(starts, 'starts'), b.ints(ends, 'ends'), b.ints(shape.map((_, i) => i), 'axes')]);
    return [dx, ...nulls];
  },
  Tile: ({ b, node, outputGrads }) => {
    const dy = outputGrads[0];
    if (!dy) return [null, null];
    const x = node.inputs[0]!;
    const shape = requireStatic(x, 'the gradient of Tile');
    const reps = constInts(node, 1, 'repeats')!;
    // [r0*d0, r1*d1, ...] -> [r0, d0, r1, d1, ...] -> sum over the repeat axes.
    const split2 = shape.flatMap((d, i) => [reps[i]!, d]);
    const r = b.op('Reshape', [dy, b.ints(split2, 'shape')]);
    const summed = reduceSum(b, r, shape.map((_, i) => 2 * i), false);
    return [b.op('Reshape', [summed, b.ints(shape, 'shape')]), null];
  },
};
