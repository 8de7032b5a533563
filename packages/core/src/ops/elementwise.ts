import { dtypeFromOnnxCode, isBigIntDType, isFloatDType, type DType, type TensorData } from '../dtype.js';
import type { Node } from '../graph.js';
import type { FloatAlloc, InferContext, KernelContext, OpSchema } from '../registry.js';
import { sizeOf, Tensor, type Shape } from '../tensor.js';
import { broadcastTypes } from './shape-util.js';
import { erf, erfFast, geluExact, geluFast } from './erf.js';
import {
  broadcastConcrete, broadcastIndex, broadcastStrides, elementwiseCost, fromNums, nums, sameShape, scalarOf,
  typeOf, type AnyArray, type BigArray, type NumArray,
} from './util.js';

type F1 = (x: number) => number;
type F2 = (a: number, b: number) => number;
type B2 = (a: bigint, b: bigint) => bigint | boolean;

/** Output storage for a float32/float64/bool result written directly; other dtypes go through Float64Array. */
function outArray(dtype: DType, n: number, alloc?: FloatAlloc): NumArray {
  if (dtype === 'float32') return alloc ? alloc('float32', n) : new Float32Array(n);
  if (dtype === 'bool') return new Uint8Array(n);
  return new Float64Array(n);
}

function wrap(dtype: DType, shape: Shape, o: NumArray): Tensor {
  if (dtype === 'bool' && o instanceof Uint8Array) return new Tensor('bool', shape, o);
  return fromNums(dtype, shape, o);
}

// ---------------- unary ----------------

interface UnaryOpts {
  attrs?: OpSchema['attrs'];
  /** Bit-exact path for int64/uint64. */
  big?: (x: bigint) => bigint;
  out?: DType;
  differentiable?: boolean;
  flops?: number;
}

/** The storage of a donated input when an elementwise result of `dtype` can be written over it. */
function reusable(t: Tensor, dtype: DType, shape: Shape, donated: ReadonlySet<Tensor> | undefined): NumArray | undefined {
  if (!donated?.has(t) || t.dtype !== dtype || (dtype !== 'float32' && dtype !== 'float64') || !sameShape(t.shape, shape)) return undefined;
  return t.data as NumArray;
}

export function mapUnary(x: Tensor, f: F1, outDtype: DType = x.dtype, big?: (x: bigint) => bigint, into?: NumArray, alloc?: FloatAlloc): Tensor {
  if (big && isBigIntDType(x.dtype)) {
    const s = x.data as BigArray;
    const o = (x.dtype === 'int64' ? new BigInt64Array(x.size) : new BigUint64Array(x.size)) as BigArray;
    for (let i = 0; i < o.length; i++) o[i] = big(s[i]!);
    return new Tensor(x.dtype, x.shape, o);
  }
  const s = nums(x);
  const n = x.size;
  const o = into ?? outArray(outDtype, n, alloc);
  if (f === relu && s instanceof Float32Array && o instanceof Float32Array) reluBits(s, o);
  else if (f === relu) for (let i = 0; i < n; i++) { const v = s[i]!; o[i] = v > 0 ? v : 0; }
  else for (let i = 0; i < n; i++) o[i] = f(s[i]!);
  return wrap(outDtype, x.shape, o);
}

function unary(op: string, make: (node: Node, dtype: DType) => F1, opts: UnaryOpts = {}): OpSchema {
  return {
    op,
    inputs: [{ name: 'X' }],
    outputs: [{ name: 'Y' }],
    attrs: opts.attrs,
    differentiable: opts.differentiable,
    infer: (ctx) => (ctx.inputs[0] ? [typeOf(opts.out ?? ctx.inputs[0].dtype, ctx.inputs[0].shape)] : [undefined]),
    kernel: ({ node, inputs, donated, alloc }) => {
      const x = inputs[0]!;
      const out = opts.out ?? x.dtype;
      return [mapUnary(x, make(node, x.dtype), out, opts.big, reusable(x, out, x.shape, donated), alloc)];
    },
    cost: elementwiseCost(opts.flops ?? 1),
  };
}

