import { isFloatDType, type Graph, type Node, type Value } from '@tessera/core';

/** A weight tensor of a linear or convolution layer: the one compression passes prune and quantize. */
export interface WeightLayer {
  /** The weight initializer. */
  weight: Value;
  /** The node that reads it as its weight (Conv, ConvTranspose, MatMul or Gemm). */
  node: Node;
  /** The axis of the weight that indexes output channels (per-channel scales run along it). */
  channelAxis: number;
}

const WEIGHT_INPUT: Readonly<Record<string, number>> = { Conv: 1, ConvTranspose: 1, MatMul: 1, Gemm: 1 };

function channelAxisOf(w: Value, node: Node): number {
  switch (node.op) {
    case 'Conv': return 0;
    case 'ConvTranspose': return 1;
    case 'Gemm': return node.int('transB', 0) ? 0 : 1;
    default: return w.initializer!.rank - 1; // MatMul x·W with W [in, out]
  }
}

/**
 * The weights of the graph's linear and convolution layers: float initializers of rank >= 2 read
 * as the weight input of a standard-domain Conv / ConvTranspose / MatMul / Gemm and by nothing else.
 * Biases, BatchNorm parameters and shared tensors are not layer weights.
 */
export function weightLayers(graph: Graph): WeightLayer[] {
  const out: WeightLayer[] = [];
  for (const w of graph.initializers.values()) {
    const t = w.initializer!;
    if (!isFloatDType(t.dtype) || t.rank < 2) continue;
    const consumers = w.consumers();
    if (consumers.length !== 1) continue;
    const node = consumers[0]!;
    const at = WEIGHT_INPUT[node.op];
    if (node.domain !== '' || at === undefined || node.inputs[at] !== w) continue;
    out.push({ weight: w, node, channelAxis: channelAxisOf(w, node) });
  }
  return out;
}

/** The layers named in `names` (weight names), or all of them; an unknown name is one clear error. */
export function selectLayers(graph: Graph, names: readonly string[] | undefined, where: string): WeightLayer[] {
  const all = weightLayers(graph);
  if (!names || names.length === 0) return all;
  const byName = new Map(all.map((l) => [l.weight.name, l]));
  return names.map((n) => {
    const l = byName.get(n);
    if (!l) throw new Error(`${where}: option 'layers' names '${n}', which is not a Conv/MatMul/Gemm weight of graph "${graph.name}" (weights: ${[...byName.keys()].join(', ') || 'none'})`);
    return l;
  });
}
