import { Tensor, type GraphBuilder, type Value } from '@tessera/core';
import type { NumberFormat } from './format.js';
import { float32Bits, float32FromBits } from './float-bits.js';
import { FixedFormat } from './fixed.js';
import { IeeeFormat } from './ieee.js';
import { PositFormat } from './posit.js';
import { Pow2Format } from './pow2.js';
import { UniformIntFormat } from './uniform-int.js';

/** Element type of the graph the fake-quant is lowered into. */
export type LoweringDType = 'float32' | 'float64';

export interface LoweringConstant {
  name: string;
  dtype: LoweringDType | 'int64';
  shape: number[];
  data: number[];
}

/** One standard-domain ONNX node; inputs name the graph input `x`, a constant or an earlier output. */
export interface LoweringNode {
  op: string;
  inputs: string[];
  output: string;
  attrs?: Record<string, number | number[]>;
}

/** Fake-quant of one format as plain data: standard elementwise ONNX ops (opset 13+). */
export interface FakeQuantLowering {
  formatId: string;
  dtype: LoweringDType;
  input: 'x';
  output: string;
  constants: LoweringConstant[];
  nodes: LoweringNode[];
}

/** ONNX TensorProto element types used by Cast. */
const ONNX_TYPE = { float32: 1, int64: 7, float16: 10, float64: 11, bfloat16: 16 } as const;

/** The largest value list a lookup lowering materialises: it compares every element with every threshold. */
export const MAX_LOOKUP_VALUES = 4096;

class Recipe {
  readonly constants: LoweringConstant[] = [];
  readonly nodes: LoweringNode[] = [];
  constructor(readonly dtype: LoweringDType) {}
  constant(name: string, data: number[], dtype: LoweringDType | 'int64' = this.dtype, shape: number[] = data.length === 1 ? [] : [data.length]): string {
    this.constants.push({ name, dtype, shape, data });
    return name;
  }
  node(op: string, inputs: string[], output: string, attrs?: Record<string, number | number[]>): string {
    this.nodes.push(attrs ? { op, inputs, output, attrs } : { op, inputs, output });
    return output;
  }
}

/**
 * Describes the fake-quant of `format` (x -> decode(encode(x)), NaN kept) as ONNX nodes:
 * - fixed / uniform int: Div by the step, Round (ONNX Round is half-to-even, like encode), Clip,
 *   then back with Mul (and the zero point for asymmetric int), -0 made +0 as quantize() does; a
 *   float32 graph whose step is not a power of two corrects the float32 quotient against
 *   precomputed thresholds and looks the value up;
 * - bfloat16 / float16: Cast to the format and back (ONNX Cast rounds to nearest even);
 * - posit / pow2: a lookup. Sorted values v_0 < … < v_K and the decision point t_i between v_i
 *   and v_(i+1); index = #{t_i below x}, then Gather. A tie at t_i goes to the even posit pattern
 *   (RNE on the bit string), so t_i is counted with LessOrEqual when the upper neighbour is even
 *   and with Less when the lower one is. pow2 decision points are irrational (√2·2^e); each is
 *   replaced by the smallest number of the graph's dtype above it, counted with LessOrEqual.
 *
 * Every lowering matches quantize() bit for bit, into a float32 or a float64 destination as the
 * graph's dtype (onnxruntime-node and -web are checked on 1,000,000 inputs per format).
 */
export function fakeQuantLowering(format: NumberFormat, dtype: LoweringDType = 'float32'): FakeQuantLowering {
  const r = new Recipe(dtype);
  let y: string;
  if (format instanceof FixedFormat) {
    y = lowerAffine(r, format, format.step, 0, true);
  } else if (format instanceof UniformIntFormat) {
    y = lowerAffine(r, format, format.scale, format.zeroPoint, false);
  } else if (format instanceof IeeeFormat) {
    const to = format.id === 'bfloat16' ? ONNX_TYPE.bfloat16 : format.id === 'float16' ? ONNX_TYPE.float16 : undefined;
    if (to === undefined) throw new RangeError(`fakeQuantLowering(${format.id}): ONNX has no element type for this IEEE format`);
    r.node('Cast', ['x'], 'narrowed', { to });
    y = r.node('Cast', ['narrowed'], 'y', { to: ONNX_TYPE[dtype] });
  } else if (format instanceof PositFormat) {
    y = lowerLookup(r, format, positThresholds(format), true);
  } else if (format instanceof Pow2Format) {
    y = lowerLookup(r, format, pow2Thresholds(format, dtype), false);
  } else {
    throw new RangeError(`fakeQuantLowering(${format.id}): no lowering for format kind '${format.kind}'`);
  }
  return { formatId: format.id, dtype, input: 'x', output: y, constants: r.constants, nodes: r.nodes };
}