/**
 * Float32 Relu on the bit patterns, without a data-dependent branch (a `v > 0 ? v : 0` loop
 * mispredicts on every other element of zero-mean activations): a set sign bit clears the word, so
 * negatives and -0 become +0; NaNs (checked by a branch that is never taken in practice) pass through.
 */
function reluBits(s: Float32Array, o: Float32Array): void {
  const si = new Int32Array(s.buffer, s.byteOffset, s.length);
  const oi = new Int32Array(o.buffer, o.byteOffset, o.length);
  for (let i = 0; i < si.length; i++) {
    const b = si[i]!;
    oi[i] = (b & 0x7fffffff) > 0x7f800000 ? b : b & ~(b >> 31);
  }
}

const f1 = (f: F1) => () => f;
const relu: F1 = (x) => (x > 0 ? x : 0);

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : r;
}

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const bigAbs = (x: bigint) => (x < 0n ? -x : x);

const unaryOps: OpSchema[] = [
  unary('Abs', f1(Math.abs), { big: bigAbs }),
  unary('Neg', f1((x) => -x), { big: (x) => -x }),
  unary('Exp', f1(Math.exp)),
  unary('Log', f1(Math.log)),
  unary('Sqrt', f1(Math.sqrt)),
  unary('Reciprocal', f1((x) => 1 / x)),
  unary('Sin', f1(Math.sin)),
  unary('Cos', f1(Math.cos)),
  unary('Tan', f1(Math.tan)),
  unary('Asin', f1(Math.asin)),
  unary('Acos', f1(Math.acos)),
  unary('Atan', f1(Math.atan)),
  unary('Sinh', f1(Math.sinh)),
  unary('Cosh', f1(Math.cosh)),
  unary('Asinh', f1(Math.asinh)),
  unary('Acosh', f1(Math.acosh)),
  unary('Atanh', f1(Math.atanh)),
  unary('Tanh', f1(Math.tanh)),
  unary('Sigmoid', f1((x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))))),
  unary('Relu', f1(relu), { big: (x) => (x > 0n ? x : 0n) }),
  unary('LeakyRelu', (n) => { const a = n.float('alpha', 0.01); return (x) => (x >= 0 ? x : a * x); }, { attrs: { alpha: { type: 'float', default: 0.01 } } }),
  unary('Elu', (n) => { const a = n.float('alpha', 1); return (x) => (x >= 0 ? x : a * (Math.exp(x) - 1)); }, { attrs: { alpha: { type: 'float', default: 1 } } }),
  unary('Selu', (n) => {
    const a = n.float('alpha', 1.67326319217681884765625);
    const g = n.float('gamma', 1.05070102214813232421875);
    return (x) => (x > 0 ? g * x : g * (a * Math.exp(x) - a));
  }, { attrs: { alpha: { type: 'float', default: 1.67326319217681884765625 }, gamma: { type: 'float', default: 1.05070102214813232421875 } } }),
  unary('Celu', (n) => { const a = n.float('alpha', 1); return (x) => Math.max(0, x) + Math.min(0, a * (Math.exp(x / a) - 1)); }, { attrs: { alpha: { type: 'float', default: 1 } } }),
  unary('HardSigmoid', (n) => {
    const a = n.float('alpha', 0.2);
    const b = n.float('beta', 0.5);
    return (x) => Math.max(0, Math.min(1, a * x + b));
  }, { attrs: { alpha: { type: 'float', default: 0.2 }, beta: { type: 'float', default: 0.5 } } }),
  unary('HardSwish', f1((x) => x * Math.max(0, Math.min(1, x / 6 + 0.5)))),
  unary('Softplus', f1(softplus)),
  unary('Softsign', f1((x) => x / (1 + Math.abs(x)))),
  // float64 gets the full-precision erf; narrower floats the float32-accurate fast one.
  unary('Erf', (_, d) => (d === 'float64' ? erf : erfFast), { flops: 20 }),
  unary('Floor', f1(Math.floor), { differentiable: false }),
  unary('Ceil', f1(Math.ceil), { differentiable: false }),
  unary('Round', f1(roundHalfEven), { differentiable: false }),
  unary('Sign', f1((x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0)), { differentiable: false, big: (x) => (x > 0n ? 1n : x < 0n ? -1n : 0n) }),
  unary('IsNaN', f1((x) => (Number.isNaN(x) ? 1 : 0)), { out: 'bool', differentiable: false }),
  unary('IsInf', (n) => {
    const neg = n.int('detect_negative', 1) !== 0;
    const pos = n.int('detect_positive', 1) !== 0;
    return (x) => ((pos && x === Infinity) || (neg && x === -Infinity) ? 1 : 0);
  }, { out: 'bool', differentiable: false, attrs: { detect_negative: { type: 'int', default: 1 }, detect_positive: { type: 'int', default: 1 } } }),
  unary('Not', f1((x) => (x ? 0 : 1)), { differentiable: false }),
  unary('ThresholdedRelu', (n) => { const a = n.float('alpha', 1); return (x) => (x > a ? x : 0); }, { attrs: { alpha: { type: 'float', default: 1 } } }),
  unary('Mish', f1((x) => x * Math.tanh(softplus(x))), { flops: 4 }),
  unary('Gelu', (n, d) => {
    const approx = n.string('approximate', 'none');
    if (approx === 'tanh') return (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
    if (approx !== 'none') throw new Error(`attribute approximate is '${approx}'; valid: 'none', 'tanh'`);
    return d === 'float64' ? geluExact : geluFast;
  }, { attrs: { approximate: { type: 'string', default: 'none' } }, flops: 20 }),
  unary('Shrink', (n) => {
    const bias = n.float('bias', 0);
    const l = n.float('lambd', 0.5);
    return (x) => (x < -l ? x + bias : x > l ? x - bias : 0);
  }, { attrs: { bias: { type: 'float', default: 0 }, lambd: { type: 'float', default: 0.5 } } }),
];

