import type { DType } from '../dtype.js';
import type { Dim, Node, ValueType } from '../graph.js';
import type { FloatAlloc, OpSchema } from '../registry.js';
import { sizeOf, Tensor } from '../tensor.js';
import { broadcastShapes } from './shape-util.js';
import { gemmABt, gemmStrided, transpose2d, wasmGemm, type FloatArray, type GemmPath } from './gemm.js';
import {
  broadcastConcrete, broadcastIndex, fmtShape, fromNums, ioCost, known, nums, sameShape, stridesOf, toF64, typeOf,
} from './util.js';

/** The typed array float math runs in for a dtype (float32 for float32/16, float64 otherwise). */
export function workArray(dtype: DType, n: number, alloc?: FloatAlloc): FloatArray {
  const f32 = dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16';
  // Only a float32/float64 tensor keeps its work array as storage, so only those recycle buffers.
  if (alloc && dtype === 'float32') return alloc('float32', n);
  if (alloc && dtype === 'float64') return alloc('float64', n);
  return f32 ? new Float32Array(n) : new Float64Array(n);
}

/** A tensor's elements in its work float type; no copy when the storage already is that type. */
export function asWork(t: Tensor): FloatArray {
  if (t.dtype === 'float32' || t.dtype === 'float64') return t.data as FloatArray;
  const w = workArray(t.dtype, t.size);
  w.set(nums(t));
  return w;
}

export function fromWork(dtype: DType, shape: readonly number[], w: FloatArray): Tensor {
  return fromNums(dtype, shape, w);
}

// ---------------- MatMul ----------------

function matmulShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  if (a.length === 0 || b.length === 0) throw new Error('MatMul inputs must have rank >= 1');
  const as = a.length === 1 ? [1, a[0]!] : a;
  const bs = b.length === 1 ? [b[0]!, 1] : b;
  const k1 = as[as.length - 1]!;
  const k2 = bs[bs.length - 2]!;
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw new Error(`inner dimensions ${k1} and ${k2} differ (A ${fmtShape(a)}, B ${fmtShape(b)})`);
  }
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
  const out: Dim[] = [...batch];
  if (a.length > 1) out.push(as[as.length - 2]!);
  if (b.length > 1) out.push(bs[bs.length - 1]!);
  return out;
}

export function matmul(a: Tensor, b: Tensor, outDtype: DType = a.dtype, path: GemmPath = 'auto', alloc?: FloatAlloc): Tensor {
  const outShapeD = matmulShapes(a.shape, b.shape) as number[];
  const as = a.rank === 1 ? [1, a.shape[0]!] : a.shape;
  const bs = b.rank === 1 ? [b.shape[0]!, 1] : b.shape;
  const M = as[as.length - 2]!;
  const K = as[as.length - 1]!;
  const N = bs[bs.length - 1]!;
  const batchA = as.slice(0, -2);
  const batchB = bs.slice(0, -2);
  const batch = broadcastConcrete(batchA, batchB);
  const nBatch = sizeOf(batch);
  const A = asWork(a);
  const B = asWork(b);
  const nbB = sizeOf(batchB);
  if (wasmGemm(A, path)) {
    // Float32 on the wasm kernel: B is packed straight from its row-major layout.
    const C = outDtype === 'float32' && alloc ? alloc('float32', nBatch * M * N) : new Float32Array(nBatch * M * N);
    if (nbB === 1 && sameShape(batchA, batch)) gemmStrided(nBatch * M, N, K, A, 0, K, 1, B, 0, N, 1, C, 0, N);
    else {
      const ia = broadcastIndex(batchA, batch);
      const ib = broadcastIndex(batchB, batch);
      for (let p = 0; p < nBatch; p++) gemmStrided(M, N, K, A, ia[p]! * M * K, K, 1, B, ib[p]! * K * N, N, 1, C, p * M * N, N);
    }
    return fromWork(outDtype, outShapeD, C);
  }
  const Bt = workArray(a.dtype, nbB * N * K);
  for (let q = 0; q < nbB; q++) transpose2d(B, q * K * N, K, N, Bt, q * N * K);
  const C = workArray(a.dtype, nBatch * M * N);
  if (nbB === 1 && sameShape(batchA, batch)) {
    // A shared right operand: fold A's batch into rows for one larger GEMM.
    gemmABt(nBatch * M, N, K, A, 0, Bt, 0, C, 0);
  } else {
    const ia = broadcastIndex(batchA, batch);
    const ib = broadcastIndex(batchB, batch);
    for (let p = 0; p < nBatch; p++) gemmABt(M, N, K, A, ia[p]! * M * K, Bt, ib[p]! * N * K, C, p * M * N);
  }
  return fromWork(outDtype, outShapeD, C);
}

