import type { Node, OpRegistry } from '@tessera/core';
import { defineTarget, standardOps, type AnalyticTarget, type NodeCompute } from '@tessera/core';
import { COMMON_DNN_OPS, MAC_OPS, computeByNode, missingCostRules, nodeTraffic } from './common.js';
import { operandFormat, parseFormatId, type OperandFormat } from './formats.js';

/**
 * Energy (pJ) and area (um^2) of arithmetic in a 45 nm process, 0.9 V.
 * Source: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014,
 * pp. 10-14, energy table; the area column is the one reproduced with it in Dally's and Han's
 * talks and in Han et al., "EIE", ISCA 2016 (Table I gives the energy column).
 */
export const HOROWITZ_45NM = {
  energyPj: {
    intAdd: { 8: 0.03, 16: 0.05, 32: 0.1 } as Record<number, number>,
    intMult: { 8: 0.2, 32: 3.1 } as Record<number, number>,
    floatAdd: { 16: 0.4, 32: 0.9 } as Record<number, number>,
    floatMult: { 16: 1.1, 32: 3.7 } as Record<number, number>,
  },
  areaUm2: {
    intAdd: { 8: 36, 16: 67, 32: 137 } as Record<number, number>,
    intMult: { 8: 282, 32: 3495 } as Record<number, number>,
    floatAdd: { 16: 1360, 32: 4184 } as Record<number, number>,
    floatMult: { 16: 1640, 32: 7700 } as Record<number, number>,
  },
  /** Memory access energy per 64-bit word (Horowitz 2014): SRAM by array size; DRAM 1.3-2.6 nJ (lower bound used). */
  memoryPjPer64b: { 'sram-8kb': 10, 'sram-32kb': 20, 'sram-1mb': 100, dram: 1300 } as Record<MemoryLevel, number>,
} as const;

export type MemoryLevel = 'sram-8kb' | 'sram-32kb' | 'sram-1mb' | 'dram';

/** A figure and whether it was read from the table or derived from it (then it is an estimate). */
export interface Figure {
  value: number;
  derived: boolean;
  note?: string;
}

function interpolate(table: Record<number, number>, bits: number): Figure {
  if (table[bits] !== undefined) return { value: table[bits]!, derived: false };
  const keys = Object.keys(table).map(Number).sort((a, b) => a - b);
  const lo = keys[0]!;
  const hi = keys[keys.length - 1]!;
  if (bits < lo) return { value: (table[lo]! * bits) / lo, derived: true };
  if (bits > hi) return { value: (table[hi]! * bits) / hi, derived: true };
  const a = keys.filter((k) => k < bits).pop()!;
  const b = keys.find((k) => k > bits)!;
  return { value: table[a]! + ((table[b]! - table[a]!) * (bits - a)) / (b - a), derived: true };
}

/** Integer/fixed add of `bits`: table at 8/16/32, linear between and beyond (derived). */
export function intAddPj(bits: number): Figure {
  const f = interpolate(HOROWITZ_45NM.energyPj.intAdd, bits);
  return f.derived ? { ...f, note: `int${bits} add scaled linearly from the 8/16/32-bit figures [R]` } : f;
}

/** Integer/fixed multiply: table for 8x8 and 32x32; other widths scale with the product of widths from 8x8 (array multiplier) [R]. */
export function intMultPj(bitsA: number, bitsB: number): Figure {
  if (bitsA === bitsB && HOROWITZ_45NM.energyPj.intMult[bitsA] !== undefined) return { value: HOROWITZ_45NM.energyPj.intMult[bitsA]!, derived: false };
  return { value: (0.2 * bitsA * bitsB) / 64, derived: true, note: `int${bitsA}xint${bitsB} mult scaled by bit product from int8 0.2 pJ [R]` };
}

export function intAddAreaUm2(bits: number): Figure {
  return interpolate(HOROWITZ_45NM.areaUm2.intAdd, bits);
}

export function intMultAreaUm2(bitsA: number, bitsB: number): Figure {
  if (bitsA === bitsB && HOROWITZ_45NM.areaUm2.intMult[bitsA] !== undefined) return { value: HOROWITZ_45NM.areaUm2.intMult[bitsA]!, derived: false };
  return { value: (282 * bitsA * bitsB) / 64, derived: true };
}

