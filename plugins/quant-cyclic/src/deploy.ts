import type { CostReport, Graph } from '@tessera/core';
import { computeCost } from '@tessera/core';
import { exportModel, importModel } from '@tessera/onnx';
import { createExecutor, type BackendName } from '@tessera/runtime';
import { asic45nm, type Asic45nmOptions } from '@tessera/targets';
import type { Examples } from '@tessera/train';
import { evaluateAccuracy } from './ctmq.js';
import { QUANTIZATION_META, type QuantizedLayer } from './quantize-pass.js';

export interface CtmqCost {
  /** Energy per inference (batch 1) on the 45 nm target, pJ, and its split. */
  energyPj: number;
  computeEnergyPj: number;
  memoryEnergyPj: number;
  /** Σ MACs · b_w · b_a (float counted as 32 x 32). */
  bops: number;
  macs: number;
  /** Weight storage in bits (codes at their format's width; scales and float parameters at 32). */
  weightBits: number;
  layers: (QuantizedLayer & { energyPj: number; macs: number })[];
  assumptions: string[];
  estimated: boolean;
}

/**
 * Prices a folded CTMQ model (quantizeGraph with weights 'folded') on the 45 nm energy target:
 * binary x binary layers as XNOR-popcount, binary x int8 as add/subtract, int8 x int8 as int8
 * multiply + 32-bit accumulate. The target checks every op and format first (one-line errors).
 */
export function costOnAsic45nm(model: Graph, opts: Asic45nmOptions = {}): CtmqCost {
  const meta = model.meta.get(QUANTIZATION_META) as { weights: string; layers: QuantizedLayer[] } | undefined;
  if (!meta || meta.weights !== 'folded') throw new Error(`costOnAsic45nm: graph "${model.name}" is not a folded CTMQ model (run quantizeGraph with weights: 'folded')`);
  const target = asic45nm(opts);
  const errors = target.check(model).filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`costOnAsic45nm: ${errors[0]!.message}`);
  const report: CostReport = target.cost(model, { bindings: { N: 1 } });
  const compute = computeCost(model, { bindings: { N: 1 } });
  const byNode = new Map(report.perNode.map((e) => [e.node, e]));
  let weightBits = 0;
  for (const v of model.parameters()) weightBits += v.initializer!.size * (v.format?.bits ?? 32);
  return {
    energyPj: report.total.energy!, computeEnergyPj: report.total.computeEnergy!, memoryEnergyPj: report.total.memoryEnergy!,
    bops: compute.total.bops, macs: compute.total.macs, weightBits,
    layers: meta.layers.map((l) => ({ ...l, energyPj: byNode.get(l.node)?.metrics.energy ?? 0, macs: byNode.get(l.node)?.metrics.macs ?? 0 })),
    assumptions: report.assumptions, estimated: report.estimated,
  };
}

/** The model as ONNX bytes (standard ops only: the quantizers are Sign / Round / Clip / Mul). */
export function exportCtmqModel(model: Graph): Uint8Array {
  return exportModel(model, { producerName: '@tessera/plugin-quant-cyclic' });
}

/** Loads exported bytes back and measures accuracy on another runtime (default onnxruntime-web). */
export async function exportedAccuracy(bytes: Uint8Array, data: Examples, backend: BackendName = 'ort-web'): Promise<number> {
  const g = importModel(bytes, { source: 'ctmq.onnx' });
  const executor = createExecutor(backend);
  try {
    return (await evaluateAccuracy(g, data, executor)).accuracy;
  } finally {
    await executor.dispose();
  }
}
