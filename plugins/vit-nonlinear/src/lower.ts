import { GraphBuilder, Tensor, type Graph, type Node, type OpRegistry, type Value } from '@tessera/core';
import { ApproxGelu, ApproxLayerNorm, ApproxSoftmax, PEANO_DOMAIN, geluTablesOf, layerNormTablesOf, softmaxTablesOf } from './ops.js';
import { LN_POW2 } from './tables.js';

/**
 * Lowerings of the tessera.peano ops to standard ONNX ops (opset 13+) that contain no Exp, Sqrt,
 * Div, Erf, Tanh, Pow or Log: the exponent of a positive value comes from a comparison ladder
 * against 2^k (GreaterOrEqual + ReduceSum, what a leading-one detector computes), 2^−k and the
 * approximation tables are Gathers from small constants, the rest is Mul/Add/Sub/Floor/Clip/Where.
 * The numbers equal the reference kernels' up to float32 rounding of the intermediate values.
 */

/** Ops the lowered graphs may never contain (the test over every lowering asserts it). */
export const FORBIDDEN_OPS = ['Exp', 'Sqrt', 'Div', 'Erf', 'Tanh', 'Pow', 'Log', 'Reciprocal', 'Softmax', 'LayerNormalization', 'Gelu'] as const;

const F32_LOWEST = -3.4028234663852886e38;

function opsetOf(graph: Graph): number {
  return graph.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 17;
}

class Lowering {
  readonly opset: number;
  constructor(readonly b: GraphBuilder, readonly name: string) {
    this.opset = opsetOf(b.graph);
  }

  c(v: number): Value {
    return this.b.constant(v, 'float32', `${this.name}.c`);
  }

  op(op: string, inputs: (Value | null)[], attrs: Record<string, number | number[] | string> = {}): Value {
    return this.b.op(op, inputs, attrs, { name: `${this.name}.${op.toLowerCase()}` });
  }

  /** ReduceMean/Max/Sum over one axis, axes as attribute or input as the opset wants. */
  reduce(op: 'ReduceMean' | 'ReduceMax' | 'ReduceSum', x: Value, axis: number, keepdims: 0 | 1): Value {
    const axesAsInput = op === 'ReduceSum' ? this.opset >= 13 : this.opset >= 18;
    return axesAsInput
      ? this.op(op, [x, this.b.ints([axis], `${this.name}.axes`)], { keepdims })
      : this.op(op, [x], { axes: [axis], keepdims });
  }

  table(values: ArrayLike<number>): Value {
    return this.b.constant(Tensor.from(Array.from(values), [values.length], 'float32'), 'float32', `${this.name}.table`);
  }

  /** table[idx − offset] for a float tensor idx holding integers in range. */
  lookup(values: ArrayLike<number>, idx: Value, offset: number): Value {
    const i = offset === 0 ? idx : this.op('Sub', [idx, this.c(offset)]);
    return this.op('Gather', [this.table(values), this.op('Cast', [i], { to: 7 })], { axis: 0 });
  }

  /** ⌊log2 u⌋ clamped to [kmin − 1, kmax], as a float tensor: 1 + Σ_k [u ≥ 2^k] − 1 + kmin. */
  exponent(u: Value, kmin: number, kmax: number): Value {
    const thr = Array.from({ length: kmax - kmin + 1 }, (_, i) => 2 ** (kmin + i));
    const uu = this.op('Unsqueeze', [u, this.b.ints([-1], `${this.name}.axes`)]);
    const ge = this.op('Cast', [this.op('GreaterOrEqual', [uu, this.table(thr)])], { to: 1 });
    return this.op('Add', [this.reduce('ReduceSum', ge, -1, 0), this.c(kmin - 1)]);
  }

  /** 2^(−k) for float integer k in [lo, hi] by table look-up. */
  pow2neg(k: Value, lo: number, hi: number): Value {
    return this.lookup(Array.from({ length: hi - lo + 1 }, (_, i) => 2 ** -(lo + i)), k, lo);
  }

  /** ⌊m·2^t⌋ clamped to [0, 2^t − 1]. */
  topBits(m: Value, t: number): Value {
    return this.op('Clip', [this.op('Floor', [this.op('Mul', [m, this.c(2 ** t)])]), this.c(0), this.c(2 ** t - 1)]);
  }

  /** Multi-scale reciprocal of u > 0: 2^−k·R[⌊(u·2^−k − 1)·2^t⌋]. */
  reciprocal(u: Value, R: ArrayLike<number>, t: number, kmin: number, kmax: number): Value {
    const k = this.exponent(u, kmin, kmax);
    const s = this.pow2neg(k, kmin - 1, kmax);
    const m = this.op('Sub', [this.op('Mul', [u, s]), this.c(1)]);
    return this.op('Mul', [s, this.lookup(R, this.topBits(m, t), 0)]);
  }
}

