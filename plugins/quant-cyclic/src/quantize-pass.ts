import { GraphBuilder, standardOps, Tensor, type Graph, type Node, type OpRegistry, type Value } from '@tessera/core';
import { fakeQuantActivation, fakeQuantInput, fakeQuantWeight, foldWeight } from './quantizers.js';

/** How the first and last MAC layers are treated: float, 8-bit, or like the hidden layers [R]. */
export type KeepFirstLast = 'fp' | '8bit' | 'none';

export interface QuantizationPlan {
  /** Bits of hidden-layer weights and activations (1 = W1A1 binarized). */
  bits: number;
  keepFirstLast: KeepFirstLast;
  quantizeActivations: boolean;
  /** b >= 2 weight clip in standard deviations (B1, [R] 2.5). */
  weightClipStd: number;
  /**
   * 'fake-quant': weights quantized in the graph from the latent float initializers (training).
   * 'folded': initializers hold the integer codes (±1 for binary) with their number format and a
   * Mul by the scale follows the layer (evaluation, cost and export).
   */
  weights: 'fake-quant' | 'folded';
}

/** A layer with a weight: MatMul / Gemm / Conv whose input 1 is an initializer. */
export interface MacLayer {
  node: string;
  op: string;
  weight: string;
  /** Axis of the weight indexing output channels. */
  outAxis: number;
}

/** What the pass did, per layer (kept in graph.meta 'ctmq.quantization'). */
export interface QuantizedLayer extends MacLayer {
  weightBits: number | null;
  /** Bits of the layer's input activation (null: float). */
  inputBits: number | null;
  inputFormat: string | null;
  weightFormat: string | null;
}

export const QUANTIZATION_META = 'ctmq.quantization';

const PASS_THROUGH = new Set(['Flatten', 'Reshape', 'Identity']);

/** The MAC layers of a graph in execution order. */
export function macLayers(graph: Graph): MacLayer[] {
  const out: MacLayer[] = [];
  for (const n of graph.nodes) {
    const w = n.inputs[1];
    if (!w?.isInitializer) continue;
    if (n.op === 'MatMul') out.push({ node: n.name, op: n.op, weight: w.name, outAxis: w.initializer!.rank - 1 });
    else if (n.op === 'Gemm') out.push({ node: n.name, op: n.op, weight: w.name, outAxis: n.int('transB', 0) ? 0 : 1 });
    else if (n.op === 'Conv') out.push({ node: n.name, op: n.op, weight: w.name, outAxis: 0 });
  }
  return out;
}

/** Bits of layer i of L under the plan (null: float weights). */
export function layerWeightBits(i: number, count: number, plan: Pick<QuantizationPlan, 'bits' | 'keepFirstLast'>): number | null {
  const edge = i === 0 || i === count - 1;
  if (!edge || plan.keepFirstLast === 'none') return plan.bits;
  return plan.keepFirstLast === '8bit' ? 8 : null;
}

/** Follows Flatten/Reshape/Identity back from a layer input to the node that computed it. */
function sourceOf(v: Value): Value {
  let cur = v;
  while (cur.producer && PASS_THROUGH.has(cur.producer.op)) cur = cur.producer.inputs[0]!;
  return cur;
}

function isBoundedActivation(n: Node | null): boolean {
  if (!n) return false;
  if (n.op === 'Tanh') return true;
  if (n.op !== 'Clip') return false;
  const lo = n.inputs[1]?.initializer;
  const hi = n.inputs[2]?.initializer;
  return !!lo && !!hi && lo.getFlat(0) === -1 && hi.getFlat(0) === 1;
}

/** Reroutes every use of `v` except the nodes in `keep` to `to`. */
function rerouteUses(v: Value, to: Value, keep: Set<Node>): void {
  for (const u of [...v.uses]) if (!keep.has(u.node)) u.node.setInput(u.index, to);
  if (v.isGraphOutput) throw new Error(`quantize: value '${v.name}' is a graph output and cannot be quantized in place`);
}

/**
 * The CTMQ quantization pass (returns a new graph; the input is not changed). Inserts fake-quant
 * weight quantizers on every MAC layer (first/last per `keepFirstLast`), a sign (1 bit) or
 * symmetric uniform quantizer after every hidden activation, and an 8-bit quantizer on the image
 * input when the first layer is 8-bit. Hidden activations must be bounded in [-1, 1] (Tanh, or
 * Clip(-1, 1)) so that b >= 2 grids and the sign have a fixed range; anything else is an error.
 */