/** The code function shared by fixed and uniform int: float64 x -> integer code in [minCode, maxCode]. */
interface AffineGrid {
  readonly minCode: number;
  readonly maxCode: number;
  code(x: number): number;
}

/**
 * `keepsNegativeZero`: quantize() of fixed maps -0 to -0 (it rounds x·2^frac directly), uniform int
 * maps it to +0 (the zero point is added); both give +0 for negative x that round to zero.
 */
function lowerAffine(r: Recipe, grid: AffineGrid, step: number, zeroPoint: number, keepsNegativeZero: boolean): string {
  const { minCode: lo, maxCode: hi } = grid;
  if (r.dtype === 'float32' && !isPowerOfTwo(step)) return lowerAffineCorrected(r, grid, step, zeroPoint, keepsNegativeZero);
  // x/step is exact (float64 graph, or a power-of-two step), so Round sees what encode sees.
  r.constant('step', [step]);
  let v = r.node('Round', [r.node('Div', ['x', 'step'], 'scaled')], 'rounded');
  if (zeroPoint !== 0) v = r.node('Add', [v, r.constant('zero_point', [zeroPoint])], 'shifted');
  v = r.node('Clip', [v, r.constant('code_min', [lo]), r.constant('code_max', [hi])], 'clipped');
  if (zeroPoint !== 0) v = r.node('Sub', [v, 'zero_point'], 'unshifted');
  v = r.node('Mul', [v, 'step'], 'dequantized');
  // Round(-0.3) is -0 but quantize() returns +0. Adding 0 would do, but onnxruntime removes
  // x + 0 as a no-op, so zeros are replaced explicitly.
  r.constant('zero', [0]);
  v = r.node('Where', [r.node('Equal', [v, 'zero'], 'is_zero'), 'zero', v], 'signless');
  // Clip's NaN behaviour is not pinned down by the ONNX spec, so NaN is passed through explicitly.
  return passThrough(r, v, keepsNegativeZero);
}

/**
 * x itself where it is NaN, and ±0 too when the format keeps the sign of zero. onnxruntime's Where
 * drops the sign of a -0 taken from its true branch (not from its false one), so x sits in the
 * false branch when it has to carry -0: Abs(x) > 0 is false exactly for NaN and ±0.
 */
function passThrough(r: Recipe, v: string, keepsNegativeZero: boolean): string {
  if (!keepsNegativeZero) {
    const isNaN = r.nodes.some((n) => n.output === 'is_nan') ? 'is_nan' : r.node('IsNaN', ['x'], 'is_nan');
    return r.node('Where', [isNaN, 'x', v], 'y');
  }
  const ordinary = r.node('Greater', [r.node('Abs', ['x'], 'magnitude'), 'zero'], 'is_ordinary');
  return r.node('Where', [ordinary, v, 'x'], 'y');
}

/** The largest code range the corrected affine lowering tabulates (16-bit formats). */
const MAX_AFFINE_TABLE = 1 << 16;

/**
 * float32 graphs with a step that is not a power of two: x/step in float32 can land on the other
 * side of a half-integer than encode's float64 x/step, and k·fl32(step) can differ from
 * fl32(k·step). So the float32 quotient only guesses the code (off by at most one), the guess is
 * corrected against precomputed thresholds — for each code, the smallest float32 whose code is at
 * least it, found by bisection over float32 with the format's own code() — and the value is
 * looked up as fl32(k·step) rather than multiplied.
 */
