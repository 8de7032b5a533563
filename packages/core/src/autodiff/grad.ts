import { GraphBuilder } from '../builder.js';
import { isFloatDType } from '../dtype.js';
import type { Graph, Node, Value } from '../graph.js';
import type { GradientRule, OpRegistry } from '../registry.js';
import { standardOps } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { gradientRules, NON_DIFFERENTIABLE } from './rules.js';

/** Node meta key: when true, no gradient flows through any output of the node. */
export const STOP_GRADIENT = 'stopGradient';
/** Node meta key on an Identity: the gradient passing through is multiplied by this number (LSQ's g). */
export const GRAD_SCALE = 'gradScale';
/** Node meta key set on every node that `grad` writes (so analyses can tell backward from forward). */
export const BACKWARD = 'backward';
/** Value meta key: a frozen value is a constant for autodiff (no gradient is computed for it). */
export const FROZEN = 'frozen';

export interface GradOptions {
  /** The registry the graph was built with (default: standardOps()). */
  registry?: OpRegistry;
  /** Extra or overriding rules keyed by op id (`op` or `domain::op`), consulted first. */
  rules?: Record<string, GradientRule>;
  /** Gradient of the final objective w.r.t. `loss` (default: ones of the loss's shape). */
  seed?: Value;
  /** Remove backward nodes that do not contribute to a returned gradient (default true). */
  prune?: boolean;
}

export interface GradResult {
  /** One gradient per `wrt` value; null when the loss does not depend on it (or it is frozen). */
  grads: (Value | null)[];
  /** The backward nodes written into the graph, in order. */
  nodes: Node[];
}

/**
 * Reverse-mode autodiff inside the IR: appends the backward nodes for d`loss`/d`wrt` to the same
 * graph (after the forward nodes) and returns the gradient values.
 *
 * Rules are looked up per node in this order: `opts.rules[opId]`, the registry schema's
 * `gradient` (plugins attach rules to their own ops with `registry.augment(op, {gradient})`),
 * then core's rule table `gradientRules` (core/src/autodiff/rules*.ts, kept apart from kernels).
 * Only nodes on a path from a `wrt` value to `loss` are differentiated; gradients flow through
 * floating-point values only; nodes with meta `stopGradient` and values with meta `frozen` block.
 */
export function grad(graph: Graph, loss: Value, wrt: Value[], opts: GradOptions = {}): GradResult {
  const registry = opts.registry ?? standardOps();
  const forward = graph.nodes;
  const before = new Set(forward);
  const initsBefore = new Set(graph.initializers.keys());

  // Values that depend (differentiably) on a wrt value.
  const live = new Set<Value>();
  for (const w of wrt) if (isDiffValue(w)) live.add(w);
  for (const n of forward) {
    if (!isDiffNode(n, registry, opts.rules)) continue;
    if (!n.inputs.some((v) => v && live.has(v))) continue;
    for (const o of n.outputs) if (isDiffValue(o)) live.add(o);
  }
  // Values the loss depends on.
  const needed = new Set<Value>([loss]);
  for (let i = forward.length - 1; i >= 0; i--) {
    const n = forward[i]!;
    if (n.outputs.some((o) => needed.has(o))) for (const v of n.inputs) if (v) needed.add(v);
  }

  const b = new GraphBuilder(graph, registry);
  const contributions = new Map<Value, Value[]>();
  const add = (v: Value, g: Value) => {
    const list = contributions.get(v);
    if (list) list.push(g);
    else contributions.set(v, [g]);
  };
  const gradOf = (v: Value): Value | null => {
    const list = contributions.get(v);
    if (!list || list.length === 0) return null;
    if (list.length > 1) {
      const sum = list.length === 2 ? b.op('Add', [list[0]!, list[1]!], {}, { name: 'grad_accum' }) : b.op('Sum', list, {}, { name: 'grad_accum' });
      contributions.set(v, [sum]);
    }
    return contributions.get(v)![0]!;
  };

  if (!live.has(loss)) return { grads: wrt.map(() => null), nodes: [] };
  add(loss, opts.seed ?? onesLike(b, loss));

  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i]!;
    if (!isDiffNode(node, registry, opts.rules)) continue;
    if (!node.outputs.some((o) => live.has(o) && needed.has(o))) continue;
    const needsGrad = node.inputs.map((v) => !!v && live.has(v));
    if (!needsGrad.some(Boolean)) continue;
    const outputGrads = node.outputs.map((o) => (live.has(o) ? gradOf(o) : null));
    if (outputGrads.every((g) => g === null)) continue;
    const rule = findRule(node, registry, opts.rules);
    let inGrads: (Value | null)[];
    try {
      inGrads = rule({ b, node, outputGrads, needsGrad });
    } catch (e) {
      const msg = (e as Error).message;
      throw new Error(msg.includes(node.name) ? msg : `gradient of ${node.describe()}: ${msg}`);
    }
    node.inputs.forEach((v, k) => {
      const g = inGrads[k];
      if (!v || !g || !needsGrad[k]) return;
      checkShape(node, k, v, g);
      add(v, g);
    });
  }

  const grads = wrt.map((w) => (live.has(w) ? gradOf(w) : null));
  const added = graph.nodes.filter((n) => !before.has(n));
  for (const n of added) n.meta.set(BACKWARD, true);
  if (opts.prune ?? true) pruneBackward(graph, added, new Set(grads.filter((g): g is Value => g !== null)), initsBefore);
  return { grads, nodes: graph.nodes.filter((n) => !before.has(n)) };
}

