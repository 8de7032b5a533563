import { describe, expect, it } from 'vitest';
import { approxMatMul, exactMul, mitchellMul, mitchellMulFloat, mitchellMulSigned, mitchWMul, mitchWMulFloat, plamMul, plamMulValues, posit, truncateToW } from './index.js';
import { float32Bits, float32FromBits } from './float-bits.js';
import { readBytes, readU16 } from './reference-vectors.js';
import { seededRandom } from './exact-reference.js';

describe('Mitchell and Mitch-w on unsigned 8-bit integers (reference tables)', () => {
  it('mitchell_u8.bin: all 65,536 products', () => {
    const ref = readU16('mitchell/mitchell_u8.bin');
    let bad = 0;
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) if (mitchellMul(a, b) !== ref[a * 256 + b]) bad++;
    expect(bad).toBe(0);
    expect(mitchellMul(3, 3)).toBe(8);
    expect(mitchellMul(255, 255)).toBe(ref[255 * 256 + 255]);
  });
  it('mitch_w6_u8.bin: all 65,536 products', () => {
    const ref = readU16('mitchell/mitch_w6_u8.bin');
    let bad = 0;
    for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) if (mitchWMul(a, b, 6) !== ref[a * 256 + b]) bad++;
    expect(bad).toBe(0);
  });
  it('error statistics match the README: never over, max 1/9 below, mean -3.79%', () => {
    let sum = 0;
    let worst = 0;
    for (let a = 1; a < 256; a++) {
      for (let b = 1; b < 256; b++) {
        const e = mitchellMul(a, b) / (a * b) - 1;
        expect(e).toBeLessThanOrEqual(0);
        worst = Math.min(worst, e);
        sum += e;
      }
    }
    expect(worst).toBeCloseTo(-1 / 9, 10);
    expect(sum / 65025).toBeCloseTo(-0.0379, 4);
  });
  it('truncation keeps w significant bits; signed uses sign-magnitude', () => {
    expect(truncateToW(0b11011011, 3)).toBe(0b11000000);
    expect(truncateToW(5, 6)).toBe(5);
    expect(mitchellMulSigned(-3, 3)).toBe(-8);
    expect(mitchellMulSigned(-3, -3)).toBe(8);
    expect(mitchellMulSigned(-195, 195, 6)).toBe(-mitchWMul(195, 195, 6));
    expect(() => mitchellMul(-1, 2)).toThrow('mitchellMul: operands must be integers in 0..2^26-1 (got -1)');
  });
});

describe('Mitchell on floats', () => {
  it('equals the integer algorithm on integers', () => {
    for (let a = 1; a < 256; a += 7) for (let b = 1; b < 256; b += 3) expect(mitchellMulFloat(a, b)).toBe(mitchellMul(a, b));
    expect(mitchellMulFloat(-1.5, 1.5)).toBe(-2);
  });
  it('equals adding float32 bit patterns minus the pattern of 1.0', () => {
    const rnd = seededRandom(9);
    for (let i = 0; i < 2000; i++) {
      const a = Math.fround(rnd() * 2 ** (rnd() * 20 - 10));
      const b = Math.fround(rnd() * 2 ** (rnd() * 20 - 10));
      expect(mitchellMulFloat(a, b)).toBe(float32FromBits(float32Bits(a) + float32Bits(b) - 0x3f800000));
    }
  });
  it('Mitch-w on floats truncates fractions to w-1 bits; specials follow IEEE', () => {
    // 1.96875 = 1.11111b -> w=3 keeps 1.11b = 1.75; 1.75·1.75 Mitchell: 0.75+0.75 = 1.5 -> 2·1.5 = 3
    expect(mitchWMulFloat(1.96875, 1.96875, 3)).toBe(3);
    expect(mitchellMulFloat(0, 5)).toBe(0);
    expect(mitchellMulFloat(Infinity, 0)).toBeNaN();
    expect(mitchellMulFloat(-Infinity, 2)).toBe(-Infinity);
  });
});

describe('PLAM on posit<8,es> (reference tables)', () => {
  for (const es of [0, 1, 2]) {
    it(`plam_p8e${es}.bin: all 65,536 pairs`, () => {
      const f = posit(8, es);
      const ref = readBytes(`plam/plam_p8e${es}.bin`);
      let bad = 0;
      let differsFromExact = 0;
      for (let a = 0; a < 256; a++) {
        for (let b = 0; b < 256; b++) {
          const p = plamMul(f, a, b);
          if (p !== ref[a * 256 + b]) bad++;
          if (p !== f.mul(a, b)) differsFromExact++;
        }
      }
      expect(bad).toBe(0);
      expect(differsFromExact).toBe([32544, 22044, 11640][es]);
    });
  }
  it('NaR has priority over zero', () => {
    const f = posit(16, 1);
    expect(plamMul(f, f.nar, 0)).toBe(f.nar);
    expect(plamMul(f, 0, f.encode(3))).toBe(0);
    expect(plamMulValues(f)(1.5, 1.5)).toBe(2);
  });
});

describe('approxMatMul', () => {
  it('exact multiplier on integers gives the exact product', () => {
    const a = [1, 2, 3, 4, 5, 6]; // 2x3
    const b = [7, 8, 9, 10, 11, 12]; // 3x2
    expect(Array.from(approxMatMul(a, b, 2, 3, 2, exactMul))).toEqual([58, 64, 139, 154]);
  });
  it('uses the given multiplier per product', () => {
    const a = [3, 5];
    const b = [3, 7];
    expect(Array.from(approxMatMul(a, b, 1, 2, 1, (x, y) => mitchellMul(x, y)))).toEqual([mitchellMul(3, 3) + mitchellMul(5, 7)]);
  });
  it('accumulates exactly, rounding once', () => {
    expect(approxMatMul([1e16, 1, -1e16], [1, 1, 1], 1, 3, 1, exactMul)[0]).toBe(1);
    expect(approxMatMul([1, 1e100, 1, -1e100], [1, 1, 1, 1], 1, 4, 1, exactMul)[0]).toBe(2);
    expect(approxMatMul([Infinity, 1], [1, 1], 1, 2, 1, exactMul)[0]).toBe(Infinity);
  });
});
