import { describe, expect, it } from 'vitest';
import { GraphBuilder, standardOps } from '@tessera/core';
import { bfloat16, fixed, float16, posit, pow2, uniformInt, type NumberFormat } from './index.js';
import { fakeQuantLowering, lowerFakeQuant, type FakeQuantLowering, type LoweringDType } from './lowering.js';
import { seededRandom } from './exact-reference.js';

type Cell = number | boolean | number[] | boolean[];

/**
 * Evaluates a lowering on one scalar x with ONNX semantics written out here (not via the
 * format's own code): float ops round to the graph dtype; comparisons against the threshold
 * vector give a boolean vector that Cast/ReduceSum count.
 */
function evaluate(l: FakeQuantLowering, x: number): number {
  const round = l.dtype === 'float32' ? Math.fround : (v: number) => v;
  const env = new Map<string, Cell>([['x', round(x)]]);
  for (const c of l.constants) env.set(c.name, c.shape.length === 0 ? c.data[0]! : c.data);
  const num = (name: string) => env.get(name) as number;
  for (const n of l.nodes) {
    const [a, b, c] = n.inputs;
    let out: Cell;
    switch (n.op) {
      case 'Div': out = round(num(a!) / num(b!)); break;
      case 'Mul': out = round(num(a!) * num(b!)); break;
      case 'Add': out = typeof env.get(a!) === 'number' ? round(num(a!) + num(b!)) : num(a!) + num(b!); break;
      case 'Sub': out = round(num(a!) - num(b!)); break;
      case 'Round': {
        const v = num(a!);
        const f = Math.floor(v);
        out = v - f > 0.5 ? f + 1 : v - f < 0.5 ? f : f % 2 === 0 ? f : f + 1;
        break;
      }
      case 'Clip': out = Math.min(Math.max(num(a!), num(b!)), num(c!)); break;
      case 'IsNaN': out = Number.isNaN(num(a!)); break;
      case 'Equal': out = num(a!) === num(b!); break;
      case 'Abs': out = Math.abs(num(a!)); break;
      case 'Greater': out = num(a!) > num(b!); break;
      case 'IsInf': out = Math.abs(num(a!)) === Infinity; break;
      case 'Or': out = (env.get(a!) as boolean) || (env.get(b!) as boolean); break;
      case 'Where': out = env.get(a!) ? (env.get(b!) as number) : (env.get(c!) as number); break;
      case 'Unsqueeze': out = env.get(a!)!; break;
      case 'Less': out = cmp(env.get(a!)!, env.get(b!)!, (p, q) => p < q); break;
      case 'LessOrEqual': out = cmp(env.get(a!)!, env.get(b!)!, (p, q) => p <= q); break;
      case 'Cast': {
        const v = env.get(a!)!;
        out = Array.isArray(v) ? (v as (number | boolean)[]).map((e) => Number(e)) : Number(v);
        break;
      }
      case 'ReduceSum': out = (env.get(a!) as number[]).reduce((s, v) => s + v, 0); break;
      case 'Gather': out = (env.get(a!) as number[])[num(b!)]!; break;
      default: throw new Error(`evaluator: no op ${n.op}`);
    }
    env.set(n.output, out);
  }
  return env.get(l.output) as number;
}

/** Elementwise comparison of a threshold vector (or scalar) with a scalar, or of two scalars. */
function cmp(a: Cell, b: Cell, f: (p: number, q: number) => boolean): Cell {
  if (Array.isArray(a)) return (a as number[]).map((t) => f(t, b as number));
  return f(a as number, b as number);
}

function nextUp32(x: number): number {
  const f = new Float32Array([x]);
  const u = new Int32Array(f.buffer);
  u[0] = x >= 0 ? u[0]! + 1 : u[0]! - 1;
  return f[0]!;
}

/** Inputs that stress a lowering: every value, every decision point and its float neighbours, specials, random. */
function probes(f: NumberFormat, l: FakeQuantLowering): number[] {
  const xs: number[] = [0, -0, NaN, Infinity, -Infinity, 1e30, -1e30, 1e-30, -1e-30];
  for (const v of f.values()!) xs.push(v, nextUp32(v), -nextUp32(-v));
  for (const c of l.constants) if (c.name.startsWith('thresholds')) for (const t of c.data) xs.push(t, nextUp32(t), -nextUp32(-t));
  const rnd = seededRandom(11);
  for (let i = 0; i < 2000; i++) xs.push(Math.fround((rnd() - 0.5) * 2 ** (rnd() * 40 - 20)));
  return xs.map(Math.fround);
}

