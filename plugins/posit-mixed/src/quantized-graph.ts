import { GraphBuilder, Tensor, stopGradient, standardOps, type Graph, type OpRegistry, type Value } from '@tessera/core';
import { fixed, lowerFakeQuant } from '@tessera/numerics';
import type { Executor } from '@tessera/runtime';
import { positSpacing } from './formats.js';
import { assignmentToMeta, layerFormatsOf, weightLayers, POSIT_MIXED, type FormatMap, type LayerAssignment } from './format-map.js';

/** Kernel variant name of the exact posit x fixed MAC (node.meta 'kernel'). */
export const POSIT_MIXED_MAC = 'posit-mixed-mac';
/** Node meta key: the fixed<b,f> format id of the node's activation input. */
export const ACTIVATION_FORMAT = 'posit-mixed-activation';

export interface QuantizedGraphOptions {
  /** 'inference': fake-quant weights (and activations), MAC nodes marked for the exact kernel. 'train': the same forward values with an STE backward. */
  mode: 'inference' | 'train';
  /** Training only: plain STE, or the posit gradient approximation Δ_fix/Δ_pos(w) on Posit4 weights [R]. */
  gradient?: 'ste' | 'posit';
  positGradientClamp?: readonly [number, number];
  /** Activation format (fixed<b,f> id) per MAC node name; nodes not listed keep float activations. */
  activations?: ReadonlyMap<string, string>;
  registry?: OpRegistry;
}

/**
 * A copy of `graph` in which every weight of the map is replaced by its fake-quant — FixP4 and
 * Posit4 lowered to standard ONNX ops by @tessera/numerics' lowerFakeQuant, selected per
 * element by the mask with Where — and each listed activation by its fixed-point fake-quant.
 * Runs on onnxruntime as is. In 'inference' mode the MAC nodes also carry meta kernel =
 * 'posit-mixed-mac', so the reference interpreter (with positMixedRegistry) evaluates them with
 * exact 4-bit arithmetic instead. In 'train' mode the weight path is
 *   stopGradient(Q(W)) + (W·G − stopGradient(W·G)),  G = 1 (STE) or Δ_fix/Δ_pos(W) on Posit4 weights,
 * equal to Q(W) in the forward pass and with gradient G elementwise in the backward pass.
 */
export function quantizedGraph(graph: Graph, map: FormatMap, opts: QuantizedGraphOptions): Graph {
  const g = graph.clone();
  const before = new Set(g.initializers.keys());
  const b = new GraphBuilder(g, opts.registry ?? standardOps());
  for (const a of map.layers) {
    const n = g.nodes.find((x) => x.name === a.node);
    const w = n?.inputs[1];
    if (!n || !w || w.name !== a.param) throw new Error(`quantizedGraph: graph "${g.name}" has no node '${a.node}' reading weight '${a.param}'`);
    let q = weightFakeQuant(b, w, a);
    if (opts.mode === 'train') {
      const scale = opts.gradient === 'posit' && a.positFraction > 0 ? positGradientScale(b, w, a, opts.positGradientClamp ?? [0.25, 4]) : undefined;
      const lin = scale ? b.op('Mul', [w, stopGradient(b, scale)], {}, { name: `${a.node}.pm_grad_path` }) : w;
      q = b.op('Add', [stopGradient(b, q), b.op('Sub', [lin, stopGradient(b, lin)], {}, { name: `${a.node}.pm_ste_zero` })], {}, { name: `${a.node}.pm_ste` });
    }
    n.setInput(1, q);
    const act = opts.activations?.get(a.node);
    if (act) {
      const f = parseFixed(act, a.node);
      n.setInput(0, lowerFakeQuant(b, n.inputs[0]!, f));
      n.meta.set(ACTIVATION_FORMAT, act);
    }
    n.meta.set(POSIT_MIXED, assignmentToMeta(a));
    if (opts.mode === 'inference') n.meta.set('kernel', POSIT_MIXED_MAC);
  }
  // The fake-quant tables are constants, never parameters of a trainer.
  for (const [name, v] of g.initializers) if (!before.has(name)) v.meta.set('constant', true);
  g.sortTopologically();
  return g;
}

function parseFixed(id: string, node: string) {
  const m = /^fixed<(\d+),(-?\d+)>$/.exec(id);
  if (!m) throw new Error(`quantizedGraph: activation format of node '${node}' is '${id}'; the MAC's second operand must be fixed<bits,frac>`);
  return fixed(Number(m[1]), Number(m[2]));
}

