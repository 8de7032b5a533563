import type { Node, OpRegistry } from '@tessera/core';
import { defineTarget, elementCount, standardOps, type AnalyticTarget, type NodeCompute } from '@tessera/core';
import { DATA_MOVEMENT_OPS, ELEMENTWISE_OPS, MAC_OPS, computeByNode, missingCostRules, nodeTraffic } from './common.js';
import { operandFormat, tryParseFormatId } from './formats.js';

/**
 * FPGA resources per operator. Facts: a Xilinx 7-series DSP48E1 slice multiplies 25 x 18 bits
 * signed (UG479), a block RAM holds 36 Kb (UG473). Everything else is an [R] estimate from spec B5's
 * relative resource index for a 16-bit fixed-point datapath, scaled linearly with width:
 * adder or comparator ~1 LUT per bit; barrel shifter ~64 LUT at 16 positions; special-function core
 * (exp/erf/tanh/sigmoid) ~4 DSP + 300 LUT + 300 FF; divider/square root 0 DSP, ~400 LUT + 400 FF,
 * latency = bit width in cycles; one pipeline register (FF) per operator output bit.
 */
export const FPGA_OPERATORS = {
  dsp48: { a: 25, b: 18 },
  bramBits: 36 * 1024,
  lutPerAdderBit: 1,
  lutPerComparatorBit: 1,
  /** Below this width a multiplier is built from LUTs (~a x b LUT) instead of a DSP [R]. */
  lutMultiplierMaxBits: 4,
  special: { dsp: 4, lut: 300, ff: 300 },
  divider: { dsp: 0, lut: 400, ff: 400 },
  /** [R] spec B5 at 16 bits: barrel shifter over 16 positions ~64 LUT, leading-one detector ~20 LUT, 64-entry x 16-bit ROM ~16 LUT. */
  barrelShifter16: { lut: 64 },
  leadingOneDetector16: { lut: 20 },
  rom64x16: { lut: 16 },
};

export interface OperatorCounts {
  multipliers: number;
  adders: number;
  comparators: number;
  specialUnits: number;
  dividers: number;
  /** Barrel shifters (multiplication by 2^k). */
  shifters: number;
  leadingOneDetectors: number;
  /** 64-entry x 16-bit ROM blocks (small constant tables). */
  roms: number;
}

/** Operators of one lane of a node the built-in tables do not know (a plugin's op), as a plugin declares them. */
export type CustomOperatorCounts = Partial<OperatorCounts>;

const SPECIAL = new Set(['Sigmoid', 'Tanh', 'Exp', 'Erf', 'Gelu', 'Softmax']);
const DIVIDERS = new Set(['Div', 'Sqrt', 'LayerNormalization']);
const COMPARATORS = new Set(['Relu', 'LeakyRelu', 'Clip', 'Max', 'Min', 'MaxPool', 'GlobalMaxPool', 'ReduceMax', 'Round', 'Sign', 'Floor']);
const ADDERS = new Set(['Add', 'Sub', 'AveragePool', 'GlobalAveragePool', 'ReduceMean', 'ReduceSum', 'Neg', 'Abs', 'QuantizeLinear', 'DequantizeLinear']);
const MULTIPLIERS = new Set(['Mul', 'Pow']);

export interface FpgaOptions {
  registry?: OpRegistry;
  /** MAC units instantiated per MAC layer (layer-pipelined dataflow design; default 16). */
  macUnitsPerLayer?: number;
  /** Parallel lanes of each elementwise layer (default 1). */
  lanesPerLayer?: number;
  /** Accumulator width of the MAC units (default 32). */
  accumulatorBits?: number;
  /**
   * Operator counts of one lane of ops outside the built-in tables (plugin ops, e.g. a custom-domain
   * approximate unit); return undefined for ops it does not describe. Priced like the built-in ones.
   */
  operators?: (node: Node) => CustomOperatorCounts | undefined;
}

/** DSPs, LUTs and FFs of one a x b multiplier. */
export function multiplierResources(a: number, b: number): { dsp: number; lut: number; ff: number } {
  const o = FPGA_OPERATORS;
  if (Math.max(a, b) <= o.lutMultiplierMaxBits) return { dsp: 0, lut: a * b, ff: a + b };
  const [hi, lo] = a >= b ? [a, b] : [b, a];
  const dsp = Math.ceil(hi / o.dsp48.a) * Math.ceil(lo / o.dsp48.b);
  return { dsp, lut: 0, ff: a + b };
}

/**
 * FPGA resource model for a layer-pipelined dataflow design: each MAC layer gets `macUnitsPerLayer`
 * multipliers + accumulating adders, each elementwise layer `lanesPerLayer` operators of its kind,
 * weights sit in block RAM. Reports operator counts (exact under this architecture) and derived
 * DSP / LUT / FF / BRAM and cycles (estimated). Cycles of the whole graph: sum over layers (one
 * input in flight).
 */