function matmulCost(node: Node) {
  const a = node.inputs[0]?.type?.shape;
  const out = node.outputs[0]?.type?.shape;
  if (!known(a) || !known(out)) return ioCost(node);
  const K = a[a.length - 1]!;
  return { ...ioCost(node), macs: sizeOf(out) * K };
}

const matmulOp: OpSchema = {
  op: 'MatMul',
  inputs: [{ name: 'A' }, { name: 'B' }],
  outputs: [{ name: 'Y' }],
  infer: (ctx) => {
    const [a, b] = ctx.inputs;
    if (a && b && a.dtype !== b.dtype) throw new Error(`A is ${a.dtype} but B is ${b.dtype}`);
    const d = a?.dtype ?? b?.dtype;
    if (!d) return [undefined];
    if (!a?.shape || !b?.shape) return [{ dtype: d }];
    return [{ dtype: d, shape: matmulShapes(a.shape, b.shape) }];
  },
  kernel: ({ inputs, alloc }) => [matmul(inputs[0]!, inputs[1]!, inputs[0]!.dtype, 'auto', alloc)],
  variants: { js: ({ inputs }) => [matmul(inputs[0]!, inputs[1]!, inputs[0]!.dtype, 'js')] },
  cost: matmulCost,
};

// ---------------- Gemm ----------------

const gemmOp: OpSchema = {
  op: 'Gemm',
  inputs: [{ name: 'A' }, { name: 'B' }, { name: 'C', optional: true }],
  outputs: [{ name: 'Y' }],
  attrs: {
    alpha: { type: 'float', default: 1 }, beta: { type: 'float', default: 1 },
    transA: { type: 'int', default: 0 }, transB: { type: 'int', default: 0 },
  },
  infer: (ctx) => {
    const [a, b, c] = ctx.inputs;
    const d = a?.dtype ?? b?.dtype;
    if (!d) return [undefined];
    if (!a?.shape || !b?.shape) return [{ dtype: d }];
    if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error(`A ${fmtShape(a.shape)} and B ${fmtShape(b.shape)} must both be 2-D`);
    const ta = ctx.node.int('transA', 0) !== 0;
    const tb = ctx.node.int('transB', 0) !== 0;
    const [M, K1] = ta ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [K2, N] = tb ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (typeof K1 === 'number' && typeof K2 === 'number' && K1 !== K2) throw new Error(`inner dimensions ${K1} and ${K2} differ`);
    if (c?.shape) broadcastShapes([M, N], c.shape);
    return [{ dtype: d, shape: [M, N] }];
  },
  kernel: ({ node, inputs, alloc }) => [gemmKernel(node, inputs, 'auto', alloc)],
  variants: { js: ({ node, inputs }) => [gemmKernel(node, inputs, 'js')] },
  cost: (node) => {
    const y = node.outputs[0]?.type?.shape;
    const a = node.inputs[0]?.type?.shape;
    if (!known(y) || !known(a)) return ioCost(node);
    const K = node.int('transA', 0) ? a[0]! : a[1]!;
    return { ...ioCost(node), macs: y[0]! * y[1]! * K, flops: node.inputs[2] ? y[0]! * y[1]! : 0 };
  },
};

function gemmKernel(node: Node, inputs: (Tensor | undefined)[], path: GemmPath, alloc?: FloatAlloc): Tensor {
  const [a, b, c] = inputs;
  const alpha = node.float('alpha', 1);
  const beta = node.float('beta', 1);
  const ta = node.int('transA', 0) !== 0;
  const tb = node.int('transB', 0) !== 0;
  const [M, K] = ta ? [a!.shape[1]!, a!.shape[0]!] : [a!.shape[0]!, a!.shape[1]!];
  const [K2, N] = tb ? [b!.shape[1]!, b!.shape[0]!] : [b!.shape[0]!, b!.shape[1]!];
  if (K !== K2) throw new Error(`inner dimensions ${K} and ${K2} differ (A [${a!.shape.join(', ')}], B [${b!.shape.join(', ')}])`);
  let A = asWork(a!);
  let B = asWork(b!);
  const Y = workArray(a!.dtype, M * N, alloc);
  if (wasmGemm(Y, path)) {
    // Transposed operands are read through strides while packing.
    gemmStrided(M, N, K, A, 0, ta ? 1 : K, ta ? M : 1, B, 0, tb ? 1 : N, tb ? K : 1, Y, 0, N);
  } else {
    if (ta) A = transpose2d(A, 0, K, M, workArray(a!.dtype, M * K));
    if (!tb) B = transpose2d(B, 0, K, N, workArray(a!.dtype, N * K));
    gemmABt(M, N, K, A, 0, B, 0, Y, 0);
  }
  if (alpha !== 1) for (let i = 0; i < Y.length; i++) Y[i] *= alpha;
  if (c && beta !== 0) {
    const C = nums(c);
    if (sameShape(c.shape, [M, N])) for (let i = 0; i < Y.length; i++) Y[i] += beta * C[i]!;
    else if (c.size === N && c.shape[c.rank - 1] === N) {
      // A bias row broadcast over M (the common case).
      for (let i = 0; i < M; i++) for (let j = 0, o = i * N; j < N; j++) Y[o + j] += beta * C[j]!;
    } else {
      const idx = broadcastIndex(c.shape, [M, N]);
      for (let i = 0; i < Y.length; i++) Y[i] += beta * C[idx[i]!]!;
    }
  }
  return fromWork(a!.dtype, [M, N], Y);
}