export function quantizeGraph(source: Graph, plan: QuantizationPlan, registry: OpRegistry = standardOps()): Graph {
  if (!Number.isInteger(plan.bits) || plan.bits < 1 || plan.bits > 8) throw new Error(`quantize: bits must be an integer in 1..8 (got ${plan.bits})`);
  const g = source.clone();
  const b = new GraphBuilder(g, registry);
  const layers = macLayers(g);
  if (layers.length < 2) throw new Error(`quantize: graph "${g.name}" has ${layers.length} MAC layer(s) with initializer weights; CTMQ needs at least 2 (first and last)`);
  const report: QuantizedLayer[] = [];
  const quantizedActs = new Map<Value, Value>();
  layers.forEach((layer, i) => {
    const node = g.nodes.find((n) => n.name === layer.node)!;
    const weightBits = layerWeightBits(i, layers.length, plan);
    // Input activation.
    let inputBits: number | null = null;
    let inputFormat: string | null = null;
    const src = sourceOf(node.inputs[0]!);
    if (i === 0) {
      if (plan.keepFirstLast !== 'fp' && src.isGraphInput) {
        const q = fakeQuantInput(b, src, 8);
        rerouteUses(src, q, new Set(q.producer ? collectProducers(q, src) : []));
        propagateFormat(node.inputs[0]!, q);
        inputBits = 8;
        inputFormat = q.format!.id;
      }
    } else if (plan.quantizeActivations) {
      if (!isBoundedActivation(src.producer)) {
        const what = src.producer ? `${src.producer.op} node '${src.producer.name}'` : `'${src.name}'`;
        throw new Error(`quantize: layer '${layer.node}' (${layer.op}) reads ${what}; CTMQ's activation quantizers need a hidden activation bounded in [-1, 1]: Tanh or Clip(-1, 1) (build the MLP with activation 'tanh')`);
      }
      let q = quantizedActs.get(src);
      if (!q) {
        q = fakeQuantActivation(b, src, plan.bits);
        rerouteUses(src, q, new Set(collectProducers(q, src)));
        quantizedActs.set(src, q);
      }
      propagateFormat(node.inputs[0]!, q);
      inputBits = plan.bits;
      inputFormat = q.format!.id;
    }
    // Weight.
    let weightFormat: string | null = null;
    if (weightBits !== null) {
      const w = node.inputs[1]!;
      const opts = { bits: weightBits, outAxis: layer.outAxis, clipStd: plan.weightClipStd };
      if (plan.weights === 'fake-quant') {
        const q = fakeQuantWeight(b, w, opts);
        node.setInput(1, q);
        q.format = weightBits === 1 ? { id: 'binary', bits: 1 } : { id: `int<${weightBits},sym>`, bits: weightBits };
        weightFormat = q.format.id;
      } else {
        const folded = foldWeight(w.initializer!, opts);
        const codes = b.param(`${layer.weight}.codes`, folded.codes);
        codes.format = folded.format;
        node.setInput(1, codes);
        const out = node.outputs[0]!;
        const scale = b.constant(reshapeScale(folded.scale, layer, node), 'float32', `${layer.weight}.scale`);
        const scaled = b.op('Mul', [out, scale], {}, { name: `${layer.node}.rescale` });
        rerouteUses(out, scaled, new Set([scaled.producer!]));
        if (w.uses.size === 0) g.removeInitializer(w.name);
        weightFormat = folded.format.id;
      }
    }
    report.push({ ...layer, weightBits, inputBits, inputFormat, weightFormat });
  });
  g.sortTopologically();
  g.meta.set(QUANTIZATION_META, { bits: plan.bits, keepFirstLast: plan.keepFirstLast, weights: plan.weights, layers: report });
  return g;
}

/** Flatten/Reshape/Identity keep the number format: mark the values between the quantizer and the layer. */
function propagateFormat(layerInput: Value, q: Value): void {
  let cur = layerInput;
  while (cur !== q && cur.producer && PASS_THROUGH.has(cur.producer.op)) {
    cur.format = q.format;
    cur = cur.producer.inputs[0]!;
  }
}

/** The nodes between `from` and the quantizer output `to` (they keep reading `from`). */
function collectProducers(to: Value, from: Value): Node[] {
  const out: Node[] = [];
  const stack = [to];
  const seen = new Set<Value>();
  while (stack.length) {
    const v = stack.pop()!;
    if (v === from || seen.has(v) || !v.producer) continue;
    seen.add(v);
    out.push(v.producer);
    for (const i of v.producer.inputs) if (i) stack.push(i);
  }
  return out;
}

/** Per-channel scale [out] shaped to broadcast against the layer output ([out] for MatMul/Gemm, [out, 1, 1] for Conv). */
function reshapeScale(scale: Tensor, layer: MacLayer, node: Node): Tensor {
  if (scale.size === 1 || layer.op !== 'Conv') return scale;
  const rank = node.outputs[0]!.shape?.length ?? 4;
  return new Tensor('float32', [scale.size, ...new Array<number>(rank - 2).fill(1)], scale.data as Float32Array);
}
