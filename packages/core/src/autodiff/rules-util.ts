import { constantOf, inferNode, type GraphBuilder } from '../builder.js';
import type { DType } from '../dtype.js';
import type { Dim, Node, Value } from '../graph.js';
import { Tensor } from '../tensor.js';

// Small graph-building helpers shared by the gradient rules. They adapt to the registry's op
// versions where ONNX moved an attribute to an input (axes of Reduce*/Squeeze/Unsqueeze, Split).

export function dtypeOf(v: Value): DType {
  const d = v.dtype ?? v.initializer?.dtype;
  if (!d) throw new Error(`value '${v.name}' has no known dtype`);
  return d;
}

/** A scalar constant of `like`'s dtype. */
export function scalar(b: GraphBuilder, value: number, like: Value | DType): Value {
  const dtype = typeof like === 'string' ? like : dtypeOf(like);
  return b.constant(Tensor.scalar(value, dtype), dtype, 'c');
}

export function staticShape(v: Value): number[] | undefined {
  const s = v.shape;
  if (!s || !s.every((d) => typeof d === 'number')) return undefined;
  return s as number[];
}

export function requireShape(v: Value, why: string): Dim[] {
  if (!v.shape) throw new Error(`value '${v.name}' has unknown rank; ${why} needs it`);
  return v.shape;
}

export function requireStatic(v: Value, why: string): number[] {
  const s = staticShape(v);
  if (!s) throw new Error(`value '${v.name}' has shape [${v.shape?.join(', ') ?? '?'}]; ${why} needs a static shape`);
  return s;
}

/** The shape of `v` as an int64 1-D value: a constant when static, else a Shape node. */
export function shapeValue(b: GraphBuilder, v: Value): Value {
  const s = staticShape(v);
  return s ? b.ints(s, 'shape') : b.op('Shape', [v]);
}

export function rank(v: Value): number {
  return requireShape(v, 'this gradient').length;
}

export function normAxis(axis: number, r: number): number {
  return axis < 0 ? axis + r : axis;
}

/** Opset where ONNX moved an attribute to an input (axes of ReduceSum/Squeeze/Unsqueeze, Split's split: 13; other reductions: 18). */
const MOVED_TO_INPUT: Record<string, number> = { ReduceSum: 13, Squeeze: 13, Unsqueeze: 13, Split: 13 };

function takesInput(b: GraphBuilder, op: string, name: string): boolean {
  const s = b.registry.get(op);
  if (!s) throw new Error(`op ${op} is not in the registry`);
  if (!s.inputs.some((i) => i.name === name)) return false;
  if (!s.attrs?.[name]) return true;
  // The schema accepts both forms: follow the graph's default-domain opset.
  const opset = b.graph.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 17;
  return opset >= (MOVED_TO_INPUT[op] ?? 18);
}

export function reduce(b: GraphBuilder, op: string, x: Value, axes: number[], keepdims: boolean): Value {
  if (axes.length === 0) return x;
  if (takesInput(b, op, 'axes')) return b.op(op, [x, b.ints(axes, 'axes')], { keepdims: keepdims ? 1 : 0 });
  return b.op(op, [x], { axes, keepdims: keepdims ? 1 : 0 });
}

export function reduceSum(b: GraphBuilder, x: Value, axes: number[], keepdims: boolean): Value {
  return reduce(b, 'ReduceSum', x, axes, keepdims);
}

export function reduceMean(b: GraphBuilder, x: Value, axes: number[], keepdims: boolean): Value {
  return reduce(b, 'ReduceMean', x, axes, keepdims);
}

export function unsqueeze(b: GraphBuilder, x: Value, axes: number[]): Value {
  if (axes.length === 0) return x;
  if (takesInput(b, 'Unsqueeze', 'axes')) return b.op('Unsqueeze', [x, b.ints(axes, 'axes')]);
  return b.op('Unsqueeze', [x], { axes });
}

export function split(b: GraphBuilder, x: Value, sizes: number[], axis: number): Value[] {
  if (takesInput(b, 'Split', 'split')) return b.opMulti('Split', [x, b.ints(sizes, 'split')], { axis }, { outputs: sizes.length });
  return b.opMulti('Split', [x], { axis, split: sizes }, { outputs: sizes.length });
}

export function reshape(b: GraphBuilder, x: Value, shape: Value | number[]): Value {
  return b.op('Reshape', [x, Array.isArray(shape) ? b.ints(shape, 'shape') : shape]);
}