// ---------------- Einsum ----------------

interface EinsumPlan {
  inputs: string[];
  output: string;
}

function parseEinsum(eq: string, ranks: number[]): EinsumPlan {
  const clean = eq.replace(/\s+/g, '');
  const [lhs, rhs] = clean.split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  if (terms.length !== ranks.length) throw new Error(`equation '${eq}' has ${terms.length} operands, got ${ranks.length} inputs`);
  // Ellipsis dims get upper-case letters that no term uses (ONNX einsum terms are lower-case).
  let ellRank = 0;
  terms.forEach((t, i) => {
    if (t.includes('...')) ellRank = Math.max(ellRank, ranks[i]! - (t.length - 3));
  });
  const ellLetters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.slice(26 - ellRank);
  const inputs = terms.map((t, i) => {
    if (!t.includes('...')) {
      if (t.length !== ranks[i]) throw new Error(`operand ${i} term '${t}' has ${t.length} indices but rank ${ranks[i]}`);
      return t;
    }
    const r = ranks[i]! - (t.length - 3);
    return t.replace('...', ellLetters.slice(ellLetters.length - r));
  });
  let output: string;
  if (rhs !== undefined) output = rhs.replace('...', ellLetters);
  else {
    const counts = new Map<string, number>();
    for (const t of terms) for (const ch of t.replace('...', '')) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    output = ellLetters + [...counts].filter(([, c]) => c === 1).map(([k]) => k).sort().join('');
  }
  return { inputs, output };
}

function einsum(eq: string, xs: Tensor[], dtype: DType): Tensor {
  const plan = parseEinsum(eq, xs.map((x) => x.rank));
  const size = new Map<string, number>();
  plan.inputs.forEach((t, i) => {
    for (let k = 0; k < t.length; k++) {
      const d = xs[i]!.shape[k]!;
      const prev = size.get(t[k]!);
      if (prev === undefined || prev === 1) size.set(t[k]!, d);
      else if (d !== prev && d !== 1) throw new Error(`index '${t[k]}' has sizes ${prev} and ${d}`);
    }
  });
  const letters = [...plan.output, ...[...size.keys()].filter((l) => !plan.output.includes(l))];
  const dims = letters.map((l) => size.get(l)!);
  const outShape = dims.slice(0, plan.output.length);
  const data = xs.map((x) => toF64(x));
  // For each operand, the stride of each letter (summed for repeated letters: diagonals).
  const strides = plan.inputs.map((t, i) => {
    const st = stridesOf(xs[i]!.shape);
    return letters.map((l) => {
      let s = 0;
      for (let k = 0; k < t.length; k++) if (t[k] === l && xs[i]!.shape[k] !== 1) s += st[k]!;
      return s;
    });
  });
  const out = new Float64Array(sizeOf(outShape));
  const total = sizeOf(dims);
  const pos = new Array<number>(letters.length).fill(0);
  const offs = new Array<number>(xs.length).fill(0);
  const inner = total / Math.max(1, out.length);
  const nL = letters.length;
  for (let t = 0; t < total; t++) {
    let p = 1;
    for (let q = 0; q < xs.length; q++) p *= data[q]![offs[q]!]!;
    out[Math.floor(t / inner)] += p;
    for (let d = nL - 1; d >= 0; d--) {
      pos[d]++;
      for (let q = 0; q < xs.length; q++) offs[q] += strides[q]![d]!;
      if (pos[d]! < dims[d]!) break;
      for (let q = 0; q < xs.length; q++) offs[q] -= strides[q]![d]! * dims[d]!;
      pos[d] = 0;
    }
  }
  return fromNums(dtype, outShape, out);
}

