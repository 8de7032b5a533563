import {
  allocate, bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits,
  isBigIntDType, type DType, type TensorData,
} from '../dtype.js';
import type { Dim, Graph, Node, Value, ValueType } from '../graph.js';
import type { CostRule, InferContext, OpCost } from '../registry.js';
import { sizeOf, stridesOf, Tensor, type Shape } from '../tensor.js';

/** Storage arrays whose elements are plain JS numbers. */
export type NumArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
export type BigArray = BigInt64Array | BigUint64Array;
// Generic element access for data-movement kernels (any dtype, strings included).
export type AnyArray = { [i: number]: unknown; length: number };

/** Elements as numbers; no copy when the storage already holds numbers. */
export function nums(t: Tensor): ArrayLike<number> {
  switch (t.dtype) {
    case 'float16': case 'bfloat16': case 'int64': case 'uint64': return toF64(t);
    case 'string': throw new Error('expected a numeric tensor, got a string tensor');
    default: return t.data as NumArray;
  }
}

/** Elements as a Float64Array (a copy unless the tensor is float64). */
export function toF64(t: Tensor): Float64Array {
  const d = t.data;
  switch (t.dtype) {
    case 'float64': return d as Float64Array;
    case 'float16': { const o = new Float64Array(t.size); const s = d as Uint16Array; for (let i = 0; i < o.length; i++) o[i] = float16BitsToFloat32(s[i]!); return o; }
    case 'bfloat16': { const o = new Float64Array(t.size); const s = d as Uint16Array; for (let i = 0; i < o.length; i++) o[i] = bfloat16BitsToFloat32(s[i]!); return o; }
    case 'int64': case 'uint64': { const o = new Float64Array(t.size); const s = d as BigArray; for (let i = 0; i < o.length; i++) o[i] = Number(s[i]!); return o; }
    case 'string': throw new Error('expected a numeric tensor, got a string tensor');
    default: return Float64Array.from(d as NumArray);
  }
}

/** Float math happens in float32 for float32/float16/bfloat16 tensors and in float64 for the rest. */
export function floatWork(dtype: DType): 'float32' | 'float64' {
  return dtype === 'float64' ? 'float64' : 'float32';
}

/** Builds a tensor of `dtype` from numbers, converting (truncating, wrapping) like ONNX Cast. */
export function fromNums(dtype: DType, shape: Shape, values: ArrayLike<number>): Tensor {
  if ((dtype === 'float32' && values instanceof Float32Array) || (dtype === 'float64' && values instanceof Float64Array) ||
    (dtype === 'int32' && values instanceof Int32Array)) {
    return new Tensor(dtype, shape, values);
  }
  const n = values.length;
  const out = allocate(dtype, n);
  switch (dtype) {
    case 'float16': { const o = out as Uint16Array; for (let i = 0; i < n; i++) o[i] = float32ToFloat16Bits(values[i]!); break; }
    case 'bfloat16': { const o = out as Uint16Array; for (let i = 0; i < n; i++) o[i] = float32ToBfloat16Bits(values[i]!); break; }
    case 'int64': case 'uint64': {
      const o = out as BigArray;
      for (let i = 0; i < n; i++) { const v = values[i]!; o[i] = Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n; }
      break;
    }
    case 'bool': { const o = out as Uint8Array; for (let i = 0; i < n; i++) { const v = values[i]!; o[i] = v !== 0 ? 1 : 0; } break; }
    case 'string': { const o = out as string[]; for (let i = 0; i < n; i++) o[i] = String(values[i]); break; }
    default: (out as NumArray).set(values as ArrayLike<number>);
  }
  return new Tensor(dtype, shape, out);
}

/** A shape-like int tensor (int64 / int32) as JS numbers. */
export function intsOf(t: Tensor): number[] {
  const out = new Array<number>(t.size);
  const d = t.data as ArrayLike<number | bigint>;
  for (let i = 0; i < t.size; i++) out[i] = Number(d[i]!);
  return out;
}

export function int64(values: readonly number[], shape: Shape = [values.length]): Tensor {
  const d = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) d[i] = BigInt(values[i]!);
  return new Tensor('int64', shape, d);
}

export function scalarOf(t: Tensor | undefined, fallback: number): number {
  if (!t || t.size === 0) return fallback;
  const v = (t.data as ArrayLike<number | bigint>)[0]!;
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') return t.getFlat(0);
  return Number(v);
}

/** A tensor of the same dtype sharing no storage, built by copying elements at the given source indices. */
export function gatherFlat(src: Tensor, shape: Shape, index: ArrayLike<number>): Tensor {
  const n = index.length;
  const out = allocate(src.dtype, n) as unknown as AnyArray;
  const s = src.data as unknown as AnyArray;
  for (let i = 0; i < n; i++) out[i] = s[index[i]!];
  return new Tensor(src.dtype, shape, out as unknown as TensorData);
}