// ---------------- binary (numpy broadcasting) ----------------

/** Arithmetic ops with dedicated loops (no per-element call); 0 means "call f". */
const Code = { Call: 0, Add: 1, Sub: 2, Mul: 3, Div: 4 } as const;
type Code = (typeof Code)[keyof typeof Code];

/** One run of `len` outputs: O[o + j] = f(A[ao + j·la], B[bo + j·lb]). */
function runRow(code: Code, f: F2, O: NumArray, o: number, A: ArrayLike<number>, ao: number, la: number, B: ArrayLike<number>, bo: number, lb: number, len: number): void {
  if (code !== Code.Call && la === 1 && (lb === 1 || lb === 0)) {
    // Contiguous A with a contiguous or scalar B: unit-stride loops with the scalar hoisted.
    if (lb === 0) {
      const b = B[bo]!;
      switch (code) {
        case Code.Add: for (let j = 0; j < len; j++) O[o + j] = A[ao + j]! + b; return;
        case Code.Sub: for (let j = 0; j < len; j++) O[o + j] = A[ao + j]! - b; return;
        case Code.Mul: for (let j = 0; j < len; j++) O[o + j] = A[ao + j]! * b; return;
        default: for (let j = 0; j < len; j++) O[o + j] = A[ao + j]! / b; return;
      }
    }
    switch (code) {
      case Code.Add: for (let j = 0; j < len; j++) O[o + j] = A[ao + j]! + B[bo + j]!; return;
      case Code.Sub: for (let j = 0; j < len; j++) O[o + j] = A[ao + j]! - B[bo + j]!; return;
      case Code.Mul: for (let j = 0; j < len; j++) O[o + j] = A[ao + j]! * B[bo + j]!; return;
      default: for (let j = 0; j < len; j++) O[o + j] = A[ao + j]! / B[bo + j]!; return;
    }
  }
  if (code !== Code.Call && la === 0 && lb === 1) {
    const a = A[ao]!;
    switch (code) {
      case Code.Add: for (let j = 0; j < len; j++) O[o + j] = a + B[bo + j]!; return;
      case Code.Sub: for (let j = 0; j < len; j++) O[o + j] = a - B[bo + j]!; return;
      case Code.Mul: for (let j = 0; j < len; j++) O[o + j] = a * B[bo + j]!; return;
      default: for (let j = 0; j < len; j++) O[o + j] = a / B[bo + j]!; return;
    }
  }
  switch (code) {
    case Code.Add: for (let j = 0; j < len; j++) O[o + j] = A[ao + j * la]! + B[bo + j * lb]!; return;
    case Code.Sub: for (let j = 0; j < len; j++) O[o + j] = A[ao + j * la]! - B[bo + j * lb]!; return;
    case Code.Mul: for (let j = 0; j < len; j++) O[o + j] = A[ao + j * la]! * B[bo + j * lb]!; return;
    case Code.Div: for (let j = 0; j < len; j++) O[o + j] = A[ao + j * la]! / B[bo + j * lb]!; return;
    default: for (let j = 0; j < len; j++) O[o + j] = f(A[ao + j * la]!, B[bo + j * lb]!);
  }
}

