import type { Dim, Graph, Value } from '../graph.js';
import { bytesPerElement } from '../dtype.js';
import type { OpRegistry } from '../registry.js';
import { inferNode } from '../builder.js';
import { standardOps } from '../ops/index.js';

/** Values for symbolic dimensions, e.g. `{ N: 32 }` for a batch of 32. */
export type DimBindings = Readonly<Record<string, number>>;

/** A value's shape with every symbolic dim bound; throws naming the value and the missing symbol. */
export function concreteShape(v: Value, bindings: DimBindings = {}): number[] {
  if (!v.type) throw new Error(`value %${v.name} has no type: run ShapeInferencePass first`);
  if (!v.type.shape) throw new Error(`value %${v.name} has unknown rank: its size cannot be computed`);
  return v.type.shape.map((d) => bindDim(d, bindings, v));
}

function bindDim(d: Dim, bindings: DimBindings, v: Value): number {
  if (typeof d === 'number') return d;
  if (typeof d === 'string' && bindings[d] !== undefined) return bindings[d]!;
  const known = Object.keys(bindings);
  throw new Error(`value %${v.name} has ${d === null ? 'an unknown dimension' : `symbolic dimension '${d}'`}: pass bindings such as { ${d ?? 'N'}: 1 }${known.length ? ` (bound: ${known.join(', ')})` : ''}`);
}

export function elementCount(v: Value, bindings: DimBindings = {}): number {
  return concreteShape(v, bindings).reduce((a, b) => a * b, 1);
}

/** Bytes of a value: its number format's bits when set (packed), else its dtype's storage size. */
export function valueBytes(v: Value, bindings: DimBindings = {}, opts: { useFormatBits?: boolean } = {}): number {
  const n = elementCount(v, bindings);
  if (opts.useFormatBits && v.format) return Math.ceil((n * v.format.bits) / 8);
  return n * bytesPerElement(v.type!.dtype);
}

/**
 * A copy of the graph with symbolic dims replaced by numbers and shapes re-inferred with the
 * registry, so that derived dims (Flatten of [N, C, H, W]) become concrete too and per-node rules
 * that read shapes (cost rules) see sizes. Unbound symbols stay symbolic.
 */
export function bindGraphDims(graph: Graph, bindings: DimBindings, registry: OpRegistry = standardOps()): Graph {
  const g = graph.clone();
  if (Object.keys(bindings).length === 0) return g;
  const visit = (v: Value) => {
    if (v.type?.shape) v.type = { ...v.type, shape: v.type.shape.map((d) => (typeof d === 'string' && bindings[d] !== undefined ? bindings[d]! : d)) };
  };
  for (const v of g.inputs) visit(v);
  for (const n of g.nodes) {
    n.outputs.forEach(visit);
    inferNode(n, registry);
  }
  return g;
}