export function fpgaResources(opts: FpgaOptions = {}): AnalyticTarget {
  const registry = opts.registry ?? standardOps();
  const units = opts.macUnitsPerLayer ?? 16;
  const lanes = opts.lanesPerLayer ?? 1;
  const acc = opts.accumulatorBits ?? 32;
  const o = FPGA_OPERATORS;
  return defineTarget<Map<string, NodeCompute>>({
    registry,
    id: 'fpga',
    description: `FPGA resources, layer-pipelined, ${units} MAC units per layer (DSP48E1 25x18, 36 Kb BRAM; LUT/FF figures estimated)`,
    supportedOps: (n) => opts.operators?.(n) !== undefined || MAC_OPS.has(n.op) || DATA_MOVEMENT_OPS.has(n.op) || SPECIAL.has(n.op) || DIVIDERS.has(n.op) || COMPARATORS.has(n.op) || ADDERS.has(n.op) || MULTIPLIERS.has(n.op) || n.op === 'BatchNormalization',
    supportedFormats: (id) => {
      const f = tryParseFormatId(id);
      return !!f && f.kind !== 'float' && f.kind !== 'posit';
    },
    units: { multipliers: 'count', adders: 'count', comparators: 'count', specialUnits: 'count', dividers: 'count', shifters: 'count', leadingOneDetectors: 'count', roms: 'count', dsp: 'DSP48', lut: 'LUT', ff: 'FF', bram: 'BRAM36', cycles: 'cycle' },
    assumptions: [
      'Xilinx DSP48E1 multiplies 25x18 signed bits (UG479); BRAM36 holds 36 Kb (UG473)',
      `[R] spec B5 relative resource index: adder/comparator ~1 LUT/bit, special-function core ${o.special.dsp} DSP + ${o.special.lut} LUT + ${o.special.ff} FF, divider ${o.divider.lut} LUT + ${o.divider.ff} FF, multipliers <= ${o.lutMultiplierMaxBits} bits in LUTs`,
      `[R] spec B5: barrel shifter ${o.barrelShifter16.lut} LUT, leading-one detector ${o.leadingOneDetector16.lut} LUT, 64x16 ROM ${o.rom64x16.lut} LUT at 16 bits (scaled linearly with width)`,
      `architecture: ${units} MAC units per MAC layer, ${lanes} lane(s) per elementwise layer, ${acc}-bit accumulators, weights in BRAM`,
      'floating point needs a fixed-point (or int) format on every tensor: quantise first',
    ],
    extraChecks: (g) => missingCostRules(g, registry, 'fpga'),
    prepare: (g) => computeByNode(g, registry),
    nodeCost: (n: Node, compute) => {
      const counts: OperatorCounts = { multipliers: 0, adders: 0, comparators: 0, specialUnits: 0, dividers: 0, shifters: 0, leadingOneDetectors: 0, roms: 0 };
      const c = compute.get(n.name)!;
      const act = operandFormat(n.inputs[0]);
      const bits = act?.bits ?? 16;
      let dsp = 0, lut = 0, ff = 0, cycles = 0;
      // Operations of an elementwise layer: its FLOPs when the cost rule counts them, else one per output element.
      const work = c.flops > 0 ? c.flops : n.outputs[0]?.type ? elementCount(n.outputs[0]) : 1;
      const custom = opts.operators?.(n);
      if (custom) {
        const k = lanes;
        const m = multiplierResources(bits, bits);
        const w = bits / 16;
        for (const key of Object.keys(counts) as (keyof OperatorCounts)[]) counts[key] = k * (custom[key] ?? 0);
        dsp = counts.multipliers * m.dsp + counts.specialUnits * o.special.dsp + counts.dividers * o.divider.dsp;
        lut = counts.multipliers * m.lut + (counts.adders * o.lutPerAdderBit + counts.comparators * o.lutPerComparatorBit) * bits
          + w * (counts.shifters * o.barrelShifter16.lut + counts.leadingOneDetectors * o.leadingOneDetector16.lut + counts.roms * o.rom64x16.lut)
          + counts.specialUnits * o.special.lut + counts.dividers * o.divider.lut;
        ff = counts.multipliers * m.ff + (counts.adders + counts.comparators + counts.shifters + counts.leadingOneDetectors + counts.roms) * bits
          + counts.specialUnits * o.special.ff + counts.dividers * o.divider.ff;
        cycles = Math.ceil(work / k) * (counts.dividers > 0 ? bits : 1);
      } else if (MAC_OPS.has(n.op)) {
        const w = operandFormat(n.inputs[1]) ?? act;
        const u = Math.max(1, Math.min(units, c.macs));
        const m = multiplierResources(bits, w?.bits ?? bits);
        counts.multipliers = u;
        counts.adders = u;
        dsp = u * m.dsp;
        lut = u * (m.lut + acc * o.lutPerAdderBit);
        ff = u * (m.ff + acc);
        cycles = Math.ceil(c.macs / u);
      } else if (!DATA_MOVEMENT_OPS.has(n.op)) {
        const k = lanes;
        if (SPECIAL.has(n.op)) {
          counts.specialUnits = k;
          dsp = k * o.special.dsp; lut = k * o.special.lut; ff = k * o.special.ff;
        } else if (DIVIDERS.has(n.op)) {
          counts.dividers = k;
          dsp = k * o.divider.dsp; lut = k * o.divider.lut; ff = k * o.divider.ff;
        } else if (COMPARATORS.has(n.op)) {
          counts.comparators = k;
          lut = k * bits * o.lutPerComparatorBit; ff = k * bits;
        } else if (ADDERS.has(n.op)) {
          counts.adders = k;
          lut = k * bits * o.lutPerAdderBit; ff = k * bits;
        } else {
          // Mul, Pow, BatchNormalization (folded scale and shift): a multiplier and an adder per lane.
          const m = multiplierResources(bits, bits);
          counts.multipliers = k;
          counts.adders = n.op === 'BatchNormalization' ? k : 0;
          dsp = k * m.dsp; lut = k * (m.lut + counts.adders / k * bits); ff = k * (m.ff + bits);
        }
        cycles = Math.ceil(work / k) * (DIVIDERS.has(n.op) ? bits : 1);
      }
      const bram = Math.ceil(nodeTraffic(n).weightBits / o.bramBits);
      return { metrics: { ...counts, dsp, lut, ff, bram, cycles }, notes: [`${n.op}: ${bits}-bit operands`] };
    },
  });
}