/** out[i] = f(a[ia], b[ib]) over the broadcast of the two shapes. */
function binaryLoop(A: ArrayLike<number>, sa: Shape, B: ArrayLike<number>, sb: Shape, O: NumArray, so: Shape, f: F2, code: Code = Code.Call): void {
  const n = O.length;
  if (n === 0) return;
  if (sameShape(sa, so) && sameShape(sb, so)) return runRow(code, f, O, 0, A, 0, 1, B, 0, 1, n);
  if (B.length === 1 && sameShape(sa, so)) return runRow(code, f, O, 0, A, 0, 1, B, 0, 0, n);
  if (A.length === 1 && sameShape(sb, so)) return runRow(code, f, O, 0, A, 0, 0, B, 0, 1, n);
  const r = so.length;
  const ta = broadcastStrides(sa, so);
  const tb = broadcastStrides(sb, so);
  const last = so[r - 1]!;
  const la = ta[r - 1]!;
  const lb = tb[r - 1]!;
  const pos = new Array<number>(r).fill(0);
  let ao = 0;
  let bo = 0;
  for (let o = 0; o < n; o += last) {
    runRow(code, f, O, o, A, ao, la, B, bo, lb, last);
    for (let d = r - 2; d >= 0; d--) {
      pos[d]++;
      ao += ta[d]!;
      bo += tb[d]!;
      if (pos[d]! < so[d]!) break;
      ao -= ta[d]! * so[d]!;
      bo -= tb[d]! * so[d]!;
      pos[d] = 0;
    }
  }
}

const CODES: Record<string, Code> = { Add: Code.Add, Sub: Code.Sub, Mul: Code.Mul };

/** Applies a binary function with broadcasting; int64/uint64 go through `big` when given (bit-exact). */
export function mapBinary(a: Tensor, b: Tensor, f: F2, outDtype: DType = a.dtype, big?: B2, code: Code = Code.Call, donated?: ReadonlySet<Tensor>, alloc?: FloatAlloc): Tensor {
  const shape = broadcastConcrete(a.shape, b.shape);
  if (big && isBigIntDType(a.dtype) && isBigIntDType(b.dtype)) {
    const ia = broadcastIndex(a.shape, shape);
    const ib = broadcastIndex(b.shape, shape);
    const A = a.data as BigArray;
    const B = b.data as BigArray;
    const n = ia.length;
    if (outDtype === 'bool') {
      const o = new Uint8Array(n);
      for (let i = 0; i < n; i++) o[i] = big(A[ia[i]!]!, B[ib[i]!]!) ? 1 : 0;
      return new Tensor('bool', shape, o);
    }
    const o = (outDtype === 'uint64' ? new BigUint64Array(n) : new BigInt64Array(n)) as BigArray;
    for (let i = 0; i < n; i++) o[i] = big(A[ia[i]!]!, B[ib[i]!]!) as bigint;
    return new Tensor(outDtype, shape, o);
  }
  // An input with the output's shape and dtype that dies here is overwritten in place: each output
  // element is written after the only read of that position.
  const o = reusable(a, outDtype, shape, donated) ?? reusable(b, outDtype, shape, donated) ?? outArray(outDtype, sizeOf(shape), alloc);
  binaryLoop(nums(a), a.shape, nums(b), b.shape, o, shape, f, code);
  return wrap(outDtype, shape, o);
}

