import { describe, expect, it } from 'vitest';
import { bfloat16, calibrateUniformInt, fixed, float16, pow2, quantizePerChannel, uniformInt } from './index.js';
import { seededRandom } from './exact-reference.js';

describe('fixed<n,frac>', () => {
  const f = fixed(4, 2); // codes -8..7, step 1/4: -2 .. 1.75
  it('rounds half to even on the grid and saturates', () => {
    expect([0.125, 0.375, 0.625, -0.125, -0.375, 0.3, 1.74].map((x) => f.decode(f.encode(x)))).toEqual([0, 0.5, 0.5, 0, -0.5, 0.25, 1.75]);
    expect(f.decode(f.encode(100))).toBe(1.75);
    expect(f.decode(f.encode(-100))).toBe(-2);
    expect(f.decode(f.encode(Infinity))).toBe(1.75);
    expect(f.encode(-0.25)).toBe(0xf);
    expect(f.encode(-2)).toBe(0x8);
  });
  it('enumerates its 16 values and quantizes vectors (NaN stays NaN)', () => {
    expect(Array.from(f.values()!)).toEqual([-2, -1.75, -1.5, -1.25, -1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75]);
    const q = f.quantize(new Float32Array([0.1, 0.13, NaN, -3]));
    expect(Array.from(q)).toEqual([0, 0.25, NaN, -2]);
    expect(q).toBeInstanceOf(Float32Array);
  });
  it('checks arguments', () => {
    expect(() => fixed(0, 2)).toThrow('fixed(n=0, frac=2): n must be an integer in 1..32 (got 0)');
    expect(f.id).toBe('fixed<4,2>');
  });
});

describe('uniform integer quantisers', () => {
  it('symmetric int8 with scale 0.5: 127 levels each side, half to even', () => {
    const q = uniformInt({ bits: 8, symmetric: true, scale: 0.5 });
    expect(q.id).toBe('int<8,sym>');
    expect([0.25, 0.75, 1.25, -0.25, 100, -100].map((x) => q.decode(q.encode(x)))).toEqual([0, 1, 1, 0, 63.5, -63.5]);
    expect(q.encode(-0.5)).toBe(255); // code -1 in two's complement
    expect(q.values()!.length).toBe(255);
  });
  it('asymmetric uint4 with zero point: 0 is a level', () => {
    const q = uniformInt({ bits: 4, symmetric: false, scale: 0.5, zeroPoint: 3 });
    expect(q.values()![0]).toBe(-1.5);
    expect(q.values()![15]).toBe(6);
    expect([0, -5, 10, 0.3, 0.25].map((x) => q.decode(q.encode(x)))).toEqual([0, -1.5, 6, 0.5, 0]);
  });
  it('calibrates scale and zero point from data', () => {
    const sym = calibrateUniformInt([-2, 0.5, 1.27], { bits: 8, symmetric: true });
    expect(sym.scale).toBeCloseTo(2 / 127, 15);
    const asym = calibrateUniformInt([-1, 0.5, 2], { bits: 8, symmetric: false });
    expect(asym.scale).toBeCloseTo(3 / 255, 15);
    expect(asym.zeroPoint).toBe(85);
    expect(asym.decode(asym.encode(0))).toBe(0);
  });
  it('per channel along axis 0 of a [2,3] tensor', () => {
    const data = new Float32Array([1, -0.5, 0.26, 10, 5, -2.6]);
    const { values, formats } = quantizePerChannel(data, [2, 3], 0, { bits: 4, symmetric: true });
    expect(formats.map((f) => f.scale)).toEqual([1 / 7, 10 / 7]);
    // channel 0 step 1/7: 0.26 -> 2/7; channel 1 step 10/7: -2.6 -> -2·10/7
    expect(values[2]).toBeCloseTo(2 / 7, 6);
    expect(values[5]).toBeCloseTo(-20 / 7, 6);
    expect(values[3]).toBeCloseTo(10, 5);
    const given = quantizePerChannel(new Float64Array([0.31, 0.31, 0.31, 0.31]), [2, 2], 1, { bits: 8, symmetric: false, scales: [0.2, 0.25], zeroPoints: [0, 1] });
    expect(Array.from(given.values)).toEqual([0.4, 0.25, 0.4, 0.25]);
  });
  it('checks arguments', () => {
    expect(() => uniformInt({ bits: 1, symmetric: true })).toThrow('uniformInt({bits: 1, symmetric: true}): bits must be an integer in 2..32 (got 1)');
    expect(() => uniformInt({ bits: 8, symmetric: true, scale: 0 })).toThrow(/scale must be a finite number > 0/);
  });
});

