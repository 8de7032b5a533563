import type { Graph } from '../graph.js';

export interface ParameterEntry {
  name: string;
  count: number;
  trainable: boolean;
}

export interface ParameterCount {
  total: number;
  /** Parameters not marked frozen (`value.meta.get('frozen') === true`). */
  trainable: number;
  frozen: number;
  parameters: ParameterEntry[];
}

/** Counts the graph's parameters (floating-point initializers, see Graph.parameters) and which are trainable. */
export function countParameters(graph: Graph): ParameterCount {
  const parameters = graph.parameters().map((v) => ({ name: v.name, count: v.initializer!.size, trainable: v.meta.get('frozen') !== true }));
  const total = parameters.reduce((a, p) => a + p.count, 0);
  const trainable = parameters.filter((p) => p.trainable).reduce((a, p) => a + p.count, 0);
  return { total, trainable, frozen: total - trainable, parameters };
}
