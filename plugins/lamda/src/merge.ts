/**
 * Folds adapters into the pretrained weights: W ← W + s · A S B (LaMDA) or W + s · A B (LoRA),
 * in float64, and removes the branch, leaving a plain graph of the original architecture.
 */
import { DeadCodeEliminationPass, Tensor, type Graph } from '@tessera/core';
import { findAdapters, type AdapterLayer } from './adapters.js';

function mat(graph: Graph, name: string): { data: Float64Array; rows: number; cols: number } {
  const v = graph.initializers.get(name);
  if (!v) throw new Error(`adapter-merge: '${name}' is not an initializer of graph "${graph.name}"`);
  const t = v.initializer!;
  return { data: t.toFloat64() as Float64Array, rows: t.shape[0]!, cols: t.shape[1]! };
}

function matmul(a: { data: Float64Array; rows: number; cols: number }, b: { data: Float64Array; rows: number; cols: number }) {
  const out = new Float64Array(a.rows * b.cols);
  for (let i = 0; i < a.rows; i++) {
    for (let k = 0; k < a.cols; k++) {
      const x = a.data[i * a.cols + k]!;
      if (x === 0) continue;
      for (let j = 0; j < b.cols; j++) out[i * b.cols + j] += x * b.data[k * b.cols + j]!;
    }
  }
  return { data: out, rows: a.rows, cols: b.cols };
}

/** ΔW = s · A (S) B of one adapter, float64 row-major [dIn, dOut]. */
export function adapterDelta(graph: Graph, l: AdapterLayer): Float64Array {
  let left = mat(graph, l.A);
  if (l.S) left = matmul(left, mat(graph, l.S));
  const d = matmul(left, mat(graph, l.B)).data;
  for (let i = 0; i < d.length; i++) d[i] = d[i]! * l.scale;
  return d;
}

/** Merges every adapter of the graph (or the given ones) in place; returns the merged layers. */
export function mergeAdapters(graph: Graph, layers: readonly AdapterLayer[] = findAdapters(graph)): AdapterLayer[] {
  for (const l of layers) {
    const w = mat(graph, l.weight);
    const d = adapterDelta(graph, l);
    const merged = new Float32Array(w.data.length);
    for (let i = 0; i < merged.length; i++) merged[i] = w.data[i]! + d[i]!;
    graph.setInitializer(l.weight, new Tensor('float32', [l.dIn, l.dOut], merged));
    const add = graph.nodes.find((n) => n.name === `${l.name}.${l.kind}.add`);
    if (!add) throw new Error(`adapter-merge: graph "${graph.name}" has no node '${l.name}.${l.kind}.add' for the adapter on '${l.name}'`);
    add.output(0).replaceAllUsesWith(add.inputs[0]!);
  }
  new DeadCodeEliminationPass().run(graph);
  for (const l of layers) for (const p of [l.A, l.S, l.B]) if (p && graph.initializers.has(p)) throw new Error(`adapter-merge: '${p}' is still used after merging`);
  return [...layers];
}