interface BinaryOpts {
  big?: B2;
  bool?: boolean;
  differentiable?: boolean;
  attrs?: OpSchema['attrs'];
  names?: [string, string];
}

function binaryInfer(bool: boolean) {
  return (ctx: InferContext) => {
    const [a, b] = ctx.inputs;
    if (a && b && a.dtype !== b.dtype && ctx.node.op !== 'Pow' && ctx.node.op !== 'PRelu') {
      throw new Error(`inputs have different dtypes ${a.dtype} and ${b.dtype}`);
    }
    return [broadcastTypes([a, b], bool ? 'bool' : a?.dtype ?? b?.dtype)];
  };
}

function binary(op: string, make: (node: Node, dtype: DType) => F2, opts: BinaryOpts = {}): OpSchema {
  const [an, bn] = opts.names ?? ['A', 'B'];
  return {
    op,
    inputs: [{ name: an }, { name: bn }],
    outputs: [{ name: 'C' }],
    attrs: opts.attrs,
    differentiable: opts.bool ? false : opts.differentiable,
    infer: binaryInfer(opts.bool ?? false),
    kernel: ({ node, inputs, donated, alloc }) => {
      const a = inputs[0]!;
      const b = inputs[1]!;
      const code = CODES[op] ?? (op === 'Div' && isFloatDType(a.dtype) ? Code.Div : Code.Call);
      return [mapBinary(a, b, make(node, a.dtype), opts.bool ? 'bool' : a.dtype, opts.big, code, donated, alloc)];
    },
    cost: elementwiseCost(1),
  };
}

const f2 = (f: F2) => () => f;

function intDiv(dtype: DType): F2 {
  return isFloatDType(dtype) ? (a, b) => a / b : (a, b) => Math.trunc(a / b);
}

function pyMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}

function pyModBig(a: bigint, b: bigint): bigint {
  const r = a % b;
  return r !== 0n && r < 0n !== b < 0n ? r + b : r;
}

