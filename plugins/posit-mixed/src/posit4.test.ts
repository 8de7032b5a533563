import { describe, expect, it } from 'vitest';
import { posit } from '@tessera/numerics';
import { decodePositTerms, extraAdds, positTermsValue, shiftAddProduct } from './posit4.js';
import { chooseLayerFormats, quantizePosit } from './formats.js';

describe('Posit4 terms for the shift-add MAC [R]', () => {
  for (const es of [0, 1, 2]) {
    it(`posit<4,${es}>: every pattern decodes to numerics' value, bit-exact, and the finite values are posit(4,${es}).values()`, () => {
      const p = posit(4, es);
      const mine: number[] = [];
      for (let pattern = 0; pattern < 16; pattern++) {
        const t = decodePositTerms(pattern, 4, es);
        const v = positTermsValue(t);
        if (pattern === 8) { expect(t.nar).toBe(true); continue; }
        expect(Object.is(v, p.decode(pattern)) || (v === 0 && p.decode(pattern) === 0)).toBe(true);
        mine.push(v);
        // At most one fraction bit: the product is a shift plus at most one add.
        expect(extraAdds(t)).toBeLessThanOrEqual(1);
      }
      expect(mine.sort((a, b) => a - b)).toEqual(Array.from(p.values()!));
    });
  }

  it('posit<4,0> magnitudes are {1/4, 1/2, 3/4, 1, 3/2, 2, 4} with t in -2..2 (the reference notes)', () => {
    const mags = new Set<number>();
    const scales = new Set<number>();
    for (let pattern = 1; pattern < 8; pattern++) {
      const t = decodePositTerms(pattern, 4, 0);
      mags.add(positTermsValue(t));
      scales.add(t.scale);
    }
    expect([...mags].sort((a, b) => a - b)).toEqual([0.25, 0.5, 0.75, 1, 1.5, 2, 4]);
    expect([...scales].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
  });

  it('shift-add products equal a · w exactly for every 8-bit activation code and posit<4,es> weight', () => {
    for (const es of [0, 1, 2]) {
      for (let pattern = 0; pattern < 16; pattern++) {
        if (pattern === 8) continue;
        const t = decodePositTerms(pattern, 4, es);
        const L = 16; // accumulator LSB 2^-16 holds every product of these weights
        for (let a = -128; a < 128; a++) expect(shiftAddProduct(t, a, L)).toBe(a * positTermsValue(t) * 2 ** L + 0); // integers: no signed zero
      }
    }
    expect(() => shiftAddProduct(decodePositTerms(1, 4, 1), 3, 0)).toThrow('shiftAddProduct: accumulator LSB 2^-0 is coarser than the product quantum 2^-4');
  });

  it('the scaled Posit4 quantizer only produces posit<4,es> values times 2^shift', () => {
    const w = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i * 12.9898) * 0.3);
    for (const es of [0, 1, 2]) {
      const f = chooseLayerFormats(w, 4, es);
      const allowed = new Set(Array.from(posit(4, es).values()!, (v) => v * 2 ** f.positShift));
      for (const q of quantizePosit(w, f.posit, f.positShift)) expect(allowed.has(q)).toBe(true);
    }
  });
});
