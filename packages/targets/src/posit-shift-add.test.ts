import { describe, expect, it } from 'vitest';
import { intAddPj, macUnitCost, positShiftAddMacCost } from './index.js';

describe('shift-add posit x fixed MAC [R]', () => {
  it('prices posit<4,1> x fixed<8,4> as decoder + 4-stage shifter + negation + accumulator add (Horowitz adds)', () => {
    const u = positShiftAddMacCost({ weight: 'posit<4,1>', activation: 'fixed<8,4>', accumulator: 32 });
    // maxScale 4: 9 positions (4 stages) of a 16-bit product; no fraction bits; 32-bit accumulator.
    expect(u.breakdown.decoders).toBeCloseTo(intAddPj(4).value, 12);
    expect(u.breakdown.multiplier).toBeCloseTo(4 * 0.05 + 0.05, 12);
    expect(u.breakdown.accumulator).toBe(0.1);
    expect(u.energyPj).toBeCloseTo(0.015 + 0.25 + 0.1, 12);
    expect(u.estimated).toBe(true);
    expect(u.model).toMatch(/\[R estimate/);
  });

  it('costs more than the fixed MAC, less than the generic posit x fixed unit, and posit<4,0> pays one add for its fraction bit', () => {
    const fix = macUnitCost({ weight: 'fixed<4,2>', activation: 'fixed<8,4>', accumulator: 32 });
    const generic = macUnitCost({ weight: 'posit<4,1>', activation: 'fixed<8,4>', accumulator: 32 });
    const sa = positShiftAddMacCost({ weight: 'posit<4,1>', activation: 'fixed<8,4>', accumulator: 32 });
    expect(fix.energyPj).toBeLessThan(sa.energyPj);
    expect(sa.energyPj).toBeLessThan(generic.energyPj);
    const es0 = positShiftAddMacCost({ weight: 'posit<4,0>', activation: 'fixed<8,4>', accumulator: 32 });
    expect(es0.breakdown.multiplier).toBeCloseTo(2 * intAddPj(12).value + intAddPj(12).value * 3, 12);
  });

  it('refuses what it does not model, in one line', () => {
    expect(() => positShiftAddMacCost({ weight: 'fixed<4,2>', activation: 'fixed<8,4>' })).toThrow('positShiftAddMacCost: weight format fixed<4,2> is not posit<n,es>');
    expect(() => positShiftAddMacCost({ weight: 'posit<4,1>', activation: 'posit<4,1>' })).toThrow('positShiftAddMacCost: activation format posit<4,1> is not fixed-point or integer');
  });
});
