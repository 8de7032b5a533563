import { Rng, type Graph } from '@tessera/core';
import type { Executor } from '@tessera/runtime';
import { Trainer, sgd, type Examples } from '@tessera/train';
import { chooseLayerFormats, quantizeFix, quantizePosit, type LayerFormats } from './formats.js';
import { applyFormatMap, weightLayers, type FormatMap, type LayerAssignment, type WeightLayer } from './format-map.js';
import { AssignOptionsSchema, parseOptions, type AssignOptions, type AssignOptionsInput } from './options.js';

/** Per-weight importance by parameter name (same length as the weight). */
export type Importance = Map<string, Float64Array>;

export interface ImportanceRequest {
  kind: AssignOptions['importance'];
  batches: number;
  batchSize: number;
  hessianProbes: number;
  seed: number;
  executor?: Executor;
}

export interface ImportanceResult {
  importance: Importance;
  /** Hutchinson trace estimate of each weight's Hessian block (importance 'hessian' only). */
  hessianTrace?: Record<string, number>;
}

/**
 * Importance of every weight of the MatMul / Gemm / Conv layers, from the training engine:
 * gradients of the loss on `batches` batches of `data` (trainer.gradientAt), or the Hutchinson
 * diagonal z ⊙ Hz of the Hessian with the engine's Hessian-vector products (trainer.hessian).
 *   weight-gradient: mean_b |w·g_b|   fisher: mean_b g_b²   hessian: |mean z ⊙ Hz|   uniform: 1
 */
export async function weightImportance(graph: Graph, data: Examples, req: ImportanceRequest): Promise<ImportanceResult> {
  const layers = weightLayers(graph);
  const importance: Importance = new Map();
  if (req.kind === 'uniform') {
    for (const l of layers) importance.set(l.param, new Float64Array(size(l.shape)).fill(1));
    return { importance };
  }
  const trainer = await Trainer.create({
    forward: graph, optimizer: sgd({ lr: 0 }), batchSize: req.batchSize, params: layers.map((l) => l.param), seed: req.seed, executor: req.executor,
  });
  const slots = trainer.trainingGraph.slots.map((s) => ({ param: s.param, n: size(s.shape) }));
  const total = slots.reduce((a, s) => a + s.n, 0);
  const acc = new Float64Array(total);
  const theta = trainer.flatTrainable();
  const rng = new Rng(req.seed).fork(7);
  let used = 0;
  for (const batch of trainer.batches(data, 0)) {
    if (used >= req.batches) break;
    used++;
    if (req.kind === 'hessian') {
      const h = trainer.hessian(batch);
      for (let p = 0; p < req.hessianProbes; p++) {
        const z = new Float64Array(total);
        for (let i = 0; i < total; i++) z[i] = rng.uniform() < 0.5 ? -1 : 1;
        const hz = await h.hvp(z);
        for (let i = 0; i < total; i++) acc[i]! += (z[i]! * hz[i]!) / req.hessianProbes;
      }
    } else {
      const g = await trainer.gradientAt(batch);
      for (let i = 0; i < total; i++) acc[i]! += req.kind === 'fisher' ? g[i]! * g[i]! : Math.abs(theta[i]! * g[i]!);
    }
  }
  if (used === 0) throw new Error(`weightImportance: the data has fewer examples (${data.x.shape[0]}) than one batch of ${req.batchSize}`);
  let off = 0;
  const hessianTrace: Record<string, number> = {};
  for (const s of slots) {
    const v = new Float64Array(s.n);
    let tr = 0;
    for (let i = 0; i < s.n; i++) {
      const a = acc[off + i]! / used;
      tr += a;
      v[i] = Math.abs(a);
    }
    importance.set(s.param, v);
    hessianTrace[s.param] = tr;
    off += s.n;
  }
  return req.kind === 'hessian' ? { importance, hessianTrace } : { importance };
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, d) => a * d, 1);
}

/** s_i = I_i · (ε_fix² − ε_pos²) or I_i · (|ε_fix| − |ε_pos|): large where Posit4 helps an important weight. */
export function weightScores(w: Float32Array, formats: LayerFormats, importance: Float64Array | undefined, metric: AssignOptions['errorMetric']): Float64Array {
  const qf = quantizeFix(w, formats.fix);
  const qp = quantizePosit(w, formats.posit, formats.positShift);
  const s = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const ef = Math.abs(w[i]! - qf[i]!);
    const ep = Math.abs(w[i]! - qp[i]!);
    const d = metric === 'squared' ? ef * ef - ep * ep : ef - ep;
    s[i] = (importance ? importance[i]! : 1) * d;
  }
  return s;
}