const einsumOp: OpSchema = {
  op: 'Einsum',
  inputs: [{ name: 'Inputs', variadic: true }],
  outputs: [{ name: 'Output' }],
  attrs: { equation: { type: 'string', required: true } },
  infer: (ctx) => {
    const d = ctx.inputs[0]?.dtype;
    if (!d) return [undefined];
    if (!ctx.inputs.every((t) => t?.shape)) return [{ dtype: d }];
    const plan = parseEinsum(ctx.node.string('equation'), ctx.inputs.map((t) => t!.shape!.length));
    const size = new Map<string, Dim>();
    plan.inputs.forEach((t, i) => {
      for (let k = 0; k < t.length; k++) {
        const dim = ctx.inputs[i]!.shape![k]!;
        const prev = size.get(t[k]!);
        if (prev === undefined || prev === 1) size.set(t[k]!, dim);
      }
    });
    return [{ dtype: d, shape: [...plan.output].map((l) => size.get(l) ?? null) }];
  },
  kernel: ({ node, inputs }) => [einsum(node.string('equation'), inputs as Tensor[], inputs[0]!.dtype)],
  cost: (node) => ({ ...ioCost(node) }),
};

// ---------------- Det ----------------

function det(x: Tensor): Tensor {
  const n = x.shape[x.rank - 1]!;
  if (x.shape[x.rank - 2] !== n) throw new Error(`input [${x.shape.join(', ')}] is not square in its last two dims`);
  const batch = x.shape.slice(0, -2);
  const src = toF64(x);
  const out = new Float64Array(sizeOf(batch));
  const m = new Float64Array(n * n);
  for (let b = 0; b < out.length; b++) {
    m.set(src.subarray(b * n * n, (b + 1) * n * n));
    let d = 1;
    for (let c = 0; c < n; c++) {
      let p = c;
      for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
      if (m[p * n + c] === 0) { d = 0; break; }
      if (p !== c) {
        for (let k = 0; k < n; k++) { const t = m[c * n + k]!; m[c * n + k] = m[p * n + k]!; m[p * n + k] = t; }
        d = -d;
      }
      const piv = m[c * n + c]!;
      d *= piv;
      for (let r = c + 1; r < n; r++) {
        const f = m[r * n + c]! / piv;
        if (f !== 0) for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k]!;
      }
    }
    out[b] = d;
  }
  return fromNums(x.dtype, batch, out);
}

const detOp: OpSchema = {
  op: 'Det',
  inputs: [{ name: 'X' }],
  outputs: [{ name: 'Y' }],
  infer: (ctx) => {
    const x = ctx.inputs[0];
    if (!x) return [undefined];
    return [typeOf(x.dtype, x.shape?.slice(0, -2))];
  },
  kernel: ({ inputs }) => [det(inputs[0]!)],
  cost: (node) => ({ ...ioCost(node) }),
};

// ---------------- MatMulInteger ----------------

/** Subtracts a zero point that is a scalar or per-`axis` 1-D tensor; returns float64 values. */
export function centered(x: Tensor, zp: Tensor | undefined, axis: number): Float64Array {
  const v = toF64(x);
  if (!zp) return v;
  const z = toF64(zp);
  if (z.length === 1) {
    const z0 = z[0]!;
    if (z0 !== 0) for (let i = 0; i < v.length; i++) v[i] -= z0;
    return v;
  }
  const ax = axis < 0 ? axis + x.rank : axis;
  const inner = sizeOf(x.shape.slice(ax + 1));
  const dim = x.shape[ax]!;
  for (let i = 0; i < v.length; i++) v[i] -= z[Math.floor(i / inner) % dim]!;
  return v;
}

const matmulIntegerOp: OpSchema = {
  op: 'MatMulInteger',
  inputs: [{ name: 'A' }, { name: 'B' }, { name: 'a_zero_point', optional: true }, { name: 'b_zero_point', optional: true }],
  outputs: [{ name: 'Y' }],
  differentiable: false,
  infer: (ctx) => {
    const [a, b] = ctx.inputs;
    if (!a?.shape || !b?.shape) return [{ dtype: 'int32' }];
    return [{ dtype: 'int32', shape: matmulShapes(a.shape, b.shape) }];
  },
  kernel: ({ inputs }) => {
    const [a, b, az, bz] = inputs;
    const A = new Tensor('float64', a!.shape, centered(a!, az, -2));
    const B = new Tensor('float64', b!.shape, centered(b!, bz, -1));
    return [matmul(A, B, 'int32')];
  },
  cost: matmulCost,
};

export const linalgOps: OpSchema[] = [matmulOp, gemmOp, einsumOp, detOp, matmulIntegerOp];

export { matmulShapes, matmulCost };
export type { ValueType };
