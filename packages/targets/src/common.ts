import type { Graph, Node, OpRegistry, Value } from '@tessera/core';
import { computeCost, elementCount, isComputeValue, nodeDiagnostic, type Diagnostic, type NodeCompute } from '@tessera/core';
import { storageBits } from './formats.js';

/** Ops whose MACs multiply an activation (input 0) by a weight (input 1). */
export const MAC_OPS: ReadonlySet<string> = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm']);

/** Ops that only move or relabel data: no arithmetic, memory traffic only. */
export const DATA_MOVEMENT_OPS: ReadonlySet<string> = new Set([
  'Reshape', 'Flatten', 'Identity', 'Squeeze', 'Unsqueeze', 'Transpose', 'Concat', 'Split', 'Slice', 'Gather',
  'Shape', 'Constant', 'Pad', 'Expand', 'Cast',
]);

/** Elementwise and pooling ops common to DNN accelerators. */
export const ELEMENTWISE_OPS: ReadonlySet<string> = new Set([
  'Add', 'Sub', 'Mul', 'Div', 'Relu', 'LeakyRelu', 'Clip', 'Max', 'Min', 'MaxPool', 'AveragePool', 'GlobalAveragePool',
  'GlobalMaxPool', 'BatchNormalization', 'Sigmoid', 'Tanh', 'Softmax', 'Exp', 'Sqrt', 'Neg', 'Abs', 'ReduceMean',
  'ReduceSum', 'ReduceMax', 'Erf', 'Gelu', 'LayerNormalization', 'QuantizeLinear', 'DequantizeLinear', 'Round',
  'Sign', 'Floor', 'Pow',
  // Upsampling in segmentation decoders: priced per output element like other elementwise work.
  'Resize',
]);

/** The default op set of the analytic targets: MAC layers, elementwise/pooling ops, data movement. */
export const COMMON_DNN_OPS: ReadonlySet<string> = new Set([...MAC_OPS, ...ELEMENTWISE_OPS, ...DATA_MOVEMENT_OPS]);

/** Per-node MACs and FLOPs from the registry's cost rules, by node name. */
export function computeByNode(graph: Graph, registry: OpRegistry): Map<string, NodeCompute> {
  const r = computeCost(graph, { registry });
  return new Map(r.nodes.map((c) => [c.node, c]));
}

/** Error diagnostics for nodes with arithmetic whose op has no cost rule in the registry. */
export function missingCostRules(graph: Graph, registry: OpRegistry, targetId: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const n of graph.nodes) {
    if (DATA_MOVEMENT_OPS.has(n.op)) continue;
    const s = registry.get(n.op, n.domain);
    if (s && !s.cost) out.push(nodeDiagnostic(n, 'no-cost-rule', `op ${n.opId} has no cost rule in the op registry, so target ${targetId} cannot cost it`));
  }
  return out;
}

/** Bits of the node's non-initializer inputs plus its outputs (activation traffic) and its initializer inputs (weights). */
export function nodeTraffic(n: Node): { activationBits: number; weightBits: number } {
  let activationBits = 0;
  let weightBits = 0;
  const seen = new Set<Value>();
  for (const v of n.inputs) {
    if (!v || seen.has(v) || !v.type || !isComputeValue(v)) continue;
    seen.add(v);
    const bits = elementCount(v) * storageBits(v);
    if (v.isInitializer) weightBits += bits;
    else activationBits += bits;
  }
  for (const o of n.outputs) if (o.type && o.name !== '' && isComputeValue(o)) activationBits += elementCount(o) * storageBits(o);
  return { activationBits, weightBits };
}