function weightFakeQuant(b: GraphBuilder, w: Value, a: LayerAssignment): Value {
  const f = layerFormatsOf(a);
  const fix = () => lowerFakeQuant(b, w, f.fix);
  const pos = () => {
    const down = b.op('Mul', [w, b.constant(2 ** -f.positShift, 'float32', `${a.node}.pm_posit_down`)], {}, { name: `${a.node}.pm_scaled` });
    return b.op('Mul', [lowerFakeQuant(b, down, f.posit), b.constant(2 ** f.positShift, 'float32', `${a.node}.pm_posit_up`)], {}, { name: `${a.node}.pm_posit` });
  };
  if (a.positFraction === 0) return fix();
  if (a.positFraction === 1) return pos();
  const mask = b.constant(new Tensor('bool', a.shape, Uint8Array.from(a.mask)), 'bool', `${a.node}.pm_mask`);
  return b.op('Where', [mask, pos(), fix()], {}, { name: `${a.node}.pm_mixed` });
}

/**
 * Elementwise Δ_fix / Δ_pos(w) (clamped) for Posit4 weights, 1 for FixP4 ones: w is placed on the
 * scaled posit grid by comparing it with the midpoints between grid values, and the ratio of the
 * FixP step to the local posit spacing there is looked up [R].
 */
function positGradientScale(b: GraphBuilder, w: Value, a: LayerAssignment, clamp: readonly [number, number]): Value {
  const f = layerFormatsOf(a);
  const { values, spacing } = positSpacing(f.posit, f.positShift);
  const mids = values.slice(1).map((v, i) => Math.fround((v + values[i]!) / 2));
  const table = spacing.map((s) => Math.min(clamp[1], Math.max(clamp[0], f.fix.step / s)));
  const axis = b.constant(Tensor.from([-1], [1], 'int64'), 'int64', `${a.node}.pm_last_axis`);
  const col = b.op('Unsqueeze', [w, axis], {}, { name: `${a.node}.pm_w_column` });
  const above = b.op('LessOrEqual', [b.constant(Tensor.from(mids, [mids.length], 'float32'), 'float32', `${a.node}.pm_mids`), col], {}, { name: `${a.node}.pm_above` });
  const idx = b.op('ReduceSum', [b.op('Cast', [above], { to: 7 }, { name: `${a.node}.pm_above_int` }), axis], { keepdims: 0 }, { name: `${a.node}.pm_grid_index` });
  const gpos = b.op('Gather', [b.constant(Tensor.from(table, [table.length], 'float32'), 'float32', `${a.node}.pm_grad_table`), idx], { axis: 0 }, { name: `${a.node}.pm_posit_grad` });
  if (a.positFraction === 1) return gpos;
  const mask = b.constant(new Tensor('bool', a.shape, Uint8Array.from(a.mask)), 'bool', `${a.node}.pm_grad_mask`);
  return b.op('Where', [mask, gpos, b.constant(1, 'float32', `${a.node}.pm_one`)], {}, { name: `${a.node}.pm_grad_scale` });
}

/**
 * Fixed-point activation formats per MAC node: fixed<bits, f> with the largest f for which the
 * largest |activation| seen on `x` fits (power-of-two scale) [R]. Runs `graph` on the executor.
 */
export async function calibrateActivations(graph: Graph, x: Tensor, bits: number, executor: Executor): Promise<Map<string, string>> {
  const layers = weightLayers(graph);
  const inputName = graph.inputs.find((v) => !v.isInitializer)!.name;
  const names = [...new Set(layers.map((l) => graph.nodes.find((n) => n.name === l.node)!.inputs[0]!.name))];
  const res = await executor.run(graph, { [inputName]: x }, names);
  const out = new Map<string, string>();
  for (const l of layers) {
    const t = res[graph.nodes.find((n) => n.name === l.node)!.inputs[0]!.name]!;
    let m = 0;
    for (let i = 0; i < t.size; i++) m = Math.max(m, Math.abs(t.getFlat(i)));
    const frac = m > 0 ? Math.floor(Math.log2((2 ** (bits - 1) - 1) / m)) : bits - 1;
    out.set(l.node, fixed(bits, frac).id);
  }
  return out;
}

/** The graph with every mapped weight replaced by its effective (quantized) values: what a deployment stores. */
export function withQuantizedWeights(graph: Graph, map: FormatMap, effective: (a: LayerAssignment, w: Float32Array) => Float32Array): Graph {
  const g = graph.clone();
  for (const a of map.layers) {
    const v = g.value(a.param)!;
    g.setInitializer(a.param, new Tensor('float32', a.shape, effective(a, Float32Array.from(v.initializer!.toFloat64()))));
  }
  return g;
}