function lowerLayerNorm(b: GraphBuilder, node: Node): Value {
  const L = new Lowering(b, node.name);
  const [x, gamma, beta] = node.inputs as [Value, Value, Value];
  const tb = layerNormTablesOf(node);
  const mu = L.reduce('ReduceMean', x, -1, 1);
  const d = L.op('Sub', [x, mu]);
  const v = L.op('Add', [L.reduce('ReduceMean', L.op('Mul', [d, d]), -1, 1), L.c(node.float('epsilon', 1e-5))]);
  const e = L.exponent(v, tb.kmin, tb.kmax);
  const m = L.op('Sub', [L.op('Mul', [v, L.pow2neg(e, tb.kmin - 1, tb.kmax)]), L.c(1)]);
  const halfLo = Math.floor((tb.kmin - 1) / 2);
  const halfHi = Math.floor((tb.kmax + 1) / 2);
  let r: Value;
  if (tb.pow2Only) {
    const rounded = L.op('Add', [e, L.op('Cast', [L.op('GreaterOrEqual', [m, L.c(LN_POW2.roundUpAt)])], { to: 1 })]);
    const half = L.op('Floor', [L.op('Mul', [rounded, L.c(0.5)])]);
    const j = L.op('Sub', [rounded, L.op('Mul', [half, L.c(2)])]);
    r = L.op('Mul', [L.pow2neg(half, halfLo, halfHi), L.lookup(LN_POW2.table, j, 0)]);
  } else {
    const n = 2 ** tb.t;
    const half = L.op('Floor', [L.op('Mul', [e, L.c(0.5)])]);
    const j = L.op('Sub', [e, L.op('Mul', [half, L.c(2)])]);
    const idx = L.op('Add', [L.op('Mul', [j, L.c(n)]), L.topBits(m, tb.t)]);
    r = L.op('Mul', [L.pow2neg(half, halfLo, halfHi), L.lookup(tb.T, idx, 0)]);
  }
  return L.op('Add', [L.op('Mul', [L.op('Mul', [d, r]), gamma]), beta]);
}

function lowerSoftmax(b: GraphBuilder, node: Node): Value {
  const L = new Lowering(b, node.name);
  const x = node.inputs[0]!;
  const axis = node.int('axis', -1);
  const bias = node.float('bias', 2);
  const cutoff = node.float('cutoff', -3);
  const tb = softmaxTablesOf(node);
  const mx = L.op('Max', [L.reduce('ReduceMax', x, axis, 1), L.c(F32_LOWEST)]);
  const z = L.op('Add', [L.op('Sub', [x, mx]), L.c(bias)]);
  const keep = L.op('GreaterOrEqual', [z, L.c(cutoff)]);
  const zc = L.op('Clip', [z, L.c(cutoff), L.c(bias)]);
  const num = L.op('Add', [L.op('Mul', [L.op('Add', [zc, L.c(6)]), zc]), L.c(12)]);
  const den = L.op('Add', [L.op('Mul', [L.op('Sub', [zc, L.c(6)]), zc]), L.c(12)]);
  const ex = L.op('Where', [keep, L.op('Mul', [num, L.reciprocal(den, tb.R, tb.t, tb.den.kmin, tb.den.kmax)]), L.c(0)]);
  const sum = L.reduce('ReduceSum', ex, axis, 1);
  return L.op('Mul', [ex, L.reciprocal(sum, tb.R, tb.t, tb.sum.kmin, tb.sum.kmax)]);
}

function lowerGelu(b: GraphBuilder, node: Node): Value {
  const L = new Lowering(b, node.name);
  const x = node.inputs[0]!;
  const tb = geluTablesOf(node);
  const seg = L.op('Clip', [L.op('Floor', [L.op('Mul', [L.op('Add', [x, L.c(tb.a)]), L.c(tb.scale)])]), L.c(0), L.c(tb.segments - 1)]);
  const lin = L.op('Add', [L.op('Mul', [L.lookup(tb.slopes, seg, 0), x]), L.lookup(tb.intercepts, seg, 0)]);
  const upper = L.op('Where', [L.op('Greater', [x, L.c(tb.a)]), x, lin]);
  return L.op('Where', [L.op('Less', [x, L.c(-tb.a)]), L.c(0), upper]);
}

const LOWERINGS: Record<string, (b: GraphBuilder, n: Node) => Value> = {
  [ApproxLayerNorm]: lowerLayerNorm,
  [ApproxSoftmax]: lowerSoftmax,
  [ApproxGelu]: lowerGelu,
};

/**
 * Replaces every tessera.peano node of `graph` (in place) by its standard-op lowering; returns how
 * many were lowered. `registry` must know the standard ops (any registry extended from standardOps()).
 */
export function lowerPeanoOps(graph: Graph, registry: OpRegistry): number {
  let lowered = 0;
  for (const node of graph.nodes) {
    if (node.domain !== PEANO_DOMAIN) continue;
    const lower = LOWERINGS[node.op];
    if (!lower) throw new Error(`lowerPeanoOps: node "${node.name}" has unknown op ${PEANO_DOMAIN}::${node.op}; valid: ${Object.keys(LOWERINGS).join(', ')}`);
    const b = new GraphBuilder(graph, registry);
    b.insertionPoint = node;
    const out = lower(b, node);
    const old = node.outputs[0]!;
    const name = old.name;
    const wasOutput = old.isGraphOutput;
    old.replaceAllUsesWith(out);
    graph.removeNode(node, { safe: true });
    if (wasOutput) graph.renameValue(out, name);
    lowered++;
  }
  graph.opsets = graph.opsets.filter((o) => o.domain !== PEANO_DOMAIN);
  return lowered;
}