const binaryOps: OpSchema[] = [
  binary('Add', f2((a, b) => a + b), { big: (a, b) => a + b }),
  binary('Sub', f2((a, b) => a - b), { big: (a, b) => a - b }),
  binary('Mul', f2((a, b) => a * b), { big: (a, b) => a * b }),
  binary('Div', (_, d) => intDiv(d), { big: (a, b) => a / b }),
  binary('Pow', (_, d) => (isFloatDType(d) ? Math.pow : (a, b) => Math.trunc(Math.pow(a, b))), { names: ['X', 'Y'] }),
  {
    ...binary('Mod', (n, d) => {
      const fmod = n.int('fmod', 0) !== 0;
      if (!fmod && isFloatDType(d)) throw new Error('fmod must be 1 for floating-point inputs');
      return fmod ? (a, b) => a % b : pyMod;
    }, { attrs: { fmod: { type: 'int', default: 0 } } }),
    kernel: ({ node, inputs }) => {
      const a = inputs[0]!;
      const fmod = node.int('fmod', 0) !== 0;
      if (!fmod && isFloatDType(a.dtype)) throw new Error('fmod must be 1 for floating-point inputs');
      return [mapBinary(a, inputs[1]!, fmod ? (x, y) => x % y : pyMod, a.dtype, fmod ? (x, y) => x % y : pyModBig)];
    },
    differentiable: false,
  },
  binary('Equal', f2((a, b) => (a === b ? 1 : 0)), { bool: true, big: (a, b) => a === b }),
  binary('Less', f2((a, b) => (a < b ? 1 : 0)), { bool: true, big: (a, b) => a < b }),
  binary('LessOrEqual', f2((a, b) => (a <= b ? 1 : 0)), { bool: true, big: (a, b) => a <= b }),
  binary('Greater', f2((a, b) => (a > b ? 1 : 0)), { bool: true, big: (a, b) => a > b }),
  binary('GreaterOrEqual', f2((a, b) => (a >= b ? 1 : 0)), { bool: true, big: (a, b) => a >= b }),
  binary('And', f2((a, b) => (a && b ? 1 : 0)), { bool: true }),
  binary('Or', f2((a, b) => (a || b ? 1 : 0)), { bool: true }),
  binary('Xor', f2((a, b) => (!a !== !b ? 1 : 0)), { bool: true }),
  binary('BitwiseAnd', f2((a, b) => a & b), { big: (a, b) => a & b, differentiable: false }),
  binary('BitwiseOr', f2((a, b) => a | b), { big: (a, b) => a | b, differentiable: false }),
  binary('BitwiseXor', f2((a, b) => a ^ b), { big: (a, b) => a ^ b, differentiable: false }),
  binary('BitShift', (n) => {
    const dir = n.string('direction');
    if (dir === 'LEFT') return (a, b) => (b >= 32 ? 0 : (a * 2 ** b) % 2 ** 32);
    if (dir === 'RIGHT') return (a, b) => (b >= 32 ? 0 : Math.floor(a / 2 ** b));
    throw new Error(`attribute direction is '${dir}'; valid: 'LEFT', 'RIGHT'`);
  }, {
    attrs: { direction: { type: 'string', required: true } },
    differentiable: false,
    names: ['X', 'Y'],
  }),
  binary('PRelu', f2((x, s) => (x < 0 ? s * x : x)), { names: ['X', 'slope'] }),
];

// BitShift on 64-bit needs the direction inside the bigint function too.
{
  const i = binaryOps.findIndex((s) => s.op === 'BitShift');
  const base = binaryOps[i]!;
  binaryOps[i] = {
    ...base,
    kernel: (ctx) => {
      const dir = ctx.node.string('direction');
      const a = ctx.inputs[0]!;
      if (isBigIntDType(a.dtype)) {
        return [mapBinary(a, ctx.inputs[1]!, () => 0, a.dtype, dir === 'LEFT' ? (x, y) => x << y : (x, y) => x >> y)];
      }
      return base.kernel(ctx);
    },
  };
}

// ---------------- variadic ----------------

function variadic(op: string, f: F2, big?: B2, mean = false): OpSchema {
  return {
    op,
    inputs: [{ name: 'data_0', variadic: true }],
    outputs: [{ name: 'out' }],
    infer: (ctx) => [broadcastTypes(ctx.inputs)],
    kernel: ({ inputs }) => {
      const xs = inputs.filter((t): t is Tensor => t !== undefined);
      if (xs.length === 0) throw new Error('needs at least one input');
      let acc = xs[0]!;
      if (xs.length === 1) acc = mapUnary(acc, (x) => x, acc.dtype, (x) => x);
      for (let i = 1; i < xs.length; i++) acc = mapBinary(acc, xs[i]!, f, acc.dtype, big);
      if (mean) acc = mapUnary(acc, (x) => x / xs.length, acc.dtype, (x) => x / BigInt(xs.length));
      return [acc];
    },
    cost: (node) => elementwiseCost(Math.max(1, node.inputs.length - 1))(node),
  };
}

const nanMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a > b ? a : b);
const nanMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : a < b ? a : b);

const variadicOps: OpSchema[] = [
  variadic('Sum', (a, b) => a + b, (a, b) => a + b),
  variadic('Mean', (a, b) => a + b, (a, b) => a + b, true),
  variadic('Max', nanMax, (a, b) => (a > b ? a : b)),
  variadic('Min', nanMin, (a, b) => (a < b ? a : b)),
];

// ---------------- Where, Clip, Cast, CastLike, Identity ----------------

