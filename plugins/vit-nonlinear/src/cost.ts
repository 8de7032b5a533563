import { GraphBuilder, Tensor, type Graph, type Node, type OpRegistry, type Value } from '@tessera/core';
import { fpgaResources, type CustomOperatorCounts, type OperatorCounts } from '@tessera/targets';
import { ApproxGelu, ApproxLayerNorm, ApproxSoftmax, PEANO_DOMAIN } from './ops.js';
import { parsePeanoOptions, type PeanoOptionsInput } from './options.js';

/**
 * Operators of one lane of each approximate unit (spec section 8, cost model), for the fpga
 * target's `operators` hook:
 * - LayerNorm: mean, centre, variance and ε adders, square multiplier; 1/√v by a leading-one
 *   detector + ROM of 2·2^t entries + barrel shifter (2^−⌊e/2⌋) + one multiply by r; γ multiply, β add;
 * - softmax: row max (comparator), x − max + bias (2 adders), cut-off and clamp (3 comparators),
 *   Padé numerator and denominator (2 multipliers, 4 adders), two multi-scale reciprocals
 *   (LOD + ROM of 2^t entries + shifter + multiplier each), num·1/den and E·1/Σ multipliers, Σ adder;
 * - GELU: a comparator tree over S segments (⌈log2 S⌉ + 2 comparators for the two saturations),
 *   slope/intercept ROM, one multiply (or, with shift-add slopes, two shifters and an adder), one add.
 */
export function peanoOperatorCounts(node: Node): CustomOperatorCounts | undefined {
  if (node.domain !== PEANO_DOMAIN) return undefined;
  const romBlocks = (entries: number) => Math.max(1, Math.ceil(entries / 64));
  if (node.op === ApproxLayerNorm) {
    const entries = node.int('pow2Only', 0) ? 2 : 2 * 2 ** node.int('tableBits', 4);
    return { adders: 5, multipliers: 3, leadingOneDetectors: 1, roms: romBlocks(entries), shifters: 1 };
  }
  if (node.op === ApproxSoftmax) {
    return { comparators: 4, adders: 7, multipliers: 6, leadingOneDetectors: 2, roms: 2 * romBlocks(2 ** node.int('reciprocalBits', 6)), shifters: 2 };
  }
  if (node.op === ApproxGelu) {
    const S = node.int('segments', 8);
    const tree = Math.ceil(Math.log2(Math.max(2, S))) + 2;
    const roms = romBlocks(2 * S);
    return node.string('slopes', 'float') === 'shiftAdd'
      ? { comparators: tree, roms, shifters: 2, adders: 2 }
      : { comparators: tree, roms, multipliers: 1, adders: 1 };
  }
  return undefined;
}

export interface UnitCost extends OperatorCounts {
  unit: 'layerNorm' | 'softmax' | 'gelu';
  variant: 'exact' | 'approximate';
  /** Elements the unit graph processes (one token of d, one attention row, one MLP activation vector). */
  elements: number;
  dsp: number;
  lut: number;
  ff: number;
  cycles: number;
  /** [R] estimated power index at equal clock: LUT + FF + dspWeight·DSP of the unit (power ∝ used resources). */
  powerIndex: number;
  /** [R] estimated energy index per element: Σ_nodes (LUT + FF + dspWeight·DSP) · cycles / elements (iterative dividers count their cycles). */
  energyIndex: number;
}

export interface CostTableOptions {
  /** [R] LUT-equivalents of one DSP48 slice in the energy index (default 50). */
  dspWeight?: number;
  /** Fixed-point width of the datapath (default 16, spec B5). */
  bits?: number;
  /** Token width d of the LayerNorm unit, attention row length of the softmax unit, GELU vector length. */
  sizes?: { layerNorm?: number; softmax?: number; gelu?: number };
}

function unitGraph(registry: OpRegistry, name: string, n: number, build: (b: GraphBuilder, x: Value) => Value, bits: number): Graph {
  const b = new GraphBuilder(undefined, registry);
  b.graph.name = name;
  const x = b.input('x', 'float32', [1, n]);
  b.output(build(b, x), 'y');
  const fmt = { id: `fixed<${bits},${bits / 2}>`, bits };
  for (const v of b.graph.allValues()) v.format = fmt;
  return b.graph;
}

/**
 * Exact vs approximate nonlinear units priced by the fpga target (`fpgaResources`, one lane per
 * node of a layer-pipelined design): the exact units are graphs of standard ops (decomposed
 * LayerNorm with Sqrt and Div, softmax with Exp and Div, GELU with Erf), the approximate ones a
 * single tessera.peano node whose operator counts `peanoOperatorCounts` declares. All resource and
 * energy figures are estimates from spec B5's [R] relative index.
 */
