import { intAddAreaUm2, intAddPj, shiftPj } from './asic45nm.js';
import { parseFormatId } from './formats.js';
import type { MacUnitCost, MacUnitSpec } from './posit-fixed.js';

export const SHIFT_ADD_MAC_MODEL =
  'Shift-add posit x fixed MAC [R estimate, our reconstruction of the MAC named in Azizi et al. 2023]: the posit weight is decoded ' +
  'into (sign, scale t, fraction bits) by a 2^n-entry table priced as one n-bit add; the product is the fixed activation barrel-shifted ' +
  'over the posit scale range (add x log2 positions, Horowitz 45 nm adds) plus one shifted add per fraction bit and a conditional ' +
  'negation, each an add of the product width; then one accumulator add. No multiplier array, no posit encoder.';

/**
 * Energy and area of the shift-add posit(n,es) x fixed MAC [R] (see SHIFT_ADD_MAC_MODEL). The
 * product width is the activation width plus the posit's scale span (2·maxScale bits), capped at
 * the accumulator. Posit4 with es >= 1 has no fraction bits, so its product is one shift.
 */
export function positShiftAddMacCost(spec: MacUnitSpec): MacUnitCost {
  const w = parseFormatId(spec.weight);
  const a = parseFormatId(spec.activation);
  if (w.kind !== 'posit') throw new Error(`positShiftAddMacCost: weight format ${w.id} is not posit<n,es>`);
  if (a.kind !== 'fixed' && a.kind !== 'int') throw new Error(`positShiftAddMacCost: activation format ${a.id} is not fixed-point or integer`);
  if (spec.accumulator === 'quire') throw new Error('positShiftAddMacCost: the accumulator is fixed-point (a width in bits), not a quire');
  const acc = spec.accumulator ?? 32;
  const es = w.es ?? 0;
  const maxScale = (w.bits - 2) * 2 ** es;
  const positions = 2 * maxScale + 1;
  const productBits = Math.min(acc, a.bits + 2 * maxScale);
  const fractionBits = Math.max(0, w.bits - 3 - es);
  const decoder = { e: intAddPj(w.bits).value, area: intAddAreaUm2(w.bits).value };
  const shifter = { e: shiftPj(productBits, positions).value, area: intAddAreaUm2(productBits).value * Math.ceil(Math.log2(positions)) };
  const adds = { e: (fractionBits + 1) * intAddPj(productBits).value, area: (fractionBits + 1) * intAddAreaUm2(productBits).value };
  const accum = { e: intAddPj(acc).value, area: intAddAreaUm2(acc).value };
  const breakdown = { multiplier: shifter.e + adds.e, decoders: decoder.e, alignment: 0, accumulator: accum.e };
  return {
    weight: w.id, activation: a.id, accumulatorBits: acc,
    energyPj: breakdown.multiplier + breakdown.decoders + breakdown.accumulator,
    areaUm2: decoder.area + shifter.area + adds.area + accum.area,
    breakdown, estimated: true, model: SHIFT_ADD_MAC_MODEL,
  };
}
