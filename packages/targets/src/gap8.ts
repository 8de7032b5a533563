import type { Node, OpRegistry } from '@tessera/core';
import { defineTarget, standardOps, type AnalyticTarget, type NodeCompute } from '@tessera/core';
import { DATA_MOVEMENT_OPS, ELEMENTWISE_OPS, MAC_OPS, computeByNode, missingCostRules, nodeTraffic } from './common.js';
import { operandFormat, tryParseFormatId, type OperandFormat } from './formats.js';

/**
 * GAP8-like MCU parameters. Facts from GreenWaves Technologies' public GAP8 product brief and
 * datasheet: an 8-core RISC-V compute cluster (plus a fabric controller), cluster clock up to
 * 175 MHz, 64 KB shared L1 (TCDM), 512 KB L2. The cores implement the PULP Xpulp DSP extensions,
 * whose sdotp instructions do a 4 x 8-bit (or 2 x 16-bit) dot product per cycle (Gautschi et al.,
 * IEEE TVLSI 2017). Efficiency, DMA and external-RAM bandwidth and per-layer overhead are
 * placeholders from spec B5 [R], not GAP8 measurements.
 */
export const GAP8_DEFAULTS = {
  cores: 8,
  clockHz: 175e6,
  /** MACs per cycle per core by operand width (SIMD lanes of a 32-bit word). */
  macsPerCycle: { 8: 4, 16: 2, 32: 1 } as Record<number, number>,
  efficiency: 0.4,
  l1Bytes: 64 * 1024,
  l2Bytes: 512 * 1024,
  dmaBytesPerCycle: 8,
  externalBytesPerSecond: 100e6,
  layerOverheadS: 20e-6,
};

export interface Gap8Options extends Partial<typeof GAP8_DEFAULTS> {
  registry?: OpRegistry;
  /**
   * GAP8's cluster has no FPU: float graphs are an error unless this says to cost float tensors
   * as int8 (what deployment after quantisation would run). The report says so when used.
   */
  assumeInt8ForFloat?: boolean;
}

function laneWidth(f: OperandFormat): number {
  return f.bits <= 8 ? 8 : f.bits <= 16 ? 16 : 32;
}

/**
 * GAP8-like latency model: a layer takes max(MACs / (cores * MACs/cycle * efficiency * f),
 * bytes moved / bandwidth) + a fixed overhead. Weights stream from L2 over the cluster DMA when the
 * model's weights fit in L2, else from external RAM; activations move over the DMA. Non-MAC ops run
 * at one op per SIMD lane per cycle. Data-movement ops (Reshape, Flatten ...) are assumed fused (0).
 */
export function gap8Like(opts: Gap8Options = {}): AnalyticTarget {
  const p = { ...GAP8_DEFAULTS, ...opts };
  const registry = opts.registry ?? standardOps();
  const fmt = (id: string): OperandFormat | undefined => {
    const f = tryParseFormatId(id);
    if (!f) return undefined;
    if (f.kind === 'float') return opts.assumeInt8ForFloat ? { id, kind: 'int', bits: 8 } : undefined;
    if (f.kind === 'posit' || f.bits > 32) return undefined;
    return f;
  };
  const effFormat = (f: OperandFormat | undefined) => (f && f.kind === 'float' && opts.assumeInt8ForFloat ? { ...f, kind: 'int' as const, bits: 8 } : f);
  return defineTarget<{ compute: Map<string, NodeCompute>; weightBw: number; weightsFitL2: boolean }>({
    registry,
    id: 'gap8-like',
    description: `GAP8-like MCU latency: ${p.cores} cores at ${p.clockHz / 1e6} MHz, SIMD MACs by width, efficiency ${p.efficiency}`,
    supportedOps: (n) => MAC_OPS.has(n.op) || ELEMENTWISE_OPS.has(n.op) || DATA_MOVEMENT_OPS.has(n.op),
    supportedFormats: (id) => fmt(id) !== undefined,
    units: { latency: 'us', computeTime: 'us', memoryTime: 'us', macs: 'MAC' },
    assumptions: [
      'GreenWaves GAP8 public figures: 8-core cluster, up to 175 MHz, 64 KB L1, 512 KB L2; Xpulp sdotp: 4 x int8 / 2 x int16 MACs per cycle per core',
      `[R] placeholders (spec B5): efficiency ${p.efficiency}, DMA ${p.dmaBytesPerCycle} B/cycle, external RAM ${p.externalBytesPerSecond / 1e6} MB/s, ${p.layerOverheadS * 1e6} us per layer`,
      ...(opts.assumeInt8ForFloat ? ['float tensors costed as int8 (assumeInt8ForFloat): the graph itself is not quantised'] : []),
    ],
    extraChecks: (g) => missingCostRules(g, registry, 'gap8-like'),
    prepare: (g) => {
      let weightBytes = 0;
      for (const v of g.initializers.values()) weightBytes += (v.initializer!.size * (effFormat(operandFormat(v))?.bits ?? 32)) / 8;
      const weightsFitL2 = weightBytes <= p.l2Bytes;
      return { compute: computeByNode(g, registry), weightsFitL2, weightBw: weightsFitL2 ? p.dmaBytesPerCycle * p.clockHz : p.externalBytesPerSecond };
    },
    nodeCost: (n: Node, ctx) => {
      if (DATA_MOVEMENT_OPS.has(n.op)) return { metrics: { latency: 0, computeTime: 0, memoryTime: 0, macs: 0 }, notes: ['data movement assumed fused into neighbours [R]'] };
      const c = ctx.compute.get(n.name)!;
      const act = effFormat(operandFormat(n.inputs[0]))!;
      const w = MAC_OPS.has(n.op) ? effFormat(operandFormat(n.inputs[1])) ?? act : act;
      const width = Math.max(laneWidth(act), laneWidth(w));
      const perCycle = p.macsPerCycle[width]!;
      const rate = p.cores * perCycle * p.efficiency * p.clockHz;
      const computeS = (c.macs + c.flops) / rate;
      const t = nodeTraffic(n);
      const actBits = opts.assumeInt8ForFloat ? scaleFloatBits(n, t.activationBits) : t.activationBits;
      const wBits = opts.assumeInt8ForFloat ? scaleFloatBits(n, t.weightBits, true) : t.weightBits;
      const memoryS = wBits / 8 / ctx.weightBw + actBits / 8 / (p.dmaBytesPerCycle * p.clockHz);
      const latency = Math.max(computeS, memoryS) + p.layerOverheadS;
      return {
        metrics: { latency: latency * 1e6, computeTime: computeS * 1e6, memoryTime: memoryS * 1e6, macs: c.macs },
        notes: [`${perCycle} MAC/cycle/core at ${width}-bit lanes; weights from ${ctx.weightsFitL2 ? 'L2 via DMA' : 'external RAM'}`],
      };
    },
  });
}

/** Traffic of float values re-counted at 8 bits per element (assumeInt8ForFloat). */
function scaleFloatBits(n: Node, bits: number, weights = false): number {
  const vals = [...n.inputs.filter((v) => v && v.isInitializer === weights), ...(weights ? [] : n.outputs)];
  const float = vals.some((v) => v?.type && /float/.test(v.type.dtype) && !v.format);
  return float ? bits / 4 : bits;
}