export function fpgaCostTable(registry: OpRegistry, options: PeanoOptionsInput = {}, opts: CostTableOptions = {}): UnitCost[] {
  const o = parsePeanoOptions(options);
  const bits = opts.bits ?? 16;
  const w = opts.dspWeight ?? 50;
  const size = { layerNorm: 64, softmax: 17, gelu: 128, ...opts.sizes };
  const target = fpgaResources({ registry, operators: peanoOperatorCounts });
  const c = (b: GraphBuilder, v: number) => b.constant(v);
  const axes = (b: GraphBuilder) => b.ints([-1]);
  const exact: Record<UnitCost['unit'], (b: GraphBuilder, x: Value) => Value> = {
    layerNorm: (b, x) => {
      const d = b.op('Sub', [x, b.op('ReduceMean', [x], { axes: [-1] })]);
      const v = b.op('ReduceMean', [b.op('Pow', [d, c(b, 2)])], { axes: [-1] });
      const y = b.op('Div', [d, b.op('Sqrt', [b.op('Add', [v, c(b, 1e-5)])])]);
      return b.op('Add', [b.op('Mul', [y, b.constant(Tensor.from(new Array(size.layerNorm).fill(1), [size.layerNorm]))]), b.constant(Tensor.zeros('float32', [size.layerNorm]))]);
    },
    softmax: (b, x) => {
      const e = b.op('Exp', [b.op('Sub', [x, b.op('ReduceMax', [x], { axes: [-1] })])]);
      return b.op('Div', [e, b.op('ReduceSum', [e, axes(b)])]);
    },
    gelu: (b, x) => b.op('Mul', [b.op('Mul', [x, b.op('Add', [b.op('Erf', [b.op('Mul', [x, c(b, Math.SQRT1_2)])]), c(b, 1)])]), c(b, 0.5)]),
  };
  const approx: Record<UnitCost['unit'], (b: GraphBuilder, x: Value) => Value> = {
    layerNorm: (b, x) => b.op(ApproxLayerNorm, [x, b.constant(Tensor.from(new Array(size.layerNorm).fill(1), [size.layerNorm])), b.constant(Tensor.zeros('float32', [size.layerNorm]))],
      { tableBits: o.layerNorm.tableBits, pow2Only: o.layerNorm.pow2Only ? 1 : 0 }, { domain: PEANO_DOMAIN }),
    softmax: (b, x) => b.op(ApproxSoftmax, [x], { reciprocalBits: o.softmax.reciprocalBits }, { domain: PEANO_DOMAIN }),
    gelu: (b, x) => b.op(ApproxGelu, [x], { segments: o.gelu.segments, range: o.gelu.range, slopes: o.gelu.slopes }, { domain: PEANO_DOMAIN }),
  };
  const rows: UnitCost[] = [];
  for (const unit of ['layerNorm', 'softmax', 'gelu'] as const) {
    for (const [variant, build] of [['exact', exact[unit]], ['approximate', approx[unit]]] as const) {
      const g = unitGraph(registry, `${unit}-${variant}`, size[unit], build, bits);
      const r = target.cost(g);
      const t = r.total as Record<string, number>;
      let energy = 0;
      for (const p of r.perNode) {
        const m = p.metrics as Record<string, number>;
        energy += (m.lut! + m.ff! + w * m.dsp!) * m.cycles!;
      }
      rows.push({
        unit, variant, elements: size[unit],
        multipliers: t.multipliers!, adders: t.adders!, comparators: t.comparators!, specialUnits: t.specialUnits!, dividers: t.dividers!,
        shifters: t.shifters!, leadingOneDetectors: t.leadingOneDetectors!, roms: t.roms!,
        dsp: t.dsp!, lut: t.lut!, ff: t.ff!, cycles: t.cycles!, powerIndex: t.lut! + t.ff! + w * t.dsp!, energyIndex: energy / size[unit],
      });
    }
  }
  return rows;
}

/** [P] the paper's power-efficiency gains (abstract), next to our estimated exact/approximate power- and energy-index ratios. */
export const PAPER_POWER_GAINS = { layerNorm: 1.91, softmax: 1.39, gelu: 8.01 } as const;

export function efficiencyGains(rows: readonly UnitCost[]): { unit: UnitCost['unit']; paper: number; estimatedPower: number; estimatedEnergy: number }[] {
  return (['layerNorm', 'softmax', 'gelu'] as const).map((unit) => {
    const e = rows.find((r) => r.unit === unit && r.variant === 'exact')!;
    const a = rows.find((r) => r.unit === unit && r.variant === 'approximate')!;
    return { unit, paper: PAPER_POWER_GAINS[unit], estimatedPower: e.powerIndex / a.powerIndex, estimatedEnergy: e.energyIndex / a.energyIndex };
  });
}