function lowerAffineCorrected(r: Recipe, grid: AffineGrid, step: number, zeroPoint: number, keepsNegativeZero: boolean): string {
  const { minCode: lo, maxCode: hi } = grid;
  const count = hi - lo + 1;
  if (count > MAX_AFFINE_TABLE) {
    throw new RangeError(`fakeQuantLowering: a float32 lowering of a ${count}-level grid with step ${step} (not a power of two) needs a table of at most ${MAX_AFFINE_TABLE} codes; lower into a float64 graph`);
  }
  const first: number[] = []; // first[i]: smallest float32 x with code(x) >= lo + i (i >= 1)
  for (let c = lo + 1; c <= hi; c++) first.push(smallestFloat32WithCodeAtLeast(grid, c));
  // NaN sentinels compare false, so the ends of the grid are never corrected past.
  const lower = [NaN, ...first];
  const upper = [...first, NaN];
  const values = Array.from({ length: count }, (_, i) => Math.fround((lo + i - zeroPoint) * step));
  const isNaN = r.node('IsNaN', ['x'], 'is_nan');
  // NaN would reach Cast-to-int64 (undefined) and Gather; it is put back at the end.
  const xs = r.node('Where', [isNaN, r.constant('zero', [0]), 'x'], 'x_finite');
  r.constant('step', [Math.fround(step)]);
  let rounded = r.node('Round', [r.node('Div', [xs, 'step'], 'scaled')], 'rounded');
  if (zeroPoint !== 0) rounded = r.node('Add', [rounded, r.constant('zero_point', [zeroPoint])], 'shifted');
  const guess = r.node('Clip', [rounded, r.constant('code_min', [lo]), r.constant('code_max', [hi])], 'clipped');
  const index0 = r.node('Cast', [r.node('Sub', [guess, 'code_min'], 'offset')], 'guess_index', { to: ONNX_TYPE.int64 });
  r.constant('lower', lower);
  r.constant('upper', upper);
  const below = r.node('Cast', [r.node('Less', [xs, r.node('Gather', ['lower', index0], 'lower_at', { axis: 0 })], 'is_below')], 'step_down', { to: ONNX_TYPE.int64 });
  const above = r.node('Cast', [r.node('LessOrEqual', [r.node('Gather', ['upper', index0], 'upper_at', { axis: 0 }), xs], 'is_above')], 'step_up', { to: ONNX_TYPE.int64 });
  const index = r.node('Add', [r.node('Sub', [index0, below], 'index_down'), above], 'index');
  r.constant('values', values);
  const looked = r.node('Gather', ['values', index], 'looked_up', { axis: 0 });
  return passThrough(r, looked, keepsNegativeZero);
}

function isPowerOfTwo(x: number): boolean {
  return x > 0 && Number.isFinite(x) && 2 ** Math.round(Math.log2(x)) === x;
}

/** Orders float32 patterns as integers: -Inf < … < -0 = +0 < … < +Inf. */
function float32Rank(x: number): number {
  const b = float32Bits(x);
  return b >= 0x80000000 ? -(b - 0x80000000) : b;
}

function float32OfRank(k: number): number {
  return k < 0 ? float32FromBits(0x80000000 + -k) : float32FromBits(k);
}

function smallestFloat32WithCodeAtLeast(grid: AffineGrid, c: number): number {
  let a = float32Rank(-Infinity); // code(a) < c for every c > minCode
  let b = float32Rank(Infinity); // code(b) = maxCode >= c
  while (b - a > 1) {
    const m = Math.floor((a + b) / 2);
    if (grid.code(float32OfRank(m)) >= c) b = m;
    else a = m;
  }
  return float32OfRank(b);
}

interface Threshold {
  t: number;
  /** Counted when t <= x (true) or t < x (false). */
  inclusive: boolean;
}

function positThresholds(f: PositFormat): Threshold[] {
  // Decision point between patterns p and p+1 (signed, consecutive in value order).
  const wider = new PositFormat(f.n + 1, f.es);
  const out: Threshold[] = [];
  for (let p = -f.maxposBits; p < f.maxposBits; p++) {
    const upperEven = (p + 1) % 2 === 0;
    if (p === -1) out.push({ t: 0, inclusive: true }); // -minpos | 0: only x >= 0 reaches 0
    else if (p === 0) out.push({ t: 0, inclusive: false }); // 0 | minpos: every x > 0 is at least minpos
    else if (p > 0) out.push({ t: wider.decode(2 * p + 1), inclusive: upperEven });
    else out.push({ t: -wider.decode(2 * -(p + 1) + 1), inclusive: upperEven });
  }
  return out;
}