describe('pow2<bits>: log-domain rounding with an explicit zero', () => {
  it('3 bits has levels {0, ±1/4, ±1/2, ±1}', () => {
    expect(Array.from(pow2(3).values())).toEqual([-1, -0.5, -0.25, 0, 0.25, 0.5, 1]);
  });
  it('decision points are geometric midpoints √2·2^e', () => {
    const f = pow2(4); // 0, ±2^-6 .. ±1
    const q = (x: number) => f.decode(f.encode(x));
    expect(q(0.7071067811865475)).toBe(0.5); // just below √2/2
    expect(q(0.7071067811865476)).toBe(1); // first double above √2/2
    expect(q(0.74)).toBe(1); // a linear-domain midpoint rule would give 0.5
    expect(q(0.36)).toBe(0.5);
    expect(q(0.35)).toBe(0.25);
    expect(q(-0.36)).toBe(-0.5);
    expect(q(2 ** -6 / Math.SQRT2 * 0.9999)).toBe(0);
    expect(q(2 ** -6 / Math.SQRT2 * 1.0001)).toBe(2 ** -6);
    expect(q(5)).toBe(1);
    expect(f.encode(-0.5)).toBe(0b1110);
    expect(f.encode(-1e-9)).toBe(0);
  });
  it('emax shifts the grid and shows in the id', () => {
    const f = pow2(4, 3);
    expect(f.id).toBe('pow2<4,emax=3>');
    expect(f.values()[14]).toBe(8);
    expect(f.values()[8]).toBe(2 ** -3);
    expect(() => pow2(1)).toThrow('pow2(bits=1, emax=0): bits must be an integer in 2..8 (got 1)');
  });
});

describe('float16 and bfloat16', () => {
  it('float16 known vectors (RNE, subnormals, overflow, NaN)', () => {
    const cases: [number, number][] = [
      [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [1 / 3, 0x3555], [65504, 0x7bff], [65519.99, 0x7bff],
      [65520, 0x7c00], [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [2 ** -25 * 1.0000001, 0x0001],
      [3 * 2 ** -25, 0x0002], [Infinity, 0x7c00], [-Infinity, 0xfc00], [-0, 0x8000], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [x, bits] of cases) expect([x, float16.encode(x)]).toEqual([x, bits]);
    expect(float16.encode(NaN)).toBe(0x7e00);
    expect(float16.decode(0x0001)).toBe(2 ** -24);
    expect(float16.decode(0x7c01)).toBeNaN();
  });
  it('float16 round-trips every non-NaN pattern', () => {
    let bad = 0;
    for (let p = 0; p < 65536; p++) {
      const v = float16.decode(p);
      if (!Number.isNaN(v) && float16.encode(v) !== p) bad++;
    }
    expect(bad).toBe(0);
    expect(float16.values()!.length).toBe(2 * 0x7bff + 1);
  });
  it('bfloat16 known vectors, rounding the double once (not via float32)', () => {
    const cases: [number, number][] = [
      [1, 0x3f80], [0.1, 0x3dcd], [Math.PI, 0x4049], [-1.5, 0xbfc0], [1 + 2 ** -8, 0x3f80], [1 + 3 * 2 ** -8, 0x3f82],
      [1 + 2 ** -8 + 2 ** -40, 0x3f81], [3.3895313892515355e38, 0x7f7f], [3.4e38, 0x7f80], [2 ** -133, 0x0001],
    ];
    for (const [x, bits] of cases) expect([x, bfloat16.encode(x)]).toEqual([x, bits]);
  });
  it('bfloat16 float32 fast path equals the generic rounding', () => {
    const rnd = seededRandom(3);
    const src = new Float32Array(20000).map(() => (rnd() - 0.5) * 2 ** Math.floor(rnd() * 80 - 40));
    src[0] = NaN;
    src[1] = Infinity;
    src[2] = 3.4e38; // above the last bfloat16 midpoint: rounds up to Inf
    const fast = bfloat16.quantize(src);
    const slow = bfloat16.quantize(Float64Array.from(src));
    expect(Array.from(fast)).toEqual(Array.from(slow));
    expect(fast[2]).toBe(Infinity);
  });
});
