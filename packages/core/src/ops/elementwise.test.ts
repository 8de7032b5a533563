import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../builder.js';
import { Tensor } from '../tensor.js';
import { erf, erfFast } from './erf.js';
import { runOp, t, values } from './test-util.js';

describe('elementwise ops', () => {
  it('unary activations match hand-computed values', () => {
    const x = t([-2, -0.5, 0, 0.5, 2], [5]);
    expect(values(runOp('Relu', [x])[0]!)).toEqual([0, 0, 0, 0.5, 2]);
    expect(values(runOp('LeakyRelu', [x], { alpha: 0.1 })[0]!)).toEqual([-0.2, -0.05, 0, 0.5, 2].map(Math.fround));
    const sig = values(runOp('Sigmoid', [x])[0]!);
    sig.forEach((v, i) => expect(v).toBeCloseTo(1 / (1 + Math.exp(-[-2, -0.5, 0, 0.5, 2][i]!)), 6));
    const hs = values(runOp('HardSwish', [t([-4, 0, 1, 4], [4])])[0]!);
    expect(hs.map((v) => +v.toFixed(5))).toEqual([0, 0, 0.66667, 4]);
    const gelu = values(runOp('Gelu', [t([1], [1])])[0]!);
    expect(gelu[0]).toBeCloseTo(0.8413447460685429, 6);
  });

  it('erf is accurate across its range', () => {
    expect(erf(0)).toBe(0);
    expect(erf(1e-5)).toBeCloseTo(1.1283791670579e-5, 15);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(erf(2.5)).toBeCloseTo(0.999593047982555, 14);
    expect(erf(-4)).toBeCloseTo(-0.9999999845827421, 14);
  });

  it('Round rounds half to even', () => {
    expect(values(runOp('Round', [t([0.5, 1.5, 2.5, -0.5, -1.5, 2.4], [6])])[0]!)).toEqual([0, 2, 2, -0, -2, 2]);
  });

  it('binary ops broadcast numpy-style', () => {
    const a = t([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = t([10, 20, 30], [3]);
    expect(values(runOp('Add', [a, b])[0]!)).toEqual([11, 22, 33, 14, 25, 36]);
    const c = t([100, 200], [2, 1]);
    expect(values(runOp('Mul', [a, c])[0]!)).toEqual([100, 200, 300, 800, 1000, 1200]);
    const r = runOp('Less', [a, t([3], [])])[0]!;
    expect(r.dtype).toBe('bool');
    expect(values(r)).toEqual([1, 1, 0, 0, 0, 0]);
  });

  it('int64 arithmetic is exact beyond 2^53', () => {
    const big = 2n ** 60n + 1n;
    const a = new Tensor('int64', [2], BigInt64Array.from([big, -7n]));
    const b = new Tensor('int64', [2], BigInt64Array.from([1n, 2n]));
    const sum = runOp('Add', [a, b])[0]!;
    expect([...(sum.data as BigInt64Array)]).toEqual([big + 1n, -5n]);
    const mod = runOp('Mod', [a, b])[0]!;
    expect([...(mod.data as BigInt64Array)]).toEqual([0n, 1n]);
    const div = runOp('Div', [a, b])[0]!;
    expect([...(div.data as BigInt64Array)]).toEqual([big, -3n]);
  });

  it('integer Div truncates and Mod follows the divisor sign unless fmod', () => {
    const a = t([7, -7, 7, -7], [4], 'int32');
    const b = t([2, 2, -2, -2], [4], 'int32');
    expect(values(runOp('Div', [a, b])[0]!)).toEqual([3, -3, -3, 3]);
    expect(values(runOp('Mod', [a, b])[0]!)).toEqual([1, 1, -1, -1]);
    expect(values(runOp('Mod', [a, b], { fmod: 1 })[0]!)).toEqual([1, -1, 1, -1]);
  });

  it('Where, Clip, Max and Mean', () => {
    const c = Tensor.from([1, 0, 1], [3], 'bool');
    expect(values(runOp('Where', [c, t([1, 2, 3], [3]), t([9], [1])])[0]!)).toEqual([1, 9, 3]);
    expect(values(runOp('Clip', [t([-5, 0, 5], [3]), t([-1], []), t([2], [])])[0]!)).toEqual([-1, 0, 2]);
    expect(values(runOp('Max', [t([1, 5], [2]), t([3, 2], [2]), t([0], [1])])[0]!)).toEqual([3, 5]);
    expect(values(runOp('Mean', [t([1, 5], [2]), t([3, 1], [2])])[0]!)).toEqual([2, 3]);
  });

  it('Cast truncates floats to ints, wraps ints and maps NaN to true', () => {
    const x = t([1.9, -1.9, 300, NaN], [4]);
    expect(values(runOp('Cast', [x], { to: 6 })[0]!)).toEqual([1, -1, 300, 0]);
    expect(values(runOp('Cast', [t([300, -1], [2], 'int32')], { to: 2 })[0]!)).toEqual([44, 255]);
    expect(values(runOp('Cast', [x], { to: 9 })[0]!)).toEqual([1, 1, 1, 1]);
    const s = runOp('Cast', [t([0.1, 2], [2])], { to: 8 })[0]!;
    expect(s.data).toEqual(['0.1', '2']);
  });

  it('inference rejects shapes that cannot broadcast, naming both', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2, 3]);
    const y = b.input('y', 'float32', [4]);
    expect(() => b.op('Add', [x, y])).toThrow(/shape inference failed at Add "add": shapes \[2, 3\] and \[4\] cannot broadcast/);
  });

  it('symbolic dims pass through inference', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 3]);
    expect(b.relu(b.add(x, b.constant(1))).type).toEqual({ dtype: 'float32', shape: ['N', 3] });
  });
  it('float32 Relu (branch-free on bits) maps negatives, -0 and -inf to +0 and keeps NaN and +inf', () => {
    const y = runOp('Relu', [t([-1, -0, 0, 2.5, -Infinity, Infinity, NaN, -NaN, 1e-45, -1e-45], [10])])[0]!;
    const v = values(y);
    expect(v.slice(0, 6)).toEqual([0, 0, 0, 2.5, 0, Infinity]);
    expect(Object.is(v[1], 0)).toBe(true);
    expect(Number.isNaN(v[6]) && Number.isNaN(v[7])).toBe(true);
    expect(v[8]).toBeGreaterThan(0);
    expect(Object.is(v[9], 0)).toBe(true);
    const d = runOp('Relu', [t([-1, 3, NaN], [3], 'float64')])[0]!;
    expect(values(d).slice(0, 2)).toEqual([0, 3]);
  });
  it('float32 Erf (rational fit) stays within 3e-7 relative of the float64 erf, keeps precision near 0 and NaN', () => {
    let worst = 0;
    for (let j = -60000; j <= 60000; j += 7) {
      const v = Math.fround(j / 10000);
      const e = Math.fround(erf(v));
      if (e !== 0) worst = Math.max(worst, Math.abs(Math.fround(erfFast(v)) - e) / Math.abs(e));
    }
    expect(worst).toBeLessThan(3e-7);
    expect(Math.abs(erfFast(1e-20) / 1.1283791670955126e-20 - 1)).toBeLessThan(1e-7);
    expect(Math.fround(erfFast(9))).toBe(1);
    expect(Number.isNaN(erfFast(NaN))).toBe(true);
    const y = values(runOp('Erf', [t([-1, 0, 0.5, 30], [4])])[0]!);
    expect(y.map((v) => Number(v.toFixed(6)))).toEqual([-0.842701, 0, 0.5205, 1]);
  });
});
