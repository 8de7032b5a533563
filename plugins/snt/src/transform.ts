import { inferNode, Rng, standardOps, Tensor, type Attribute, type Graph, type Node, type OpRegistry, type Pass, type PassResult, type Value } from '@tessera/core';
import { weightLayers } from '@tessera/compress';
import { parseOptions, SntTransformOptionsSchema, type SntTransformOptionsInput } from './options.js';

/** Graph meta key listing the expanded layers; the merge reads it (it survives clone()). */
export const SNT_META = 'snt';

/** One expanded layer: which node reads the two factors and what the original weight was called. */
export interface Expansion {
  kind: 'matmul' | 'conv';
  /** Name of the original weight (restored by merge). */
  weight: string;
  /** First factor (MatMul: [in, k]; Conv: [k_mid, C_in, kh, kw]), read by node `first`. */
  a: string;
  /** Second factor (MatMul: [k, out]; Conv: [C_out, k_mid, 1, 1]), read by the original node `node`. */
  b: string;
  first: string;
  node: string;
  inner: number;
}

export interface ExpandResult {
  graph: Graph;
  expansions: Expansion[];
}

/** The expansions recorded on a graph (empty for a merged or never-expanded graph). */
export function expansionsOf(graph: Graph): Expansion[] {
  return (graph.meta.get(SNT_META) as Expansion[] | undefined) ?? [];
}

function std(x: Float64Array): number {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length || 1;
  let s = 0;
  for (const v of x) s += (v - m) ** 2;
  return Math.sqrt(s / (x.length || 1));
}

function normal(rng: Rng, n: number, sd: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = sd * rng.normal();
  return out;
}

function nodeNamed(graph: Graph, name: string): Node {
  const n = graph.nodes.find((m) => m.name === name);
  if (!n) throw new Error(`snt-merge: graph "${graph.name}" records an expansion at node '${name}', which is not in the graph`);
  return n;
}

/**
 * SNT stand-in [R], training form: every selected linear `y = x·W` becomes `y = (x·A)·B` with inner
 * width k = e·max(in, out), and every selected conv k×k C_in→C_out becomes conv k×k C_in→k_mid then
 * conv 1×1 k_mid→C_out (k_mid = e·C_out), with no nonlinearity in between; the bias stays on the
 * second factor. A and B are drawn (seeded) so that entries of A·B have the variance of the layer's
 * current weight. Returns a new graph; the input graph is not touched.
 */
export function sntExpand(input: Graph, options: SntTransformOptionsInput = {}, registry: OpRegistry = standardOps()): ExpandResult {
  const o = parseOptions(SntTransformOptionsSchema, options, 'snt-expand');
  if (expansionsOf(input).length) throw new Error(`snt-expand: graph "${input.name}" is already expanded (${expansionsOf(input).length} layers); merge it first`);
  const graph = input.clone();
  const candidates = weightLayers(graph).filter((l) => (l.node.op === 'MatMul' && l.weight.initializer!.rank === 2) || (l.node.op === 'Conv' && l.node.int('group', 1) === 1));
  let layers = candidates;
  if (o.layers.length) {
    const byName = new Map(candidates.map((l) => [l.weight.name, l]));
    layers = o.layers.map((n) => {
      const l = byName.get(n);
      if (!l) throw new Error(`snt-expand: option 'layers' names '${n}', which is not a MatMul [in, out] or ungrouped Conv weight of graph "${graph.name}" (expandable: ${[...byName.keys()].join(', ') || 'none'})`);
      return l;
    });
  }
  const expansions: Expansion[] = [];
  const rng = new Rng(o.seed);
  for (const { weight, node } of layers) {
    const w = weight.initializer!;
    const sigma = std(w.toFloat64()) || 1e-3;
    const r = rng.fork(expansions.length + 1);
    const x = node.inputs[0]!;
    let a: Tensor;
    let b: Tensor;
    let inner: number;
    const firstAttrs: Record<string, Attribute> = {};
    if (node.op === 'MatMul') {
      const [fin, fout] = w.shape as [number, number];
      inner = Math.max(1, Math.round(o.expansion * Math.max(fin, fout)));
      // Var(A·B) = k·σa²·σb² = σ² with σa = 1/√in (keeps x·A at the scale of x).
      a = new Tensor('float32', [fin, inner], normal(r, fin * inner, 1 / Math.sqrt(fin)));
      b = new Tensor('float32', [inner, fout], normal(r, inner * fout, sigma * Math.sqrt(fin / inner)));
    } else {
      const [cout, cin, ...kernel] = w.shape as number[];
      const fanIn = cin! * kernel.reduce((p, q) => p * q, 1);
      inner = Math.max(1, Math.round(o.expansion * cout!));
      a = new Tensor('float32', [inner, cin!, ...kernel], normal(r, inner * fanIn, 1 / Math.sqrt(fanIn)));
      b = new Tensor('float32', [cout!, inner, ...kernel.map(() => 1)], normal(r, cout! * inner, sigma * Math.sqrt(fanIn / inner)));
      for (const [k, v] of node.attrs) firstAttrs[k] = v;
      // The second conv is a plain 1×1: no stride, padding or dilation of its own.
      for (const k of ['strides', 'pads', 'dilations', 'kernel_shape', 'auto_pad']) node.attrs.delete(k);
    }
    const av = graph.addInitializer(graph.uniqueName(`${weight.name}.snt_a`), a);
    const bv = graph.addInitializer(graph.uniqueName(`${weight.name}.snt_b`), b);
    const first = graph.addNode({ op: node.op, name: `${node.name}.snt_a`, inputs: [x, av], attrs: firstAttrs }, node);
    inferNode(first, registry);
    node.setInput(0, first.output());
    node.setInput(1, bv);
    inferNode(node, registry);
    graph.removeInitializer(weight.name);
    expansions.push({ kind: node.op === 'MatMul' ? 'matmul' : 'conv', weight: weight.name, a: av.name, b: bv.name, first: first.name, node: node.name, inner });
  }
  graph.meta.set(SNT_META, expansions);
  return { graph, expansions };
}