/** Reshape `x` to the shape of `like` (static when known). */
export function reshapeLike(b: GraphBuilder, x: Value, like: Value): Value {
  const xs = x.shape;
  const ls = like.shape;
  if (xs && ls && sameDims(xs, ls)) return x;
  return reshape(b, x, shapeValue(b, like));
}

export function sameDims(a: readonly Dim[], c: readonly Dim[]): boolean {
  return a.length === c.length && a.every((d, i) => d !== null && d === c[i]);
}

/** Sums `g` over the axes along which `target` was broadcast, and reshapes to `target`'s shape. */
export function unbroadcast(b: GraphBuilder, g: Value, target: Value): Value {
  const gs = requireShape(g, 'unbroadcasting a gradient');
  const ts = requireShape(target, 'unbroadcasting a gradient');
  if (sameDims(gs, ts)) return g;
  const lead = gs.length - ts.length;
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  for (let j = 0; j < ts.length; j++) {
    const t = ts[j];
    const s = gs[lead + j];
    if (t === 1 && s !== 1) axes.push(lead + j);
    else if (t === null || s === null || (t !== s && s !== 1)) {
      if (t !== s) throw new Error(`cannot unbroadcast gradient [${gs.join(', ')}] to [${ts.join(', ')}] (unknown dims)`);
    }
  }
  const r = reduceSum(b, g, axes, true);
  return reshapeLike(b, r, target);
}

export function transpose(b: GraphBuilder, x: Value, perm: number[]): Value {
  if (perm.every((p, i) => p === i)) return x;
  return b.op('Transpose', [x], { perm });
}

export function inversePerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

export function zerosOf(b: GraphBuilder, shape: Value | number[], dtype: DType): Value {
  const s = Array.isArray(shape) ? b.ints(shape, 'shape') : shape;
  return b.op('ConstantOfShape', [s], { value: Tensor.from([0], [1], dtype) });
}

export function castTo(b: GraphBuilder, x: Value, dtype: DType): Value {
  return b.op('Cast', [x], { to: onnxCode(dtype) });
}

const CODES: Partial<Record<DType, number>> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, bfloat16: 16 };
export function onnxCode(d: DType): number {
  const c = CODES[d];
  if (c === undefined) throw new Error(`no ONNX code for dtype ${d}`);
  return c;
}

/** A constant input's data as numbers, or undefined when the input is absent; throws when not constant. */
export function constInts(node: Node, i: number, what: string): number[] | undefined {
  const v = node.inputs[i];
  if (!v) return undefined;
  const t = constantOf(v);
  if (!t) throw new Error(`input ${i} (${what}) of ${node.describe()} must be a constant for its gradient`);
  return t.toNumbers();
}

/** Axes of a Reduce* node (attribute or, for newer opsets, the constant input 1), normalized. */
export function reduceAxes(node: Node): number[] {
  const x = node.inputs[0]!;
  const r = rank(x);
  let axes: number[] | undefined = node.attrs.has('axes') ? node.ints('axes') : constInts(node, 1, 'axes');
  if (!axes || axes.length === 0) {
    if (node.int('noop_with_empty_axes', 0) === 1) return [];
    axes = Array.from({ length: r }, (_, i) => i);
  }
  return axes.map((a) => normAxis(a, r)).sort((p, q) => p - q);
}

/**
 * Makes sure the forward node produces optional output `index` (Indices of MaxPool, Mean and
 * InvStdDev of LayerNormalization, log_prob of SoftmaxCrossEntropyLoss, mask of Dropout), adding it
 * in place so that every existing reference to the node's outputs stays valid.
 */
export function ensureOutput(b: GraphBuilder, node: Node, index: number): Value {
  const existing = node.outputs[index];
  if (existing && existing.name !== '') return existing;
  const g = node.graph;
  for (let i = node.outputs.length; i <= index; i++) {
    const v = g.createValue(g.uniqueName(`${node.name}_out${i}`));
    v.producer = node;
    v.producerIndex = i;
    node.outputs.push(v);
  }
  for (let i = 0; i <= index; i++) {
    const o = node.outputs[i]!;
    if (o.name === '') {
      const v = g.createValue(g.uniqueName(`${node.name}_out${i}`));
      v.producer = node;
      v.producerIndex = i;
      node.outputs[i] = v;
    }
  }
  inferNode(node, b.registry);
  return node.outputs[index]!;
}