function pow2Thresholds(f: Pow2Format, dtype: LoweringDType): Threshold[] {
  const v = f.values();
  const out: Threshold[] = [];
  for (let i = 0; i + 1 < v.length; i++) {
    const a = v[i]!;
    const b = v[i + 1]!;
    // Geometric midpoint of the magnitudes; next to zero it is 2^emin/√2.
    const mag = a === 0 || b === 0 ? Math.SQRT2 * Math.abs(a + b) / 2 : Math.SQRT2 * Math.min(Math.abs(a), Math.abs(b));
    const up = smallestAbove(mag, dtype); // the first representable magnitude that rounds away from zero
    // Positive side: x >= up moves to b. Negative side: x > -up stays nearer zero, i.e. moves to b.
    out.push(b > 0 ? { t: up, inclusive: true } : { t: -up, inclusive: false });
  }
  return out;
}

/** Smallest number of `dtype` >= the real value whose double upper bound is t (t = Math.SQRT2·2^e). */
function smallestAbove(t: number, dtype: LoweringDType): number {
  if (dtype === 'float64') return t;
  const f = Math.fround(t);
  return f >= t ? f : float32FromBits(float32Bits(f) + 1);
}

function lowerLookup(r: Recipe, f: NumberFormat, thresholds: Threshold[], infIsNaR: boolean): string {
  const values = f.values()!;
  if (values.length > MAX_LOOKUP_VALUES) {
    throw new RangeError(`fakeQuantLowering(${f.id}): a lookup lowering takes at most ${MAX_LOOKUP_VALUES} values (this format has ${values.length})`);
  }
  if (r.dtype === 'float32') {
    const bad = [...values, ...thresholds.map((t) => t.t)].find((v) => Math.fround(v) !== v);
    if (bad !== undefined) throw new RangeError(`fakeQuantLowering(${f.id}): ${bad} is not a float32; lower into a float64 graph`);
  }
  r.constant('values', Array.from(values));
  r.constant('last_axis', [-1], 'int64', [1]);
  const xu = r.node('Unsqueeze', ['x', 'last_axis'], 'x_column');
  const incl = thresholds.filter((t) => t.inclusive).map((t) => t.t);
  const excl = thresholds.filter((t) => !t.inclusive).map((t) => t.t);
  const counts: string[] = [];
  for (const [name, ts, op] of [['at_or_below', incl, 'LessOrEqual'], ['below', excl, 'Less']] as const) {
    if (ts.length === 0) continue;
    r.constant(`thresholds_${name}`, ts, r.dtype, [ts.length]);
    const cmp = r.node(op, [`thresholds_${name}`, xu], `cmp_${name}`);
    const ints = r.node('Cast', [cmp], `int_${name}`, { to: ONNX_TYPE.int64 });
    counts.push(r.node('ReduceSum', [ints, 'last_axis'], `count_${name}`, { keepdims: 0 }));
  }
  const index = counts.length === 2 ? r.node('Add', [counts[0]!, counts[1]!], 'index') : counts[0]!;
  const looked = r.node('Gather', ['values', index], 'looked_up', { axis: 0 });
  // NaN compares false everywhere and would land on the lowest value; posits also send ±Inf to NaR.
  const special = infIsNaR ? r.node('Or', [r.node('IsNaN', ['x'], 'is_nan'), r.node('IsInf', ['x'], 'is_inf')], 'is_special') : r.node('IsNaN', ['x'], 'is_nan');
  return r.node('Where', [special, r.constant('nan', [NaN]), looked], 'y');
}

/**
 * Adds the fake-quant of `format` to a graph through the core builder and returns its output.
 * The builder's registry must hold the standard ops the lowering uses.
 */
export function lowerFakeQuant(builder: GraphBuilder, x: Value, format: NumberFormat, dtype: LoweringDType = 'float32'): Value {
  const lowering = fakeQuantLowering(format, dtype);
  const env = new Map<string, Value>([['x', x]]);
  for (const c of lowering.constants) {
    env.set(c.name, builder.constant(Tensor.from(c.data, c.shape, c.dtype), c.dtype, `fq_${c.name}`));
  }
  for (const n of lowering.nodes) {
    const inputs = n.inputs.map((name) => {
      const v = env.get(name);
      if (!v) throw new Error(`lowerFakeQuant(${format.id}): node ${n.op} reads '${name}' before it is defined`);
      return v;
    });
    env.set(n.output, builder.op(n.op, inputs, n.attrs ?? {}, { name: `fq_${n.output}` }));
  }
  return env.get(lowering.output)!;
}