/** Element indices of each group: the whole layer, or each output channel. */
export function groupsOf(layer: WeightLayer, granularity: AssignOptions['granularity']): number[][] {
  const n = size(layer.shape);
  if (granularity === 'layer') return [Array.from({ length: n }, (_, i) => i)];
  const outDim = layer.shape[layer.outAxis]!;
  const inner = size(layer.shape.slice(layer.outAxis + 1));
  const groups: number[][] = Array.from({ length: outDim }, () => []);
  for (let i = 0; i < n; i++) groups[Math.floor(i / inner) % outDim]!.push(i);
  return groups;
}

/** Posit4 for the round(ρ·|group|) highest scores of each group (ties: lower index first). */
export function topFractionMask(scores: Float64Array, groups: number[][], fraction: number): Uint8Array {
  const mask = new Uint8Array(scores.length);
  for (const g of groups) {
    const k = Math.round(fraction * g.length);
    const order = [...g].sort((a, b) => scores[b]! - scores[a]! || a - b);
    for (let j = 0; j < k; j++) mask[order[j]!] = 1;
  }
  return mask;
}

/** The same number of Posit4 weights per group as topFractionMask, drawn uniformly (the control arm). */
export function randomFractionMask(n: number, groups: number[][], fraction: number, rng: Rng): Uint8Array {
  const mask = new Uint8Array(n);
  for (const g of groups) {
    const k = Math.round(fraction * g.length);
    const order = rng.shuffle([...g]);
    for (let j = 0; j < k; j++) mask[order[j]!] = 1;
  }
  return mask;
}

/**
 * The assignment [R]: per layer, power-of-two scales for FixP4 and Posit4 (each minimising its
 * own error), scores s = I·Δerror, and Posit4 for the top-ρ of each layer or output channel
 * (or a random ρ with method 'random'). Stores the map on `graph` (see applyFormatMap) and returns it.
 */
export function assignFormats(graph: Graph, importance: Importance | undefined, input: AssignOptionsInput = {}): FormatMap {
  const o = parseOptions(AssignOptionsSchema, input, 'posit-mixed assignment');
  const layers = weightLayers(graph);
  if (layers.length === 0) throw new Error(`posit-mixed assignment: graph "${graph.name}" has no MatMul / Gemm / Conv with an initializer weight`);
  const rng = new Rng(o.seed).fork(0x9051);
  const out: LayerAssignment[] = layers.map((l, li) => {
    const w = Float32Array.from(graph.value(l.param)!.initializer!.toFloat64());
    const formats = chooseLayerFormats(w, 4, o.positEs);
    const groups = groupsOf(l, o.granularity);
    let mask: Uint8Array;
    if (o.method === 'random') mask = randomFractionMask(w.length, groups, o.positFraction, rng.fork(li));
    else {
      const imp = o.importance === 'uniform' ? undefined : importance?.get(l.param);
      if (o.importance !== 'uniform' && !imp) throw new Error(`posit-mixed assignment: no importance for weight '${l.param}' (importance '${o.importance}'; compute it with weightImportance)`);
      mask = topFractionMask(weightScores(w, formats, imp, o.errorMetric), groups, o.positFraction);
    }
    let k = 0;
    for (const m of mask) k += m;
    const positFraction = k / w.length;
    const method = positFraction === 0 ? 'all-fixed' : positFraction === 1 ? 'all-posit' : o.method;
    return { ...l, fixed: formats.fix.id, posit: formats.posit.id, positShift: formats.positShift, mask, positFraction, method };
  });
  const map = { layers: out };
  applyFormatMap(graph, map);
  return map;
}

/** Effective (quantized) weight of a layer: Posit4 where the mask is set, FixP4 elsewhere. */
export function effectiveWeight(w: Float32Array, a: LayerAssignment, formats: LayerFormats): Float32Array {
  const qf = quantizeFix(w, formats.fix);
  const qp = quantizePosit(w, formats.posit, formats.positShift);
  return Float32Array.from(w, (_, i) => (a.mask[i] ? qp[i]! : qf[i]!));
}

/** Σ (w − Q(w))² over a layer, and Σ I·(w − Q(w))² when an importance is given. */
export function quantizationError(w: Float32Array, q: Float32Array, importance?: Float64Array): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += (importance ? importance[i]! : 1) * (w[i]! - q[i]!) ** 2;
  return s;
}
