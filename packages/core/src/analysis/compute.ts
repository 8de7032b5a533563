import type { Graph, Node, Value } from '../graph.js';
import type { OpRegistry } from '../registry.js';
import { standardOps } from '../ops/index.js';
import { bindGraphDims, type DimBindings } from './dims.js';

export interface NodeCompute {
  node: string;
  op: string;
  macs: number;
  flops: number;
  elementsRead: number;
  elementsWritten: number;
  /** Bit operations: MACs x weight bits x activation bits (FP32 counted as 32 x 32). */
  bops: number;
}

export interface ComputeReport {
  nodes: NodeCompute[];
  total: { macs: number; flops: number; elementsRead: number; elementsWritten: number; bops: number };
  /** Ops without a cost rule in the registry: their nodes count zero and are listed here, not hidden. */
  uncosted: string[];
}

export interface ComputeOptions {
  registry?: OpRegistry;
  /** Values for symbolic dims (e.g. the batch), applied before the cost rules read shapes. */
  bindings?: DimBindings;
}

/** Bits of a value's elements: its number format when set, else its dtype's width. */
export function valueBits(v: Value | null | undefined): number {
  if (!v) return 32;
  if (v.format) return v.format.bits;
  switch (v.type?.dtype) {
    case 'float64': case 'int64': case 'uint64': return 64;
    case 'float16': case 'bfloat16': case 'int16': case 'uint16': return 16;
    case 'int8': case 'uint8': return 8;
    case 'bool': return 1;
    default: return 32;
  }
}

/**
 * MACs, FLOPs, element traffic and BOPs per node and in total, from the registry's cost rules.
 * BOPs take the weight as input 1 and the activation as input 0 of a node with MACs.
 */
export function computeCost(graph: Graph, opts: ComputeOptions = {}): ComputeReport {
  const registry = opts.registry ?? standardOps();
  const g = opts.bindings ? bindGraphDims(graph, opts.bindings, registry) : graph;
  const nodes: NodeCompute[] = [];
  const uncosted = new Set<string>();
  const total = { macs: 0, flops: 0, elementsRead: 0, elementsWritten: 0, bops: 0 };
  for (const n of g.nodes) {
    const c = nodeCompute(n, registry);
    if (!c) {
      uncosted.add(n.opId);
      nodes.push({ node: n.name, op: n.opId, macs: 0, flops: 0, elementsRead: 0, elementsWritten: 0, bops: 0 });
      continue;
    }
    nodes.push(c);
    total.macs += c.macs;
    total.flops += c.flops;
    total.elementsRead += c.elementsRead;
    total.elementsWritten += c.elementsWritten;
    total.bops += c.bops;
  }
  return { nodes, total, uncosted: [...uncosted].sort() };
}

/** The cost of one node (undefined when its op has no cost rule); throws naming the node when a rule fails. */
export function nodeCompute(n: Node, registry: OpRegistry): NodeCompute | undefined {
  const schema = registry.require(n);
  if (!schema.cost) return undefined;
  for (const v of [...n.inputs, ...n.outputs]) {
    if (!v || v.name === '') continue;
    const shape = v.type?.shape;
    if (!shape || shape.some((d) => typeof d !== 'number')) {
      const sym = shape?.find((d) => typeof d === 'string');
      throw new Error(`node "${n.name}" (${n.opId}): %${v.name} has shape ${shape ? `[${shape.map((d) => d ?? '?').join(', ')}]` : 'of unknown rank'}; cost needs concrete shapes: pass bindings such as { ${typeof sym === 'string' ? sym : 'N'}: 1 } or run ShapeInferencePass`);
    }
  }
  let c;
  try {
    c = schema.cost(n);
  } catch (e) {
    throw new Error(`node "${n.name}" (${n.opId}): cost rule failed: ${(e as Error).message}`);
  }
  const macs = c.macs ?? 0;
  for (const [k, x] of Object.entries(c)) {
    if (typeof x === 'number' && !Number.isFinite(x)) {
      throw new Error(`node "${n.name}" (${n.opId}): cost rule gives ${k} = ${x}; bind symbolic dims (bindings: { N: 1 })`);
    }
  }
  return {
    node: n.name,
    op: n.opId,
    macs,
    flops: c.flops ?? 0,
    elementsRead: c.elementsRead ?? 0,
    elementsWritten: c.elementsWritten ?? 0,
    bops: macs * valueBits(n.inputs[1]) * valueBits(n.inputs[0]),
  };
}
