import { describe, expect, it } from 'vitest';
import { allocateRanks, normalizedSpectrum } from './rank-allocation.js';

describe('LaMDA++ spectral-energy rank allocation', () => {
  const fake = (name: string, s: number[]) => ({ name, dIn: 64, dOut: 64, svd: { m: 64, n: 64, k: s.length, u: new Float64Array(), v: new Float64Array(), s: Float64Array.from(s), sweeps: 0 } });
  const concentrated = fake('a', [10, 1, 1, 1, 1, 1, 1, 1]);
  const flat = fake('b', [1, 1, 1, 1, 1, 1, 1, 1]);
  const middle = fake('c', [4, 3, 2, 1, 1, 1, 1, 1]);

  it('normalises the spectrum to energy shares', () => {
    const p = normalizedSpectrum([3, 4]);
    expect(p[0]).toBeCloseTo(9 / 25, 15);
    expect(p[1]).toBeCloseTo(16 / 25, 15);
  });

  it('splits the budget by top-r0 energy, keeps the total and the bounds', () => {
    const a = allocateRanks([concentrated, flat, middle], { baseRank: 2, budget: null, rMin: 1, rMax: 8, invert: false });
    expect(a.reduce((s, r) => s + r.rank, 0)).toBe(6);
    expect(a[0]!.energy).toBeCloseTo(101 / 107, 12);
    expect(a[1]!.energy).toBeCloseTo(2 / 8, 12);
    expect(a[0]!.rank).toBeGreaterThan(a[1]!.rank);
    const inv = allocateRanks([concentrated, flat, middle], { baseRank: 2, budget: null, rMin: 1, rMax: 8, invert: true });
    expect(inv.reduce((s, r) => s + r.rank, 0)).toBe(6);
    expect(inv[1]!.rank).toBeGreaterThan(inv[0]!.rank);
    const clamped = allocateRanks([concentrated, flat, middle], { baseRank: 4, budget: 12, rMin: 3, rMax: 5, invert: false });
    expect(clamped.map((r) => r.rank).every((r) => r >= 3 && r <= 5)).toBe(true);
    expect(clamped.reduce((s, r) => s + r.rank, 0)).toBe(12);
  });

  it('refuses a budget the bounds cannot meet', () => {
    expect(() => allocateRanks([flat, middle], { baseRank: 8, budget: 40, rMin: 1, rMax: 8, invert: false })).toThrow('rankAllocation.budget 40 cannot be met with 2 matrices and ranks in 1..8 (valid: 2..16)');
  });
});