/** Barrel shift over `positions` of a `bits`-wide word: an add of that width per log2(positions) stage [R] (spec B5). */
export function shiftPj(bits: number, positions: number): Figure {
  return { value: intAddPj(bits).value * Math.max(1, Math.ceil(Math.log2(Math.max(2, positions)))), derived: true, note: `barrel shift = add x log2(${positions}) stages [R]` };
}

/** Energy of one binary MAC (XNOR + popcount share): a 64-bit XNOR-popcount word op ~ two 64-bit adds, /64 [R]. */
export function binaryMacPj(): Figure {
  return { value: (2 * intAddPj(64).value) / 64, derived: true, note: 'binary MAC = XNOR + popcount, (2 x 64-bit add)/64 per bit = 0.00625 pJ [R estimate]' };
}

function floatTable(f: OperandFormat): 16 | 32 {
  if (f.bits !== 16 && f.bits !== 32) throw new Error(`float format ${f.id} has no 45 nm figure (float16, bfloat16, float32 only)`);
  return f.bits;
}

/**
 * Energy of one multiply-accumulate by operand formats. Float: mult + add of the same width
 * (accumulating in that float). Integer/fixed: mult of the two widths + an accumulator add of
 * `accBits` (default 32). pow2 weights: barrel shift of the activation by 2^(b-1) positions + add.
 * Binary x binary: XNOR-popcount. Binary weight x b-bit activation: an add/subtract only.
 */
export function macEnergyPj(act: OperandFormat, weight: OperandFormat, accBits = 32): Figure & { notes: string[] } {
  const notes: string[] = [];
  const use = (f: Figure) => {
    if (f.note) notes.push(f.note);
    return f;
  };
  if (act.kind === 'posit' || weight.kind === 'posit') throw new Error(`posit operands (${act.id} x ${weight.id}) need the posit-fixed-mac target`);
  if (act.kind === 'float' || weight.kind === 'float') {
    const bits = Math.max(act.kind === 'float' ? floatTable(act) : 16, weight.kind === 'float' ? floatTable(weight) : 16) as 16 | 32;
    const derived = act.id === 'bfloat16' || weight.id === 'bfloat16' || act.kind !== weight.kind;
    if (derived) notes.push(`${act.id} x ${weight.id} costed as fp${bits} mult + add [R]`);
    return { value: HOROWITZ_45NM.energyPj.floatMult[bits]! + HOROWITZ_45NM.energyPj.floatAdd[bits]!, derived, notes };
  }
  if (act.kind === 'binary' && weight.kind === 'binary') {
    const f = use(binaryMacPj());
    return { value: f.value, derived: true, notes };
  }
  if (weight.kind === 'binary' || act.kind === 'binary') {
    const other = weight.kind === 'binary' ? act : weight;
    notes.push(`binary x ${other.id}: sign-controlled add/subtract, no multiplier [R]`);
    const f = use(intAddPj(accBits));
    return { value: f.value, derived: true, notes };
  }
  if (weight.kind === 'pow2' || act.kind === 'pow2') {
    const [p, other] = weight.kind === 'pow2' ? [weight, act] : [act, weight];
    const s = use(shiftPj(other.bits, 2 ** (p.bits - 1)));
    const a = use(intAddPj(accBits));
    return { value: s.value + a.value, derived: true, notes };
  }
  const m = use(intMultPj(act.bits, weight.bits));
  const a = use(intAddPj(accBits));
  return { value: m.value + a.value, derived: m.derived || a.derived, notes };
}

/** Energy of one non-MAC operation (compare, add, scale...), costed as one add in the output's format [R]. */
export function elementwiseOpPj(f: OperandFormat): Figure {
  if (f.kind === 'float') return { value: HOROWITZ_45NM.energyPj.floatAdd[floatTable(f)]!, derived: f.id === 'bfloat16' };
  return intAddPj(Math.max(f.bits, 8));
}

