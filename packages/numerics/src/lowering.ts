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
 *   then back with Mul (and the zero point for asymmetric int);
 * - bfloat16 / float16: Cast to the format and back (ONNX Cast rounds to nearest even);
 * - posit / pow2: a lookup. Sorted values v_0 < … < v_K and the decision point t_i between v_i
 *   and v_(i+1); index = #{t_i below x}, then Gather. A tie at t_i goes to the even posit pattern
 *   (RNE on the bit string), so t_i is counted with LessOrEqual when the upper neighbour is even
 *   and with Less when the lower one is. pow2 decision points are irrational (√2·2^e); each is
 *   replaced by the smallest number of the graph's dtype above it, counted with LessOrEqual.
 *
 * Arithmetic lowerings divide in the graph's dtype: float64 graphs match quantize() bit for bit;
 * float32 graphs can differ where x/s falls within float32 rounding of a half-integer.
 */
export function fakeQuantLowering(format: NumberFormat, dtype: LoweringDType = 'float32'): FakeQuantLowering {
  const r = new Recipe(dtype);
  let y: string;
  if (format instanceof FixedFormat) {
    y = lowerAffine(r, format.step, 0, format.minCode, format.maxCode);
  } else if (format instanceof UniformIntFormat) {
    y = lowerAffine(r, format.scale, format.zeroPoint, format.minCode, format.maxCode);
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

function lowerAffine(r: Recipe, step: number, zeroPoint: number, lo: number, hi: number): string {
  r.constant('step', [step]);
  let v = r.node('Round', [r.node('Div', ['x', 'step'], 'scaled')], 'rounded');
  if (zeroPoint !== 0) v = r.node('Add', [v, r.constant('zero_point', [zeroPoint])], 'shifted');
  v = r.node('Clip', [v, r.constant('code_min', [lo]), r.constant('code_max', [hi])], 'clipped');
  if (zeroPoint !== 0) v = r.node('Sub', [v, 'zero_point'], 'unshifted');
  v = r.node('Mul', [v, 'step'], 'dequantized');
  // Clip's NaN behaviour is not pinned down by the ONNX spec, so NaN is passed through explicitly.
  return r.node('Where', [r.node('IsNaN', ['x'], 'is_nan'), 'x', v], 'y');
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
