import type { Graph, Node, NumberFormatRef } from '@tessera/core';
import { fixed, posit } from '@tessera/numerics';
import type { LayerFormats } from './formats.js';

/** Ops whose weight (input 1, an initializer) gets a per-weight Posit4 / FixP4 format. */
export const WEIGHT_OPS = new Set(['MatMul', 'Gemm', 'Conv']);

/** Value meta key holding a weight's LayerAssignment; node meta key on its consumer. */
export const POSIT_MIXED = 'posit-mixed';

export interface WeightLayer {
  /** The consuming node (MatMul / Gemm / Conv). */
  node: string;
  op: string;
  param: string;
  shape: number[];
  /** Axis of the weight that indexes output channels. */
  outAxis: number;
}

export interface LayerAssignment extends WeightLayer {
  /** FixP format id, e.g. fixed<4,3>. */
  fixed: string;
  /** Posit format id, e.g. posit<4,1>, and its power-of-two scale. */
  posit: string;
  positShift: number;
  /** 1 where the weight is Posit4, 0 where FixP4 (row-major over `shape`). */
  mask: Uint8Array;
  positFraction: number;
  /** How the mask was chosen: 'score', 'random', 'all-fixed', 'all-posit'. */
  method: string;
}

export interface FormatMap {
  layers: LayerAssignment[];
}

/** The MatMul / Gemm / Conv nodes of a graph whose weight input is a float initializer. */
export function weightLayers(graph: Graph): WeightLayer[] {
  const out: WeightLayer[] = [];
  for (const n of graph.nodes) {
    if (!WEIGHT_OPS.has(n.op) || n.domain !== '') continue;
    const w = n.inputs[1];
    if (!w?.initializer || !/^float/.test(w.initializer.dtype) || w.initializer.size < 2 || w.meta.get('constant') === true) continue;
    const shape = [...w.initializer.shape];
    out.push({ node: n.name, op: n.op, param: w.name, shape, outAxis: outAxisOf(n, shape) });
  }
  return out;
}

function outAxisOf(n: Node, shape: number[]): number {
  if (n.op === 'Conv') return 0;
  if (n.op === 'Gemm') return n.int('transB', 0) === 1 ? 0 : 1;
  return shape.length - 1;
}

export function layerFormatsOf(a: LayerAssignment): LayerFormats {
  const f = /^fixed<(\d+),(-?\d+)>$/.exec(a.fixed);
  const p = /^posit<(\d+),(\d+)>$/.exec(a.posit);
  if (!f || !p) throw new Error(`layer ${a.node}: formats '${a.fixed}' / '${a.posit}' are not fixed<n,f> / posit<n,es>`);
  return { fix: fixed(Number(f[1]), Number(f[2])), posit: posit(Number(p[1]), Number(p[2])), positShift: a.positShift };
}

/**
 * Stores the map on the graph: each weight value gets `format` (its FixP format, the base
 * format of the layer; a fully Posit layer gets its posit format) and `meta['posit-mixed']`
 * (the whole assignment, mask included); its consuming node gets the same meta.
 */
export function applyFormatMap(graph: Graph, map: FormatMap): Graph {
  for (const a of map.layers) {
    const v = graph.value(a.param);
    const n = graph.nodes.find((x) => x.name === a.node);
    if (!v?.initializer || !n) throw new Error(`applyFormatMap: graph "${graph.name}" has no weight '${a.param}' consumed by node '${a.node}'`);
    if (v.initializer.size !== a.mask.length) throw new Error(`applyFormatMap: mask of '${a.param}' has ${a.mask.length} entries, the weight ${v.initializer.size}`);
    const format: NumberFormatRef = a.positFraction === 1 ? { id: a.posit, bits: 4 } : { id: a.fixed, bits: 4 };
    v.format = format;
    v.meta.set(POSIT_MIXED, assignmentToMeta(a));
    n.meta.set(POSIT_MIXED, assignmentToMeta(a));
  }
  return graph;
}

/** The map stored by applyFormatMap, in node order. */
export function readFormatMap(graph: Graph): FormatMap {
  const layers: LayerAssignment[] = [];
  for (const n of graph.nodes) {
    const m = n.meta.get(POSIT_MIXED);
    if (m) layers.push(assignmentFromMeta(m, n.name));
  }
  return { layers };
}

/** JSON form of an assignment (mask as base64), as stored in meta: it survives the pipeline's step cache. */
export type AssignmentMeta = Omit<LayerAssignment, 'mask'> & { mask: string };

export function assignmentToMeta(a: LayerAssignment): AssignmentMeta {
  return { ...a, shape: [...a.shape], mask: Buffer.from(a.mask.buffer, a.mask.byteOffset, a.mask.byteLength).toString('base64') };
}

export function assignmentFromMeta(m: unknown, where: string): LayerAssignment {
  const o = m as Partial<AssignmentMeta>;
  if (!o || typeof o.mask !== 'string' || !Array.isArray(o.shape) || typeof o.fixed !== 'string' || typeof o.posit !== 'string') {
    throw new Error(`${where}: meta '${POSIT_MIXED}' is not a posit-mixed assignment (fields node, param, shape, fixed, posit, positShift, mask)`);
  }
  return { ...(o as AssignmentMeta), mask: new Uint8Array(Buffer.from(o.mask, 'base64')) };
}

export interface FractionRow {
  layer: string;
  param: string;
  weights: number;
  positWeights: number;
  positFraction: number;
  fixed: string;
  posit: string;
  positShift: number;
}

/** Fraction of Posit4 weights per layer, and over the whole model (last row, layer '(all)'). */
export function positFractionReport(map: FormatMap): FractionRow[] {
  const rows: FractionRow[] = map.layers.map((a) => {
    let k = 0;
    for (const m of a.mask) k += m;
    return { layer: a.node, param: a.param, weights: a.mask.length, positWeights: k, positFraction: k / a.mask.length, fixed: a.fixed, posit: a.posit, positShift: a.positShift };
  });
  const w = rows.reduce((s, r) => s + r.weights, 0);
  const p = rows.reduce((s, r) => s + r.positWeights, 0);
  rows.push({ layer: '(all)', param: '', weights: w, positWeights: p, positFraction: w ? p / w : 0, fixed: '', posit: '', positShift: 0 });
  return rows;
}

/**
 * Checks that a model called mixed really mixes: both formats occur, and every layer holds the
 * fraction its assignment says. Throws one line naming the first problem.
 */
export function verifyMixed(map: FormatMap): void {
  if (map.layers.length === 0) throw new Error('verifyMixed: the format map has no layers (run the assignment first)');
  let posits = 0;
  let total = 0;
  for (const a of map.layers) {
    let k = 0;
    for (const m of a.mask) k += m;
    if (Math.abs(k / a.mask.length - a.positFraction) > 1e-12) {
      throw new Error(`verifyMixed: layer ${a.node} says ${(100 * a.positFraction).toFixed(2)}% Posit4 but its mask has ${(100 * k / a.mask.length).toFixed(2)}%`);
    }
    posits += k;
    total += a.mask.length;
  }
  if (posits === 0) throw new Error(`verifyMixed: every one of the ${total} weights is FixP4; a mixed model needs some Posit4 weights`);
  if (posits === total) throw new Error(`verifyMixed: every one of the ${total} weights is Posit4; a mixed model needs some FixP4 weights`);
}
