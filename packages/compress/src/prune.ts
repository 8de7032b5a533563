import { Tensor, type Graph } from '@tessera/core';
import { selectLayers } from './layers.js';
import { parseOptions, PruneOptionsSchema, type PruneOptionsInput } from './options.js';

export interface PrunedLayer {
  name: string;
  size: number;
  /** Elements that are zero after pruning (already-zero weights count). */
  zeros: number;
  sparsity: number;
}

export interface PruneReport {
  scope: 'global' | 'layer';
  /** The sparsity asked for. */
  target: number;
  /** Zeros over all selected weights after pruning. */
  sparsity: number;
  size: number;
  zeros: number;
  layers: PrunedLayer[];
}

/** Indices of the k smallest |w| (ties broken by lower index, so the choice is deterministic). */
function smallest(mags: Float64Array, k: number): Int32Array {
  const idx = new Int32Array(mags.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  idx.sort((a, b) => mags[a]! - mags[b]! || a - b);
  return idx.subarray(0, k);
}

/** Zeroes flat indices of the concatenated layers (offsets[l] = first flat index of layer l). */
function zeroAt(picks: ArrayLike<number>, offsets: readonly number[], values: Float32Array[]): void {
  for (let j = 0; j < picks.length; j++) {
    const i = picks[j]!;
    let l = 0;
    while (offsets[l + 1]! <= i) l++;
    values[l]![i - offsets[l]!] = 0;
  }
}

/**
 * One-shot unstructured magnitude pruning (no fine-tuning): sets exactly round(sparsity·n) of the
 * selected weights to zero — the smallest by magnitude over all of them ('global') or in each
 * layer ('layer'). Mutates `graph` (new initializer tensors) and returns what it did.
 */
export function pruneMagnitude(graph: Graph, options: PruneOptionsInput): PruneReport {
  const o = parseOptions(PruneOptionsSchema, options, 'prune-magnitude');
  const layers = selectLayers(graph, o.layers, 'prune-magnitude');
  const values = layers.map((l) => Float32Array.from(l.weight.initializer!.toFloat64()));
  const offsets = [0];
  for (const v of values) offsets.push(offsets[offsets.length - 1]! + v.length);
  if (o.scope === 'global') {
    const mags = new Float64Array(offsets[offsets.length - 1]!);
    values.forEach((v, l) => { for (let i = 0; i < v.length; i++) mags[offsets[l]! + i] = Math.abs(v[i]!); });
    zeroAt(smallest(mags, Math.round(o.sparsity * mags.length)), offsets, values);
  } else {
    values.forEach((v) => {
      const mags = Float64Array.from(v, Math.abs);
      for (const i of smallest(mags, Math.round(o.sparsity * v.length))) v[i] = 0;
    });
  }
  const report: PrunedLayer[] = layers.map((l, k) => {
    const v = values[k]!;
    const t = l.weight.initializer!;
    graph.setInitializer(l.weight.name, t.dtype === 'float32' ? new Tensor('float32', t.shape, v) : Tensor.from(v, t.shape, t.dtype));
    let zeros = 0;
    for (const x of v) if (x === 0) zeros++;
    return { name: l.weight.name, size: v.length, zeros, sparsity: v.length ? zeros / v.length : 0 };
  });
  const size = report.reduce((a, r) => a + r.size, 0);
  const zeros = report.reduce((a, r) => a + r.zeros, 0);
  return { scope: o.scope, target: o.sparsity, sparsity: size ? zeros / size : 0, size, zeros, layers: report };
}