/** Copies elements of `x` (any dtype) broadcast to `shape`. */
export function expandTo(x: Tensor, shape: number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const idx = broadcastIndex(x.shape, shape);
  const out = Tensor.zeros(x.dtype, shape);
  const s = x.data as unknown as AnyArray;
  const o = out.data as unknown as AnyArray;
  for (let i = 0; i < idx.length; i++) o[i] = s[idx[i]!];
  return out;
}

const where: OpSchema = {
  op: 'Where',
  inputs: [{ name: 'condition' }, { name: 'X' }, { name: 'Y' }],
  outputs: [{ name: 'output' }],
  infer: (ctx) => {
    const t = broadcastTypes(ctx.inputs, ctx.inputs[1]?.dtype ?? ctx.inputs[2]?.dtype);
    return [t];
  },
  kernel: ({ inputs }) => {
    const [c, x, y] = inputs as Tensor[];
    const shape = broadcastConcrete(c!.shape, x!.shape, y!.shape);
    const ic = broadcastIndex(c!.shape, shape);
    const ix = broadcastIndex(x!.shape, shape);
    const iy = broadcastIndex(y!.shape, shape);
    const out = Tensor.zeros(x!.dtype, shape);
    const C = c!.data as Uint8Array;
    const X = x!.data as unknown as AnyArray;
    const Y = y!.data as unknown as AnyArray;
    const O = out.data as unknown as AnyArray;
    for (let i = 0; i < ic.length; i++) O[i] = C[ic[i]!] ? X[ix[i]!] : Y[iy[i]!];
    return [out];
  },
  cost: elementwiseCost(1),
};

const clip: OpSchema = {
  op: 'Clip',
  inputs: [{ name: 'input' }, { name: 'min', optional: true }, { name: 'max', optional: true }],
  outputs: [{ name: 'output' }],
  attrs: { min: { type: 'float' }, max: { type: 'float' } },
  infer: (ctx) => [ctx.inputs[0]],
  kernel: ({ node, inputs }) => {
    const x = inputs[0]!;
    const lo = inputs[1] ? scalarOf(inputs[1], -Infinity) : node.float('min', -Infinity);
    const hi = inputs[2] ? scalarOf(inputs[2], Infinity) : node.float('max', Infinity);
    if (isBigIntDType(x.dtype)) {
      const blo = Number.isFinite(lo) ? BigInt(lo) : undefined;
      const bhi = Number.isFinite(hi) ? BigInt(hi) : undefined;
      return [mapUnary(x, (v) => v, x.dtype, (v) => (blo !== undefined && v < blo ? blo : bhi !== undefined && v > bhi ? bhi : v))];
    }
    return [mapUnary(x, (v) => (v < lo ? lo : v > hi ? hi : v))];
  },
  cost: elementwiseCost(2),
};

/** Shortest decimal that round-trips through float32, as numpy prints float32 values. */
function float32ToString(v: number, dtype: DType): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'INF';
  if (v === -Infinity) return '-INF';
  if (dtype !== 'float32') return String(v);
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s));
  }
  return String(v);
}

function parseNumber(s: string): number {
  const t = s.trim().toLowerCase();
  if (t === 'nan' || t === '-nan' || t === '+nan') return NaN;
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  return Number(t);
}

