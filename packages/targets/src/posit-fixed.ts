import type { Node, OpRegistry } from '@tessera/core';
import { defineTarget, standardOps, type AnalyticTarget, type NodeCompute } from '@tessera/core';
import { COMMON_DNN_OPS, MAC_OPS, computeByNode, missingCostRules } from './common.js';
import { intAddAreaUm2, intAddPj, intMultAreaUm2, intMultPj } from './asic45nm.js';
import { operandFormat, parseFormatId, tryParseFormatId, type OperandFormat } from './formats.js';

/**
 * Quire width of posit<n,es>: 2^(es+2) * (n - 2) + n bits. It reproduces the draft standard's
 * quire sizes for posit<8,0>, <16,1> and <32,2> (32, 128, 512 bits); for other sizes it is our
 * extrapolation [R].
 */
export function quireBits(n: number, es: number): number {
  return 2 ** (es + 2) * (n - 2) + n;
}

/** Multiplier operand width: the significand (hidden bit included) of a posit at its widest, or the fixed word. */
export function significandBits(f: OperandFormat): number {
  if (f.kind === 'posit') return Math.max(1, f.bits - 2 - (f.es ?? 0));
  return f.bits;
}

export interface MacUnitSpec {
  /** Weight format id: posit<n,es>, fixed<n,f>, int8, int<b,sym> ... */
  weight: string;
  activation: string;
  /** Accumulator: a fixed-point width in bits, or 'quire' (posit x posit only). Default 'quire' for posit x posit, else 32. */
  accumulator?: number | 'quire';
}

export interface MacUnitCost {
  weight: string;
  activation: string;
  accumulatorBits: number;
  /** Energy per MAC, pJ, and its parts. */
  energyPj: number;
  areaUm2: number;
  breakdown: { multiplier: number; decoders: number; alignment: number; accumulator: number };
  estimated: true;
  model: string;
}

export const MAC_UNIT_MODEL =
  'Scaled from Horowitz ISSCC 2014 (45 nm): multiplier = int8 mult (0.2 pJ, 282 um^2) x (a x b) / 64 over significand widths; ' +
  'adder = int add scaled linearly with width; posit decoder per posit operand = leading-zero detector (1 add) + regime shifter ' +
  '(add x log2 n) + sign negation (1 add) of its width; posit products are aligned into the fixed accumulator by a shifter ' +
  '(add(acc) x log2 acc); accumulator = one add of its width [R estimate]';

/**
 * Energy and area of one MAC unit by operand formats (weights x activations -> accumulator), from
 * the stated model (MAC_UNIT_MODEL). Fixed x fixed needs no decoder and no alignment; any posit
 * operand adds its decoder, and a variable-scale product needs an alignment shifter into the
 * fixed-point accumulator.
 */
export function macUnitCost(spec: MacUnitSpec): MacUnitCost {
  const w = parseFormatId(spec.weight);
  const a = parseFormatId(spec.activation);
  for (const f of [w, a]) {
    if (f.kind !== 'posit' && f.kind !== 'fixed' && f.kind !== 'int') throw new Error(`macUnitCost: format ${f.id} is not posit, fixed or integer`);
  }
  const bothPosit = w.kind === 'posit' && a.kind === 'posit';
  const accSpec = spec.accumulator ?? (bothPosit ? 'quire' : 32);
  if (accSpec === 'quire' && !bothPosit) throw new Error(`macUnitCost: a quire accumulator needs posit x posit (got ${w.id} x ${a.id})`);
  const acc = accSpec === 'quire' ? quireBits(Math.max(w.bits, a.bits), Math.max(w.es ?? 0, a.es ?? 0)) : accSpec;
  const sw = significandBits(w);
  const sa = significandBits(a);
  const mult = { e: intMultPj(sw, sa).value, area: intMultAreaUm2(sw, sa).value };
  const decoder = (f: OperandFormat) => {
    if (f.kind !== 'posit') return { e: 0, area: 0 };
    const stages = 2 + Math.ceil(Math.log2(f.bits));
    return { e: intAddPj(f.bits).value * stages, area: intAddAreaUm2(f.bits).value * stages };
  };
  const dw = decoder(w);
  const da = decoder(a);
  const variableScale = w.kind === 'posit' || a.kind === 'posit';
  const alignStages = Math.ceil(Math.log2(acc));
  const align = variableScale ? { e: intAddPj(acc).value * alignStages, area: intAddAreaUm2(acc).value * alignStages } : { e: 0, area: 0 };
  const accum = { e: intAddPj(acc).value, area: intAddAreaUm2(acc).value };
  const breakdown = { multiplier: mult.e, decoders: dw.e + da.e, alignment: align.e, accumulator: accum.e };
  return {
    weight: w.id,
    activation: a.id,
    accumulatorBits: acc,
    energyPj: breakdown.multiplier + breakdown.decoders + breakdown.alignment + breakdown.accumulator,
    areaUm2: mult.area + dw.area + da.area + align.area + accum.area,
    breakdown,
    estimated: true,
    model: MAC_UNIT_MODEL,
  };
}