/** A·B for MatMul factors ([in,k]·[k,out]) or B∘A for conv factors (W[o,c,...] = Σ_m B[o,m]·A[m,c,...]), in float64. */
export function composeFactors(kind: Expansion['kind'], a: Tensor, b: Tensor): Tensor {
  const A = a.toFloat64();
  const B = b.toFloat64();
  if (kind === 'matmul') {
    const [fin, k] = a.shape as [number, number];
    const fout = b.shape[1]!;
    const W = new Float64Array(fin * fout);
    for (let i = 0; i < fin; i++) {
      for (let m = 0; m < k; m++) {
        const x = A[i * k + m]!;
        if (x === 0) continue;
        for (let j = 0; j < fout; j++) W[i * fout + j]! += x * B[m * fout + j]!;
      }
    }
    return Tensor.from(W, [fin, fout], 'float32');
  }
  const [k, cin, ...kernel] = a.shape as number[];
  const cout = b.shape[0]!;
  const inner = cin! * kernel.reduce((p, q) => p * q, 1);
  const W = new Float64Array(cout * inner);
  for (let o = 0; o < cout; o++) {
    for (let m = 0; m < k!; m++) {
      const s = B[o * k! + m]!;
      if (s === 0) continue;
      for (let t = 0; t < inner; t++) W[o * inner + t]! += s * A[m * inner + t]!;
    }
  }
  return Tensor.from(W, [cout, cin!, ...kernel], 'float32');
}

/**
 * Exact inverse of sntExpand, inference form: composes each pair of factors back into one weight
 * with the original name, shape, node and attributes, so the merged graph has the original
 * architecture and parameter count and computes the expanded graph's function (up to float32
 * rounding of the product). Returns a new graph.
 */
export function sntMerge(input: Graph, registry: OpRegistry = standardOps()): Graph {
  const expansions = expansionsOf(input);
  if (!expansions.length) throw new Error(`snt-merge: graph "${input.name}" has no SNT expansions to merge (graph.meta '${SNT_META}' is empty); run snt-expand first`);
  const graph = input.clone();
  for (const e of expansions) {
    const first = nodeNamed(graph, e.first);
    const node = nodeNamed(graph, e.node);
    const av = graph.initializers.get(e.a);
    const bv = graph.initializers.get(e.b);
    if (!av || !bv) throw new Error(`snt-merge: layer '${e.weight}': factor '${!av ? e.a : e.b}' is not an initializer of graph "${graph.name}"`);
    if (node.inputs[0] !== first.output() || node.inputs[1] !== bv || first.inputs[1] !== av || first.output().uses.size !== 1) {
      throw new Error(`snt-merge: layer '${e.weight}': nodes '${e.first}' -> '${e.node}' are no longer a plain factor pair; the merge would not be exact`);
    }
    if (graph.hasValue(e.weight)) throw new Error(`snt-merge: layer '${e.weight}': graph "${graph.name}" already has a value named '${e.weight}'`);
    const w: Value = graph.addInitializer(e.weight, composeFactors(e.kind, av.initializer!, bv.initializer!));
    node.setInput(0, first.inputs[0]!);
    node.setInput(1, w);
    if (e.kind === 'conv') {
      node.attrs.clear();
      for (const [k, v] of first.attrs) node.attrs.set(k, v);
    }
    graph.removeNode(first, { safe: true });
    graph.removeInitializer(e.a);
    graph.removeInitializer(e.b);
    inferNode(node, registry);
  }
  graph.meta.delete(SNT_META);
  return graph;
}

/** Spec API: the training-time graph and the merge that gives back the inference-time one. */
export function sntTransform(graph: Graph, options: SntTransformOptionsInput = {}, registry?: OpRegistry): { graph: Graph; expansions: Expansion[]; merge(g: Graph): Graph } {
  const r = sntExpand(graph, options, registry);
  return { ...r, merge: (g: Graph) => sntMerge(g, registry) };
}

/** Core pass form of sntExpand (returns a new graph). */
export class SntExpandPass implements Pass {
  readonly name = 'SntExpandPass';
  readonly inPlace = false;
  readonly options: SntTransformOptionsInput;

  constructor(options: SntTransformOptionsInput = {}) {
    this.options = parseOptions(SntTransformOptionsSchema, options, 'snt-expand');
  }

  run(graph: Graph, ctx: { registry: OpRegistry }): PassResult {
    const r = sntExpand(graph, this.options, ctx.registry);
    return { graph: r.graph, changed: r.expansions.length > 0 };
  }

  ensures(graph: Graph): string | void {
    if (expansionsOf(graph).length === 0) return `graph "${graph.name}" has no MatMul [in, out] or ungrouped Conv weight to expand`;
  }
}

/** Core pass form of sntMerge (returns a new graph). */
export class SntMergePass implements Pass {
  readonly name = 'SntMergePass';
  readonly inPlace = false;

  requires(graph: Graph): string | void {
    if (expansionsOf(graph).length === 0) return `graph "${graph.name}" has no SNT expansions to merge`;
  }

  run(graph: Graph, ctx: { registry: OpRegistry }): PassResult {
    return { graph: sntMerge(graph, ctx.registry), changed: true };
  }

  ensures(graph: Graph): string | void {
    if (expansionsOf(graph).length) return 'expansions remain after the merge';
  }
}