function isDiffValue(v: Value): boolean {
  if (v.meta.get(FROZEN) === true || v.meta.get(STOP_GRADIENT) === true) return false;
  const d = v.dtype ?? v.initializer?.dtype;
  return d !== undefined && isFloatDType(d);
}

/**
 * Whether gradients flow through a node. An op with a rule is differentiable even when its schema
 * says otherwise (Round/Floor/Ceil/Sign carry straight-through rules for quantisers).
 */
function isDiffNode(n: Node, registry: OpRegistry, extra?: Record<string, GradientRule>): boolean {
  if (n.meta.get(STOP_GRADIENT) === true) return false;
  const schema = registry.get(n.op, n.domain);
  if (extra?.[n.opId] || schema?.gradient || gradientRules[n.opId]) return true;
  if (schema?.differentiable === false) return false;
  return !NON_DIFFERENTIABLE.has(n.opId);
}

function findRule(node: Node, registry: OpRegistry, extra?: Record<string, GradientRule>): GradientRule {
  const r = extra?.[node.opId] ?? registry.get(node.op, node.domain)?.gradient ?? gradientRules[node.opId];
  if (!r) {
    throw new Error(`no gradient rule for op ${node.opId} (node ${node.describe()}): add one with registry.augment('${node.op}', {gradient}) or opts.rules, or stop the gradient before it`);
  }
  return r;
}

function checkShape(node: Node, k: number, v: Value, g: Value): void {
  const a = v.shape;
  const s = g.shape;
  if (!a || !s) return;
  const bad = a.length !== s.length || a.some((d, i) => typeof d === 'number' && typeof s[i] === 'number' && d !== s[i]);
  if (bad) throw new Error(`gradient rule of ${node.describe()} returned shape [${s.join(', ')}] for input ${k} '${v.name}' of shape [${a.join(', ')}]`);
}

function onesLike(b: GraphBuilder, v: Value): Value {
  const dtype = v.dtype!;
  const shape = v.shape;
  if (shape && shape.every((d) => d === 1)) return b.constant(Tensor.from(new Array(1).fill(1), shape as number[], dtype), dtype, 'grad_seed');
  if (shape && shape.every((d) => typeof d === 'number')) {
    const t = Tensor.zeros(dtype, shape as number[]);
    for (let i = 0; i < t.size; i++) t.setFlat(i, 1);
    return b.constant(t, dtype, 'grad_seed');
  }
  return b.op('ConstantOfShape', [b.op('Shape', [v])], { value: Tensor.from([1], [1], dtype) }, { name: 'grad_seed' });
}

/** Removes backward nodes (and initializers they created) whose outputs reach no kept value. */
function pruneBackward(graph: Graph, added: Node[], keep: Set<Value>, initsBefore: Set<string>): void {
  for (let i = added.length - 1; i >= 0; i--) {
    const n = added[i]!;
    const used = n.outputs.some((o) => keep.has(o) || o.uses.size > 0 || graph.outputs.includes(o));
    if (!used) graph.removeNode(n);
  }
  for (const [name, v] of [...graph.initializers]) {
    if (!initsBefore.has(name) && v.uses.size === 0 && !graph.outputs.includes(v) && !keep.has(v)) graph.removeInitializer(name);
  }
}

/** `Identity` that blocks gradients: forward value unchanged, no gradient flows into `x`. */
export function stopGradient(b: GraphBuilder, x: Value): Value {
  const y = b.op('Identity', [x], {}, { name: 'stop_gradient' });
  y.producer!.meta.set(STOP_GRADIENT, true);
  return y;
}

/** `Identity` whose backward multiplies the gradient by `scale` (LSQ's gradient scale g). */
export function gradScale(b: GraphBuilder, x: Value, scale: number): Value {
  const y = b.op('Identity', [x], {}, { name: 'grad_scale' });
  y.producer!.meta.set(GRAD_SCALE, scale);
  return y;
}