/**
 * The comparison table: all-fixed, mixed posit(4) x fixed(4) with a fixed-point accumulator, and
 * all-posit (16-bit fixed accumulator, and quire), at 4 and 8 bits.
 */
export const MAC_UNIT_TABLE: readonly MacUnitCost[] = [
  macUnitCost({ weight: 'fixed<4,2>', activation: 'fixed<4,2>', accumulator: 16 }),
  macUnitCost({ weight: 'posit<4,0>', activation: 'fixed<4,2>', accumulator: 16 }),
  macUnitCost({ weight: 'posit<4,0>', activation: 'posit<4,0>', accumulator: 16 }),
  macUnitCost({ weight: 'posit<4,0>', activation: 'posit<4,0>', accumulator: 'quire' }),
  macUnitCost({ weight: 'fixed<8,4>', activation: 'fixed<8,4>', accumulator: 24 }),
  macUnitCost({ weight: 'posit<8,0>', activation: 'fixed<8,4>', accumulator: 24 }),
  macUnitCost({ weight: 'posit<8,0>', activation: 'posit<8,0>', accumulator: 'quire' }),
];

export interface PositFixedMacOptions {
  registry?: OpRegistry;
  /** Accumulator of every MAC unit (default: quire for posit x posit, else 32-bit fixed). */
  accumulator?: number | 'quire';
}

const isMacFormat = (id: string): boolean => {
  const f = tryParseFormatId(id);
  return !!f && (f.kind === 'posit' || f.kind === 'fixed' || (f.kind === 'int' && f.bits <= 32));
};

/**
 * Posit / fixed-point MAC-unit target: every MAC layer runs on one MAC unit for its
 * (weight, activation) formats; energy = MACs x unit energy; area = sum of the distinct units
 * (a unit per format pair, shared by the layers that use it). Non-MAC ops cost one add of the
 * accumulator width per operation. Float tensors are an error: assign formats first.
 */
export function positFixedMac(opts: PositFixedMacOptions = {}): AnalyticTarget {
  const registry = opts.registry ?? standardOps();
  return defineTarget<{ compute: Map<string, NodeCompute>; units: Map<string, MacUnitCost> }>({
    registry,
    id: 'posit-fixed-mac',
    description: 'Posit and fixed-point MAC units: energy and area by operand formats (estimates scaled from Horowitz 45 nm)',
    supportedOps: (n) => COMMON_DNN_OPS.has(n.opId),
    supportedFormats: isMacFormat,
    units: { energy: 'pJ', areaUm2: 'um^2', macs: 'MAC' },
    assumptions: [MAC_UNIT_MODEL, 'one MAC unit per distinct (weight, activation) format pair; non-MAC ops: one accumulator-width add each [R]'],
    extraChecks: (g) => missingCostRules(g, registry, 'posit-fixed-mac'),
    prepare: (g) => ({ compute: computeByNode(g, registry), units: new Map() }),
    nodeCost: (n: Node, ctx) => {
      const c = ctx.compute.get(n.name)!;
      const act = operandFormat(n.inputs[0]);
      if (c.macs > 0 && act) {
        const w = (MAC_OPS.has(n.op) ? operandFormat(n.inputs[1]) : undefined) ?? act;
        const u = macUnitCost({ weight: w.id, activation: act.id, accumulator: opts.accumulator });
        const key = `${u.weight}x${u.activation}->${u.accumulatorBits}`;
        const first = !ctx.units.has(key);
        ctx.units.set(key, u);
        return { metrics: { energy: c.macs * u.energyPj, areaUm2: first ? u.areaUm2 : 0, macs: c.macs }, notes: [`MAC unit ${key}: ${u.energyPj.toFixed(4)} pJ, ${u.areaUm2.toFixed(1)} um^2${first ? '' : ' (shared, area counted once)'}`] };
      }
      const accBits = typeof opts.accumulator === 'number' ? opts.accumulator : 32;
      return { metrics: { energy: c.flops * intAddPj(accBits).value, areaUm2: 0, macs: 0 } };
    },
  });
}