/** ONNX Cast: truncation toward zero for float to int, wrap-around for out-of-range ints. */
export function castTensor(x: Tensor, to: DType): Tensor {
  if (x.dtype === to) return x;
  if (isBigIntDType(x.dtype) && isBigIntDType(to)) {
    const o = to === 'int64' ? new BigInt64Array(x.size) : new BigUint64Array(x.size);
    const s = x.data as BigArray;
    for (let i = 0; i < x.size; i++) o[i] = to === 'int64' ? BigInt.asIntN(64, s[i]!) : BigInt.asUintN(64, s[i]!);
    return new Tensor(to, x.shape, o);
  }
  if (isBigIntDType(x.dtype) && !isFloatDType(to) && to !== 'bool' && to !== 'string') {
    // Integer narrowing: wrap through BigInt so that large int64 values keep their low bits.
    const bits = to.endsWith('8') ? 8 : to.endsWith('16') ? 16 : 32;
    const signed = to.startsWith('int');
    const s = x.data as BigArray;
    const vals = new Float64Array(x.size);
    for (let i = 0; i < x.size; i++) vals[i] = Number(signed ? BigInt.asIntN(bits, s[i]!) : BigInt.asUintN(bits, s[i]!));
    return fromNums(to, x.shape, vals);
  }
  if (x.dtype === 'string') {
    const s = x.data as string[];
    return fromNums(to, x.shape, Float64Array.from(s, parseNumber));
  }
  if (to === 'string') {
    const v = nums(x);
    const o = new Array<string>(x.size);
    for (let i = 0; i < x.size; i++) o[i] = float32ToString(v[i]!, x.dtype);
    return new Tensor('string', x.shape, o);
  }
  const v = nums(x);
  if (to === 'int64' || to === 'uint64') {
    const o = to === 'int64' ? new BigInt64Array(x.size) : new BigUint64Array(x.size);
    for (let i = 0; i < x.size; i++) {
      const e = v[i]!;
      o[i] = Number.isFinite(e) ? (to === 'int64' ? BigInt.asIntN(64, BigInt(Math.trunc(e))) : BigInt.asUintN(64, BigInt(Math.trunc(e)))) : 0n;
    }
    return new Tensor(to, x.shape, o);
  }
  if (to === 'float16' && x.dtype === 'float64') {
    // Round once from float64 to float16 (not via float32) as numpy does.
    return fromNums(to, x.shape, v);
  }
  return fromNums(to, x.shape, v);
}

const cast: OpSchema = {
  op: 'Cast',
  inputs: [{ name: 'input' }],
  outputs: [{ name: 'output' }],
  attrs: { to: { type: 'int', required: true }, saturate: { type: 'int', default: 1 } },
  infer: (ctx) => [ctx.inputs[0] ? typeOf(dtypeFromOnnxCode(ctx.node.int('to')), ctx.inputs[0].shape) : { dtype: dtypeFromOnnxCode(ctx.node.int('to')) }],
  kernel: ({ node, inputs }) => [castTensor(inputs[0]!, dtypeFromOnnxCode(node.int('to')))],
  cost: elementwiseCost(1),
};

const castLike: OpSchema = {
  op: 'CastLike',
  inputs: [{ name: 'input' }, { name: 'target_type' }],
  outputs: [{ name: 'output' }],
  infer: (ctx) => [ctx.inputs[0] && ctx.inputs[1] ? typeOf(ctx.inputs[1].dtype, ctx.inputs[0].shape) : undefined],
  kernel: ({ inputs }) => [castTensor(inputs[0]!, inputs[1]!.dtype)],
  cost: elementwiseCost(1),
};

const identity: OpSchema = {
  op: 'Identity',
  inputs: [{ name: 'input' }],
  outputs: [{ name: 'output' }],
  infer: (ctx) => [ctx.inputs[0]],
  kernel: ({ inputs }) => [inputs[0]!],
  cost: elementwiseCost(0),
};

const bitwiseNot: OpSchema = {
  ...unary('BitwiseNot', () => (x) => ~x, { big: (x) => ~x, differentiable: false }),
  kernel: ({ inputs }) => {
    const x = inputs[0]!;
    if (x.dtype === 'uint64') return [mapUnary(x, (v) => v, x.dtype, (v) => BigInt.asUintN(64, ~v))];
    const bits = x.dtype.endsWith('8') ? 8 : x.dtype.endsWith('16') ? 16 : 32;
    const mask = 2 ** bits;
    return [mapUnary(x, x.dtype.startsWith('u') ? (v) => (mask - 1 - v) : (v) => ~v, x.dtype, (v) => ~v)];
  },
};

export const elementwiseOps: OpSchema[] = [
  ...unaryOps, ...binaryOps, ...variadicOps, where, clip, cast, castLike, identity, bitwiseNot,
];

export type { KernelContext, TensorData };