/** Normalises a possibly negative axis; throws naming the valid range. */
export function normAxis(axis: number, rank: number, what = 'axis'): number {
  if (axis < -rank || axis >= rank) {
    throw new Error(`${what} ${axis} is out of range for rank ${rank} (valid: ${-rank}..${rank - 1})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Strides of `inShape` broadcast to `outShape` (0 along broadcast dims). */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const n = outShape.length;
  const st = stridesOf(inShape);
  const out = new Array<number>(n).fill(0);
  const off = n - inShape.length;
  for (let i = 0; i < inShape.length; i++) out[off + i] = inShape[i] === 1 ? 0 : st[i]!;
  return out;
}

/** For each element of `outShape`, the flat index into a tensor of `inShape` broadcast to it. */
export function broadcastIndex(inShape: Shape, outShape: Shape): Int32Array {
  const size = sizeOf(outShape);
  const idx = new Int32Array(size);
  if (size === 0) return idx;
  const st = broadcastStrides(inShape, outShape);
  const n = outShape.length;
  if (n === 0) return idx;
  const last = outShape[n - 1]!;
  const ls = st[n - 1]!;
  const pos = new Array<number>(n).fill(0);
  let base = 0;
  for (let o = 0; o < size; o += last) {
    for (let j = 0; j < last; j++) idx[o + j] = base + j * ls;
    for (let d = n - 2; d >= 0; d--) {
      pos[d]++;
      base += st[d]!;
      if (pos[d]! < outShape[d]!) break;
      base -= st[d]! * outShape[d]!;
      pos[d] = 0;
    }
  }
  return idx;
}

/** Numpy broadcast of concrete shapes. */
export function broadcastConcrete(...shapes: Shape[]): number[] {
  const n = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(n).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = n - s.length + i;
      const d = s[i]!;
      if (d === out[o]) continue;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1) throw new Error(`shapes ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')} cannot broadcast`);
    }
  }
  return out;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The default-domain opset version in force for a node (nested graphs inherit their parent's). */
export function opsetOf(node: Node): number {
  let g: Graph = node.graph;
  while (g.parent) g = g.parent;
  return g.opsets.find((x) => x.domain === '' || x.domain === 'ai.onnx')?.version ?? 17;
}

export function optInts(node: Node, name: string): number[] | undefined {
  return node.attrs.has(name) ? node.ints(name) : undefined;
}

// ---- inference helpers ----

export function known(shape: readonly Dim[] | undefined): shape is number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}

export function rankOf(t: ValueType | undefined): number | undefined {
  return t?.shape?.length;
}

export function typeOf(dtype: DType, shape: readonly Dim[] | undefined): ValueType {
  return shape ? { dtype, shape: [...shape] } : { dtype };
}

/** Input i's type, or an error naming the missing input. */
export function need(ctx: InferContext, i: number, name: string): ValueType | undefined {
  if (ctx.node.inputs[i] == null) throw new Error(`input ${name} (#${i}) is required`);
  return ctx.inputs[i];
}

/** The int values of a constant input (shape-like), or undefined when unknown until run time. */
export function constInts(ctx: InferContext, i: number): number[] | undefined {
  if (ctx.node.inputs[i] == null) return undefined;
  const t = ctx.constant(i);
  return t ? intsOf(t) : undefined;
}

export function fmtShape(s: readonly Dim[] | undefined): string {
  return s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[*]';
}

/** Product of two dims; a symbolic dim times 1 keeps its name, anything else unknown is null. */
export function dimMul(a: Dim, b: Dim): Dim {
  if (typeof a === 'number' && typeof b === 'number') return a * b;
  if (b === 1) return a;
  if (a === 1) return b;
  return null;
}

// ---- cost helpers ----

export function numel(v: Value | null | undefined): number | undefined {
  const s = v?.type?.shape;
  if (!known(s)) return undefined;
  return sizeOf(s);
}

function sumKnown(vals: (number | undefined)[]): number | undefined {
  let s = 0;
  for (const v of vals) { if (v === undefined) return undefined; s += v; }
  return s;
}

export function ioCost(node: Node): OpCost {
  return {
    elementsRead: sumKnown(node.inputs.filter((v) => v).map((v) => numel(v))),
    elementsWritten: sumKnown(node.outputs.filter((v) => v.name !== '').map((v) => numel(v))),
  };
}

/** Cost of an op doing `perElement` flops for each output element. */
export function elementwiseCost(perElement = 1): CostRule {
  return (node) => {
    const n = numel(node.outputs[0]);
    return { ...ioCost(node), flops: n === undefined ? undefined : n * perElement };
  };
}

/** Cost of an op that only moves data. */
export const moveCost: CostRule = (node) => ({ ...ioCost(node), flops: 0 });

export { isBigIntDType, sizeOf, stridesOf };
