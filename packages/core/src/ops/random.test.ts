import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../builder.js';
import '../builder-ops.js';
import { interpret } from '../interpreter.js';
import { Rng } from '../rng.js';
import { Tensor } from '../tensor.js';
import { randomSeed } from './random.js';
import { runOp, t, values } from './test-util.js';

function stats(x: Tensor): { mean: number; std: number; min: number; max: number } {
  const v = values(x);
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std, min: Math.min(...v), max: Math.max(...v) };
}

describe('random ops', () => {
  it('RandomNormal / RandomUniform: shape and dtype inference, moments, seeded determinism', () => {
    const b = new GraphBuilder();
    const n = b.op('RandomNormal', [], { shape: [100, 200], mean: 2, scale: 0.5, seed: 3 });
    const u = b.op('RandomUniform', [], { shape: [20000], low: -1, high: 3, dtype: 11, seed: 3 });
    expect(n.type).toEqual({ dtype: 'float32', shape: [100, 200] });
    expect(u.type).toEqual({ dtype: 'float64', shape: [20000] });
    b.output(n, 'n');
    b.output(u, 'u');
    const r1 = interpret(b.graph, {});
    const r2 = interpret(b.graph, {});
    expect(values(r1.n!)).toEqual(values(r2.n!));
    const sn = stats(r1.n!);
    expect(Math.abs(sn.mean - 2)).toBeLessThan(0.01);
    expect(Math.abs(sn.std - 0.5)).toBeLessThan(0.01);
    const su = stats(r1.u!);
    expect(su.min).toBeGreaterThanOrEqual(-1);
    expect(su.max).toBeLessThan(3);
    expect(Math.abs(su.mean - 1)).toBeLessThan(0.03);
    // An integral seed seeds Rng directly.
    const rng = new Rng(3);
    expect(r1.u!.getFlat(0)).toBe(-1 + 4 * rng.uniform());
  });

  it('the *Like forms take shape and dtype from the input; symbolic dims carry through', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 8]);
    expect(b.op('RandomNormalLike', [x]).type).toEqual({ dtype: 'float32', shape: ['N', 8] });
    expect(b.op('RandomUniformLike', [x], { dtype: 11 }).type).toEqual({ dtype: 'float64', shape: ['N', 8] });
    expect(b.op('Bernoulli', [x], { dtype: 9 }).type).toEqual({ dtype: 'bool', shape: ['N', 8] });
    const i = b.input('i', 'int32', [2]);
    expect(() => b.op('RandomUniformLike', [i])).toThrow(/dtype int32 is not supported for RandomUniformLike/);
    const h = runOp('RandomUniformLike', [t(new Array(6).fill(0), [2, 3], 'float16')], { seed: 1 })[0]!;
    expect(h.dtype).toBe('float16');
    expect(h.shape).toEqual([2, 3]);
    for (const v of values(h)) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('seed precedence: node meta, then the seed attribute, then a stable per-node hash', () => {
    const b = new GraphBuilder();
    const a = b.op('RandomNormal', [], { shape: [16] });
    const c = b.op('RandomNormal', [], { shape: [16] });
    const s = b.op('RandomNormal', [], { shape: [16], seed: 5 });
    b.output(a, 'a');
    b.output(c, 'c');
    b.output(s, 's');
    const r = interpret(b.graph, {});
    expect(values(r.a!)).not.toEqual(values(r.c!));
    expect(randomSeed(a.producer!)).toBe(randomSeed(a.producer!));
    expect(randomSeed(s.producer!)).toBe(5);
    s.producer!.meta.set('seed', 9);
    a.producer!.meta.set('seed', 9);
    const r2 = interpret(b.graph, {});
    expect(values(r2.s!)).toEqual(values(r2.a!));
    expect(values(r2.s!)).not.toEqual(values(r.s!));
    s.producer!.meta.set('seed', 'x');
    expect(() => interpret(b.graph, {})).toThrow(/RandomNormal.*meta 'seed' is x; expected a finite number/);
  });

  it('Bernoulli: rate follows p, 0 and 1 are exact, and it equals its function body (RandomUniformLike < p)', () => {
    const rng = new Rng(4);
    const p = Tensor.from(Array.from({ length: 5000 }, (_, i) => (i < 100 ? 0 : i < 200 ? 1 : rng.uniform())), [5000], 'float32');
    const y = runOp('Bernoulli', [p], { seed: 11 })[0]!;
    expect(y.dtype).toBe('float32');
    const P = values(p);
    const Y = values(y);
    for (let i = 0; i < 200; i++) expect(Y[i]).toBe(P[i]);
    const rate = Y.slice(200).reduce((a, b) => a + b, 0) / 4800;
    const expected = P.slice(200).reduce((a, b) => a + b, 0) / 4800;
    expect(Math.abs(rate - expected)).toBeLessThan(0.03);

    const b = new GraphBuilder();
    const x = b.input('p', 'float32', [5000]);
    const body = b.op('Cast', [b.op('Less', [b.op('RandomUniformLike', [x], { seed: 11 }), x])], { to: 1 });
    b.output(body, 'y');
    expect(values(interpret(b.graph, { p }).y!)).toEqual(Y);
  });

  it('RandomNormal rejects a bad shape and integer dtypes in one line', () => {
    const b = new GraphBuilder();
    expect(() => b.op('RandomNormal', [], { shape: [2, -1] })).toThrow(/shape \[2, -1\] must be non-negative integers/);
    expect(() => b.op('RandomUniform', [], { shape: [2], dtype: 7 })).toThrow(/dtype int64 is not supported for RandomUniform; valid: float16/);
  });
});