describe('fake-quant lowering as data', () => {
  const formats: [NumberFormat, LoweringDType][] = [
    [posit(8, 0), 'float32'], [posit(8, 1), 'float32'], [posit(8, 2), 'float32'], [posit(4, 0), 'float32'], [posit(6, 3), 'float64'],
    [pow2(4), 'float32'], [pow2(3, 2), 'float32'], [pow2(5), 'float64'],
    [fixed(4, 2), 'float32'], [fixed(8, 4), 'float64'],
    [uniformInt({ bits: 4, symmetric: true, scale: 0.125 }), 'float32'],
    [uniformInt({ bits: 8, symmetric: true, scale: 0.05 }), 'float32'],
    [uniformInt({ bits: 6, symmetric: false, scale: 0.3, zeroPoint: 20 }), 'float32'],
    [uniformInt({ bits: 8, symmetric: false, scale: 0.05, zeroPoint: 100 }), 'float64'],
  ];
  for (const [f, dtype] of formats) {
    it(`${f.id} (${dtype}) equals quantize() on values, decision points ±1 ulp, specials and random inputs`, () => {
      const l = fakeQuantLowering(f, dtype);
      const xs = probes(f, l);
      const got = xs.map((x) => evaluate(l, x));
      // The lowering's result has the graph's dtype: compare with quantize() into that dtype.
      const want = Array.from(f.quantize(Float64Array.from(xs), dtype === 'float32' ? new Float32Array(xs.length) : new Float64Array(xs.length)));
      const bad = xs.map((x, i) => [x, got[i], want[i]]).filter(([, g, w]) => !Object.is(g, w));
      expect(bad.slice(0, 5)).toEqual([]);
    });
  }

  it('posit ties follow the even pattern: posit<8,0> 1 + 2^-6 (between 0x40 and 0x41) goes down, 1 + 3·2^-6 up', () => {
    const l = fakeQuantLowering(posit(8, 0));
    expect(evaluate(l, 1 + 2 ** -6)).toBe(1);
    expect(evaluate(l, 1 + 3 * 2 ** -6)).toBe(1 + 2 ** -4);
    expect(evaluate(l, Infinity)).toBeNaN();
    expect(evaluate(l, 1e-30)).toBe(2 ** -6);
  });

  it('has the documented node sequences', () => {
    expect(fakeQuantLowering(fixed(4, 2)).nodes.map((n) => n.op)).toEqual(['Div', 'Round', 'Clip', 'Mul', 'Equal', 'Where', 'Abs', 'Greater', 'Where']);
    expect(fakeQuantLowering(uniformInt({ bits: 8, symmetric: false, scale: 0.1, zeroPoint: 3 }), 'float64').nodes.map((n) => n.op)).toEqual(['Div', 'Round', 'Add', 'Clip', 'Sub', 'Mul', 'Equal', 'Where', 'IsNaN', 'Where']);
    // float32 with a step that is not a power of two: guess, correct against thresholds, look up.
    expect(fakeQuantLowering(uniformInt({ bits: 8, symmetric: true, scale: 0.1 })).nodes.map((n) => n.op)).toEqual([
      'IsNaN', 'Where', 'Div', 'Round', 'Clip', 'Sub', 'Cast', 'Gather', 'Less', 'Cast', 'Gather', 'LessOrEqual', 'Cast', 'Sub', 'Add', 'Gather', 'Where',
    ]);
    expect(fakeQuantLowering(bfloat16).nodes).toEqual([
      { op: 'Cast', inputs: ['x'], output: 'narrowed', attrs: { to: 16 } },
      { op: 'Cast', inputs: ['narrowed'], output: 'y', attrs: { to: 1 } },
    ]);
    expect(fakeQuantLowering(float16, 'float64').nodes[1]!.attrs).toEqual({ to: 11 });
    const p = fakeQuantLowering(posit(8, 1));
    expect(p.nodes.map((n) => n.op)).toEqual(['Unsqueeze', 'LessOrEqual', 'Cast', 'ReduceSum', 'Less', 'Cast', 'ReduceSum', 'Add', 'Gather', 'IsNaN', 'IsInf', 'Or', 'Where']);
    const sizes = p.constants.filter((c) => c.name.startsWith('thresholds')).map((c) => c.data.length);
    expect(sizes[0]! + sizes[1]!).toBe(254);
  });

  it('refuses what it cannot lower, in one line', () => {
    expect(() => fakeQuantLowering(posit(16, 1))).toThrow('fakeQuantLowering(posit<16,1>): a lookup lowering takes at most 4096 values (this format has 65535)');
    expect(() => fakeQuantLowering(posit(12, 4))).toThrow(/is not a float32; lower into a float64 graph/);
    expect(() => fakeQuantLowering(uniformInt({ bits: 20, symmetric: true, scale: 0.1 }))).toThrow('fakeQuantLowering: a float32 lowering of a 1048575-level grid with step 0.1 (not a power of two) needs a table of at most 65536 codes; lower into a float64 graph');
  });
});

describe('lowerFakeQuant through the core GraphBuilder', () => {
  it('adds the lowering nodes in order and returns the output value', () => {
    // The core's standard registry is being filled in by its owner; register the ops used here
    // with pass-through inference so the walk over the lowering is tested on its own.
    const registry = standardOps().extend();
    for (const op of ['Div', 'Round', 'Clip', 'Mul', 'IsNaN', 'Where', 'Unsqueeze', 'LessOrEqual', 'Less', 'Cast', 'ReduceSum', 'Add', 'Gather', 'IsInf', 'Or', 'Sub']) {
      if (!registry.get(op, '')) {
        registry.register({ op, inputs: [{ name: 'in', variadic: true }], outputs: [{ name: 'out' }], infer: (ctx) => [ctx.inputs[0]], kernel: () => [] });
      }
    }
    const b = new GraphBuilder(undefined, registry);
    const x = b.input('x', 'float32', [4]);
    const y = lowerFakeQuant(b, x, posit(8, 2));
    b.output(y, 'y');
    const ops = b.graph.nodes.map((n) => n.op);
    expect(ops).toEqual(fakeQuantLowering(posit(8, 2)).nodes.map((n) => n.op));
    expect(y.producer?.op).toBe('Where');
  });
});
