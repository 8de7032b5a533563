import type { Graph, Value } from '../graph.js';
import { valueBytes, type DimBindings } from './dims.js';

export interface LiveRange {
  value: string;
  bytes: number;
  /** Step that defines the value: -1 for graph inputs, else the producing node's index. */
  start: number;
  /** Last step that reads it (graph outputs live to the end: nodes.length). */
  end: number;
}

export interface MemoryReport {
  /** Activation live ranges over the node order (initializers excluded; see weightBytes). */
  ranges: LiveRange[];
  /** Live activation bytes while node i runs (its inputs and outputs both live). */
  timeline: number[];
  peakBytes: number;
  /** Index and name of the node at the peak ('' for a graph without nodes). */
  peakStep: number;
  peakNode: string;
  /** Resident initializer bytes (weights and constants). */
  weightBytes: number;
  /** peakBytes + weightBytes. */
  totalPeakBytes: number;
}

export interface MemoryOptions {
  /** Values for symbolic dims (the batch), required when shapes are symbolic. */
  bindings?: DimBindings;
  /** Count values by their number format's bits rather than their storage dtype (default false). */
  useFormatBits?: boolean;
}

/**
 * Tensor liveness over the graph's node order and the peak activation memory it implies: a value
 * is live from the step that defines it through its last use; graph inputs from the start, graph
 * outputs to the end. No in-place reuse or fragmentation is modelled.
 */
export function analyzeMemory(graph: Graph, opts: MemoryOptions = {}): MemoryReport {
  const nodes = graph.nodes;
  const step = new Map(nodes.map((n, i) => [n, i]));
  const ranges: LiveRange[] = [];
  const track = (v: Value, start: number) => {
    if (v.name === '' || v.isInitializer) return;
    let end = start;
    for (const u of v.uses) {
      const s = step.get(u.node);
      if (s !== undefined) end = Math.max(end, s);
      else if (u.node.graph !== graph) end = nodes.length; // captured by a nested graph: keep conservatively
    }
    if (v.isGraphOutput) end = nodes.length;
    ranges.push({ value: v.name, bytes: valueBytes(v, opts.bindings, opts), start, end });
  };
  for (const v of graph.inputs) if (!v.isInitializer) track(v, -1);
  nodes.forEach((n, i) => n.outputs.forEach((o) => track(o, i)));
  const timeline = nodes.map((_, i) => ranges.reduce((a, r) => (r.start <= i && r.end >= i ? a + r.bytes : a), 0));
  let peakStep = timeline.length ? 0 : -1;
  timeline.forEach((b, i) => {
    if (b > timeline[peakStep]!) peakStep = i;
  });
  const peakBytes = peakStep >= 0 ? timeline[peakStep]! : ranges.reduce((a, r) => a + r.bytes, 0);
  let weightBytes = 0;
  for (const v of graph.initializers.values()) weightBytes += valueBytes(v, {}, opts);
  return { ranges, timeline, peakBytes, peakStep, peakNode: peakStep >= 0 ? nodes[peakStep]!.name : '', weightBytes, totalPeakBytes: peakBytes + weightBytes };
}