export interface Asic45nmOptions {
  registry?: OpRegistry;
  /** Where weights (initializers) are read from, once per inference (default 'dram'). */
  weightMemory?: MemoryLevel;
  /** Where activations are read and written, each element once per node (default 'sram-1mb'). */
  activationMemory?: MemoryLevel;
  /** Accumulator width for integer/fixed MACs (default 32). */
  accumulatorBits?: number;
  /** Override the DRAM figure within Horowitz's 1.3-2.6 nJ per 64 bits. */
  dramPjPer64b?: number;
}

export const ASIC45NM_FORMATS = (id: string): boolean => {
  if (id === 'float64') return false;
  try {
    return parseFormatId(id).kind !== 'posit';
  } catch {
    return false;
  }
};

/**
 * 45 nm ASIC energy model: each MAC = multiplier + accumulator add by operand formats, each other
 * operation = one add, each tensor element read/written once from its memory level (64-bit
 * words). No data reuse, tiling or leakage is modelled; every figure is labelled estimated.
 */
export function asic45nm(opts: Asic45nmOptions = {}): AnalyticTarget {
  const registry = opts.registry ?? standardOps();
  const wMem = opts.weightMemory ?? 'dram';
  const aMem = opts.activationMemory ?? 'sram-1mb';
  const accBits = opts.accumulatorBits ?? 32;
  const memPj = (m: MemoryLevel) => (m === 'dram' && opts.dramPjPer64b !== undefined ? opts.dramPjPer64b : HOROWITZ_45NM.memoryPjPer64b[m]);
  const target = defineTarget<Map<string, NodeCompute>>({
    registry,
    id: 'asic45nm',
    description: 'Energy of a 45 nm ASIC from Horowitz (ISSCC 2014) per-operation and memory-access figures',
    supportedOps: (n) => COMMON_DNN_OPS.has(n.opId),
    supportedFormats: ASIC45NM_FORMATS,
    units: { energy: 'pJ', computeEnergy: 'pJ', memoryEnergy: 'pJ', macs: 'MAC', ops: 'op' },
    assumptions: [
      'Horowitz, ISSCC 2014, 45 nm: int8/16/32 add 0.03/0.05/0.1 pJ, int8/32 mult 0.2/3.1 pJ, fp16 add/mult 0.4/1.1 pJ, fp32 add/mult 0.9/3.7 pJ',
      `memory per 64-bit word: weights from ${wMem} (${memPj(wMem)} pJ), activations from ${aMem} (${memPj(aMem)} pJ); every element touched once per node, no reuse [R]`,
      `integer MACs accumulate in ${accBits} bits; other widths scale linearly (add) or by bit product (mult) from the table [R]`,
      'binary MAC: XNOR + popcount = (2 x 64-bit add)/64 = 0.00625 pJ per bit [R estimate]; non-MAC ops cost one add each [R]',
    ],
    extraChecks: (g) => missingCostRules(g, registry, 'asic45nm'),
    prepare: (g) => computeByNode(g, registry),
    nodeCost: (n: Node, compute) => {
      const c = compute.get(n.name)!;
      const notes: string[] = [];
      let computeEnergy = 0;
      if (c.macs > 0) {
        const act = operandFormat(n.inputs[0]);
        const w = MAC_OPS.has(n.op) ? operandFormat(n.inputs[1]) : act;
        if (!act || !w) throw new Error(`target asic45nm: node "${n.name}" (${n.opId}): operand types unknown; run ShapeInferencePass`);
        const e = macEnergyPj(act, w, accBits);
        notes.push(...e.notes);
        computeEnergy += c.macs * e.value;
      }
      if (c.flops > 0) {
        const out = operandFormat(n.outputs[0]) ?? operandFormat(n.inputs[0]);
        const e = elementwiseOpPj(out!);
        computeEnergy += c.flops * e.value;
      }
      const t = nodeTraffic(n);
      const memoryEnergy = (t.weightBits / 64) * memPj(wMem) + (t.activationBits / 64) * memPj(aMem);
      return { metrics: { energy: computeEnergy + memoryEnergy, computeEnergy, memoryEnergy, macs: c.macs, ops: c.flops }, estimated: true, notes };
    },
  });
  return target;
}
