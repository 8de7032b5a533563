import { BACKWARD, analyzeMemory, bytesPerElement, type Graph } from '@tessera/core';
import type { TrainingGraph } from './training-graph.js';

export interface SavedActivations {
  /** Peak over the step of the bytes of values computed in forward (or fed data) and read by backward, all live at once. */
  peakBytes: number;
  /** The saved values and their sizes. */
  values: { name: string; bytes: number }[];
}

/**
 * Activations saved for backward, from core's liveness analysis (analyzeMemory) of the training
 * graph: a value counts when it is produced by a forward node or is fed data, and a backward node
 * reads it; parameters, optimizer state and step scalars are not activations. The peak is the
 * largest sum of such values live at one node of the step.
 */
export function savedActivations(tg: TrainingGraph): SavedActivations {
  const g: Graph = tg.graph;
  const excluded = new Set<string>([...tg.slots.flatMap((s) => [s.input, ...s.stateInputs, ...(s.eps ? [s.eps] : [])]), ...tg.lrInputs, ...tg.scalarInputs]);
  const saved = new Set<string>();
  for (const v of g.allValues()) {
    if (v.isInitializer || excluded.has(v.name) || v.name === '') continue;
    const p = v.producer;
    if (p && (p.meta.get(BACKWARD) === true || p.meta.get('optimizer') === true)) continue;
    if (!p && !v.isGraphInput) continue;
    if ([...v.uses].some((u) => u.node.meta.get(BACKWARD) === true)) saved.add(v.name);
  }
  const mem = analyzeMemory(g);
  const ranges = mem.ranges.filter((r) => saved.has(r.value));
  let peak = 0;
  const n = g.nodeCount;
  for (let i = -1; i <= n; i++) {
    let s = 0;
    for (const r of ranges) if (r.start <= i && r.end >= i) s += r.bytes;
    peak = Math.max(peak, s);
  }
  return { peakBytes: peak, values: ranges.map((r) => ({ name: r.value, bytes: r.bytes })) };
}

export interface Accounting {
  trainableScalars: number;
  optimizerStateBytes: number;
  savedActivationBytes: number;
}

export function staticAccounting(tg: TrainingGraph): Accounting {
  let scalars = 0;
  let stateBytes = 0;
  for (const s of tg.slots) {
    const n = s.shape.reduce((a, c) => a * c, 1);
    scalars += n;
    const v = tg.graph.value(s.input)!;
    stateBytes += n * bytesPerElement(v.dtype!) * s.stateInputs.length;
  }
  return { trainableScalars: scalars, optimizerStateBytes: stateBytes, savedActivationBytes: savedActivations(tg).peakBytes };
}
