import {
  GraphBuilder, Tensor, constantOf, grad, inferNode, isFloatDType, standardOps, type Graph, type Node, type OpRegistry, type Value,
} from '@tessera/core';
import type { Optimizer } from './optimizers.js';
import { takeAlong } from './tensor-util.js';

/** Freeze a whole parameter (its name) or the given indices of it along axis 0 (`rows`) or 1 (`cols`). */
export type FreezeSpec = string | { param: string; rows?: number[]; cols?: number[] };

export interface ParamGroup {
  /** Which parameters: names, a pattern, or a predicate over names. */
  params: readonly string[] | RegExp | ((name: string) => boolean);
  lr?: number;
  weightDecay?: number;
}

/** Adds the loss to the graph: returns the scalar loss value and the extra inputs it reads (labels). */
export type LossBuilder = (b: GraphBuilder, outputs: Value[]) => { loss: Value; inputs: Value[] };

export interface TrainingGraphSpec {
  forward: Graph;
  loss: 'cross-entropy' | LossBuilder;
  optimizer: Optimizer;
  registry?: OpRegistry;
  /** Names of trainable candidates (default: trainableCandidates(forward)). */
  params?: readonly string[];
  groups?: readonly ParamGroup[];
  freeze?: readonly FreezeSpec[];
  /** Static batch size bound to the inputs' symbolic first dimension. */
  batchSize: number;
  /** Adds an `eps` input per trainable tensor (the forward sees p + eps) and exposes the gradients (SAM). */
  perturbInputs?: boolean;
  /** Build only forward + loss + backward (gradients as outputs), no optimizer update. */
  gradientsOnly?: boolean;
  /** Build only the forward with trainable tensors as inputs (the evaluation graph). */
  forwardOnly?: boolean;
}

/** One tensor fed as trainable each step: a whole parameter, or its trainable rows/columns. */
export interface Slot {
  /** Graph input name. */
  input: string;
  param: string;
  /** Axis of a partial slot; null for a whole parameter. */
  axis: number | null;
  /** Indices (along axis) the slot holds, ascending; null for a whole parameter. */
  index: number[] | null;
  shape: number[];
  group: number;
  stateInputs: string[];
  next: string;
  stateNext: string[];
  /** Gradient output name (gradientsOnly or perturbInputs graphs). */
  grad?: string;
  /** Perturbation input name (perturbInputs graphs). */
  eps?: string;
}

/** Where a batch-statistics BatchNorm layer keeps its statistics (as @tessera/models records them). */
export interface BatchNormStatRef {
  layer: string;
  mean: string;
  variance: string;
  runningMean: string;
  runningVar: string;
  /** Elements averaged per channel (N·H·W) for the unbiased running variance. */
  count: number;
}

/** A frozen slice: the constant part of a partly frozen parameter. */
export interface FrozenPart {
  param: string;
  axis: number;
  index: number[];
  tensor: Tensor;
}

export interface TrainingGraph {
  graph: Graph;
  slots: Slot[];
  /** Parameters frozen whole (constants in the graph). */
  frozen: string[];
  frozenParts: FrozenPart[];
  dataInputs: string[];
  lossOutput: string;
  /** The forward graph's outputs (logits...), fetched for hooks and metrics. */
  forwardOutputs: string[];
  /** Learning-rate input per parameter group. */
  lrInputs: string[];
  /** Batch-statistics BatchNorm layers (forward.meta 'batchNormStats'): their batch mean/variance are outputs. */
  batchNormStats: BatchNormStatRef[];
  /** Dropout layers rewritten to `Where(mask, x · 1/(1−ratio), 0)` with the bool keep-mask fed each step (seeded in JS). */
  dropoutMasks: { input: string; shape: number[]; ratio: number }[];
  scalarInputs: string[];
  optimizerStateSlots: readonly string[];
}

/**
 * Float initializers that are trainable by default: non-scalar ones, plus scalars marked
 * `meta.trainable` (learnable steps, clip levels). Scalars otherwise are constants (eps, 0.5...);
 * values marked `meta.frozen` or `meta.constant`, and BatchNorm running statistics, are never
 * trainable. Parameters the loss does not depend on are dropped after autodiff (they stay constants).
 */
export function trainableCandidates(g: Graph): string[] {
  return g.parameters()
    .filter((v) => v.meta.get('frozen') !== true && v.meta.get('constant') !== true && !/running_(mean|var)$/.test(v.name))
    .filter((v) => v.initializer!.size > 1 || v.meta.get('trainable') === true)
    .map((v) => v.name);
}

function groupOf(name: string, groups: readonly ParamGroup[]): number {
  for (let i = 0; i < groups.length; i++) {
    const p = groups[i]!.params;
    if (typeof p === 'function' ? p(name) : p instanceof RegExp ? p.test(name) : p.includes(name)) return i;
  }
  return groups.length; // the default group
}

/** Normalised freeze plan: name -> null (whole) or {axis, frozen indices}. */
export function freezePlan(specs: readonly FreezeSpec[], g: Graph): Map<string, { axis: number; index: number[] } | null> {
  const plan = new Map<string, { axis: number; index: number[] } | null>();
  for (const s of specs) {
    const name = typeof s === 'string' ? s : s.param;
    const v = g.initializers.get(name);
    if (!v) throw new Error(`freeze: '${name}' is not a parameter of graph "${g.name}" (parameters: ${g.parameters().map((p) => p.name).join(', ')})`);
    if (typeof s === 'string' || (!s.rows && !s.cols)) { plan.set(name, null); continue; }
    if (s.rows && s.cols) throw new Error(`freeze '${name}': give rows or cols, not both`);
    const axis = s.rows ? 0 : 1;
    const dim = v.initializer!.shape[axis];
    if (dim === undefined) throw new Error(`freeze '${name}': the parameter has no axis ${axis}`);
    const index = [...new Set(s.rows ?? s.cols!)].sort((a, c) => a - c);
    if (index.some((i) => !Number.isInteger(i) || i < 0 || i >= dim)) throw new Error(`freeze '${name}': indices must be integers in 0..${dim - 1}`);
    if (index.length === dim) plan.set(name, null);
    else if (index.length > 0) plan.set(name, { axis, index });
  }
  return plan;
}

/** Slice [idx] of x along axis: a Slice for a contiguous range, a Gather otherwise. */
function take(b: GraphBuilder, x: Value, idx: number[], axis: number): Value {
  const contiguous = idx.every((v, i) => v === idx[0]! + i);
  if (contiguous) return b.op('Slice', [x, b.ints([idx[0]!]), b.ints([idx[0]! + idx.length]), b.ints([axis])]);
  return b.op('Gather', [x, b.ints(idx)], { axis });
}

function toInput(g: Graph, v: Value, name: string): Value {
  const input = g.addInput(name, { dtype: v.initializer!.dtype, shape: [...v.initializer!.shape] });
  v.replaceAllUsesWith(input);
  return input;
}

/**
 * Builds the training graph: forward + loss + backward + optimizer update, as one Tessera graph.
 * Trainable tensors and optimizer state are graph inputs, their next values graph outputs; frozen
 * parameters (or frozen rows/columns) are constants, so autodiff writes no gradient for them and
 * no activation is kept only for them. A consumer that contracts over frozen rows (MatMul/Gemm)
 * is split into a trainable and a frozen product, so only the trainable columns of its input are
 * saved for backward.
 */
export function buildTrainingGraph(spec: TrainingGraphSpec): TrainingGraph {
  const registry = spec.registry ?? standardOps();
  const g = bindBatch(spec.forward, spec.batchSize, registry);
  const b = new GraphBuilder(g, registry);
  const candidates = new Set(spec.params ?? trainableCandidates(spec.forward));
  const plan = freezePlan(spec.freeze ?? [], g);
  const groups = spec.groups ?? [];
  const dataInputs = g.inputs.map((v) => v.name);

  const slots: Slot[] = [];
  const slotValues: Value[] = [];
  const frozen: string[] = [];
  const frozenParts: FrozenPart[] = [];
  const addSlot = (v: Value, param: string, axis: number | null, index: number[] | null) => {
    slots.push({ input: v.name, param, axis, index, shape: [...(v.shape as number[])], group: groupOf(param, groups), stateInputs: [], next: '', stateNext: [] });
    slotValues.push(v);
  };

  for (const v of [...g.initializers.values()]) {
    if (!isFloatDType(v.initializer!.dtype)) continue;
    const name = v.name;
    if (!candidates.has(name)) continue;
    const p = plan.get(name);
    if (p === null) { frozen.push(name); v.meta.set('frozen', true); continue; }
    if (p === undefined) {
      g.renameValue(v, `${name}__init`);
      addSlot(toInput(g, v, name), name, null, null);
      g.removeInitializer(`${name}__init`);
      continue;
    }
    // Partly frozen: W_t (input) holds the trainable indices, W_f (constant) the frozen ones.
    const full = v.initializer!;
    const dim = full.shape[p.axis]!;
    const frozenSet = new Set(p.index);
    const train = Array.from({ length: dim }, (_, i) => i).filter((i) => !frozenSet.has(i));
    const ft = takeAlong(full, p.index, p.axis);
    frozenParts.push({ param: name, axis: p.axis, index: p.index, tensor: ft });
    g.renameValue(v, `${name}__init`);
    const wt = g.addInput(`${name}__t`, { dtype: full.dtype, shape: shapeWith(full.shape, p.axis, train.length) });
    const wf = g.addInitializer(`${name}__f`, ft);
    wf.meta.set('frozen', true);
    addSlot(wt, name, p.axis, train);
    let assembled: Value | null = null;
    for (const use of [...v.uses]) {
      const n = use.node;
      if (splitContraction(b, n, use.index, p.axis, train, p.index, wt, wf)) continue;
      if (!assembled) {
        b.insertionPoint = g.nodes[0];
        const order = [...train, ...p.index];
        let cat = b.op('Concat', [wt, wf], { axis: p.axis });
        if (order.some((o, i) => o !== i)) {
          const inv = new Array<number>(dim);
          order.forEach((o, i) => (inv[o] = i));
          cat = b.op('Gather', [cat, b.ints(inv)], { axis: p.axis });
        }
        assembled = cat;
        b.insertionPoint = undefined;
      }
      n.setInput(use.index, assembled);
    }
    g.removeInitializer(`${name}__init`);
  }

  const dropoutMasks = rewriteDropout(b, !spec.forwardOnly);
  // Read after the rewrites, which may have replaced an output value.
  const forwardOutputs = g.outputs.map((o) => o.name);
  if (spec.forwardOnly) {
    return { graph: g, slots, frozen, frozenParts, dataInputs, lossOutput: '', forwardOutputs, lrInputs: [], scalarInputs: [], optimizerStateSlots: [], batchNormStats: [], dropoutMasks: [] };
  }
  // Loss.
  const outs = g.outputs.map((o) => o);
  let lossV: Value;
  if (spec.loss === 'cross-entropy') {
    const logits = outs[0]!;
    const ls = logits.shape as number[];
    // Labels: [N] for [N, C] logits, [N, T] for [N, T, V] sequences, [N, d1, ...] for [N, C, d1, ...] dense maps.
    const labelShape = ls.length === 3 ? [ls[0]!, ls[1]!] : [ls[0]!, ...ls.slice(2)];
    const labels = g.addInput('labels', { dtype: 'int64', shape: labelShape });
    let scores = logits;
    if (ls.length === 3) {
      // [N, T, V] next-token logits -> [N, V, T] as SoftmaxCrossEntropyLoss expects.
      scores = b.op('Transpose', [logits], { perm: [0, 2, 1] });
    }
    lossV = b.op('SoftmaxCrossEntropyLoss', [scores, labels], { reduction: 'mean' }, { name: 'loss' });
    dataInputs.push('labels');
  } else {
    const r = spec.loss(b, outs);
    lossV = r.loss;
    for (const i of r.inputs) if (!dataInputs.includes(i.name)) dataInputs.push(i.name);
  }
  g.renameValue(lossV, g.hasValue('loss') && g.value('loss') !== lossV ? g.uniqueName('loss') : 'loss');

  // SAM: the forward reads p + eps.
  const wrt: Value[] = [];
  slots.forEach((s, i) => {
    const v = slotValues[i]!;
    if (!spec.perturbInputs) { wrt.push(v); return; }
    const eps = g.addInput(`${s.input}__eps`, { dtype: v.dtype!, shape: [...s.shape] });
    s.eps = eps.name;
    const uses = [...v.uses];
    b.insertionPoint = g.nodes[0];
    const pe = b.op('Add', [v, eps], {}, { name: `${s.input}__perturbed` });
    b.insertionPoint = undefined;
    for (const u of uses) u.node.setInput(u.index, pe);
    wrt.push(pe);
  });

  const { grads: allGrads } = grad(g, lossV, wrt, { registry });
  // Candidates the loss does not depend on (or whose gradient is blocked) go back to constants.
  const grads: Value[] = [];
  for (let i = slots.length - 1; i >= 0; i--) {
    if (allGrads[i]) continue;
    const s = slots[i]!;
    const v = slotValues[i]!;
    const init = s.axis === null ? spec.forward.initializers.get(s.param)!.initializer! : null;
    if (!init) throw new Error(`parameter '${s.param}': the loss does not depend on its trainable part; freeze it whole`);
    const c = g.addInitializer(g.uniqueName(`${s.param}__const`), init);
    c.meta.set('frozen', true);
    if (s.eps) {
      // SAM: drop the perturbation too (p + eps becomes the constant).
      const pe = wrt[i]!;
      pe.replaceAllUsesWith(c);
      g.removeNode(pe.producer!);
      const eps = g.value(s.eps)!;
      g.inputs.splice(g.inputs.indexOf(eps), 1);
    }
    v.replaceAllUsesWith(c);
    g.inputs.splice(g.inputs.indexOf(v), 1);
    frozen.push(s.param);
    slots.splice(i, 1);
    slotValues.splice(i, 1);
    wrt.splice(i, 1);
    allGrads.splice(i, 1);
  }
  grads.push(...(allGrads as Value[]));
  g.outputs.length = 0;
  g.addOutput(lossV);
  for (const name of forwardOutputs) g.addOutput(g.value(name)!);

  const batchNormStats: BatchNormStatRef[] = [];
  const bn = spec.forward.meta.get('batchNormStats') as Omit<BatchNormStatRef, 'count'>[] | undefined;
  for (const s of bn ?? []) {
    const mean = g.value(s.mean);
    const variance = g.value(s.variance);
    const x = mean?.producer?.inputs[0];
    if (!mean || !variance || !x?.shape) continue;
    const xs = x.shape as number[];
    const count = xs.reduce((a, d, i) => (i === 1 ? a : a * d), 1);
    g.addOutput(mean);
    g.addOutput(variance);
    batchNormStats.push({ layer: s.layer, mean: s.mean, variance: s.variance, runningMean: s.runningMean, runningVar: s.runningVar, count });
  }
  const lrInputs: string[] = [];
  const scalarInputs: string[] = [];
  if (spec.gradientsOnly || spec.perturbInputs) {
    slots.forEach((s, i) => {
      const gv = grads[i]!;
      const out = b.op('Identity', [gv], {}, { name: `${s.input}__grad` });
      s.grad = out.name;
      g.addOutput(out);
    });
  }
  if (!spec.gradientsOnly) {
    const opt = spec.optimizer;
    const nGroups = groups.length + 1;
    const lr: Value[] = [];
    for (let i = 0; i < nGroups; i++) {
      const v = g.addInput(`lr_${i}`, { dtype: 'float32', shape: [] });
      lr.push(v);
      lrInputs.push(v.name);
    }
    const scalars: Record<string, Value> = {};
    for (const s of opt.stepScalars) {
      scalars[s] = g.addInput(`opt_${s}`, { dtype: 'float32', shape: [] });
      scalarInputs.push(`opt_${s}`);
    }
    const before = new Set(g.nodes);
    slots.forEach((s, i) => {
      const pv = slotValues[i]!;
      const gv = grads[i];
      const states = opt.stateSlots.map((k) => g.addInput(`${s.input}__${k}`, { dtype: pv.dtype!, shape: [...s.shape] }));
      s.stateInputs = states.map((v) => v.name);
      const group = groups[s.group];
      const wd = group?.weightDecay ?? opt.weightDecay;
      const upd = opt.update({ b, param: pv, grad: gv!, states, lr: lr[s.group]!, weightDecay: wd, scalars });
      const next = b.op('Identity', [upd.param], {}, { name: `${s.input}__next` });
      s.next = next.name;
      g.addOutput(next);
      s.stateNext = upd.states.map((sv, k) => {
        const o = b.op('Identity', [sv], {}, { name: `${s.input}__${opt.stateSlots[k]}__next` });
        g.addOutput(o);
        return o.name;
      });
    });
    for (const n of g.nodes) if (!before.has(n)) n.meta.set('optimizer', true);
  }
  return {
    graph: g, slots, frozen, frozenParts, dataInputs, lossOutput: lossV.name, forwardOutputs, lrInputs, scalarInputs,
    optimizerStateSlots: spec.gradientsOnly ? [] : spec.optimizer.stateSlots, batchNormStats, dropoutMasks,
  };
}

/**
 * Dropout in a training graph multiplies by a keep-mask fed each step (drawn in JS from the run's
 * seed and the step, so a resumed run draws the same masks); evaluation graphs drop it.
 */
function rewriteDropout(b: GraphBuilder, training: boolean): { input: string; shape: number[]; ratio: number }[] {
  const g = b.graph;
  const masks: { input: string; shape: number[]; ratio: number }[] = [];
  for (const n of g.nodes) {
    if (n.op !== 'Dropout' || n.domain !== '') continue;
    const x = n.inputs[0]!;
    const ratioT = n.inputs[1] ? constantOf(n.inputs[1]) : undefined;
    if (n.inputs[1] && !ratioT) throw new Error(`${n.describe()}: the dropout ratio must be a constant`);
    const ratio = ratioT ? ratioT.getFlat(0) : 0.5;
    let y: Value = x;
    if (training && ratio > 0) {
      const shape = x.shape as number[];
      // A bool keep-mask selects x·1/(1−ratio) or 0: Where's backward reads only the mask (1 byte an element).
      const mask = g.addInput(g.uniqueName(`${n.name}__mask`), { dtype: 'bool', shape: [...shape] });
      b.insertionPoint = n;
      const scaled = b.op('Mul', [x, b.constant(Tensor.scalar(1 / (1 - ratio), x.dtype!), x.dtype!, 'dropout_scale')]);
      y = b.op('Where', [mask, scaled, b.constant(Tensor.scalar(0, x.dtype!), x.dtype!, 'dropout_zero')]);
      b.insertionPoint = undefined;
      masks.push({ input: mask.name, shape: [...shape], ratio });
    }
    if (n.outputs[1] && n.outputs[1].uses.size > 0) throw new Error(`${n.describe()}: its mask output is used; dropout masks are fed by the trainer`);
    n.output(0).replaceAllUsesWith(y);
    g.removeNode(n);
  }
  return masks;
}

function shapeWith(shape: readonly number[], axis: number, n: number): number[] {
  const s = [...shape];
  s[axis] = n;
  return s;
}

/**
 * Rewrites `X·W` where W's frozen indices lie on the contracted dimension into
 * `X[:, t]·W_t + X[:, f]·W_f`, so only X's trainable columns are saved for W_t's gradient.
 */
function splitContraction(b: GraphBuilder, n: Node, inputIndex: number, axis: number, train: number[], frozenIdx: number[], wt: Value, wf: Value): boolean {
  if (inputIndex !== 1) return false;
  const x = n.inputs[0]!;
  const xr = x.shape?.length ?? 0;
  let xAxis: number;
  if (n.op === 'MatMul' && n.domain === '') {
    if (axis !== 0 || (wt.shape?.length ?? 0) !== 2 || xr < 2) return false;
    xAxis = xr - 1;
  } else if (n.op === 'Gemm' && n.domain === '') {
    const contracted = n.int('transB', 0) ? 1 : 0;
    if (axis !== contracted) return false;
    xAxis = n.int('transA', 0) ? 0 : 1;
  } else return false;
  b.insertionPoint = n;
  const xt = take(b, x, train, xAxis);
  const xf = take(b, x, frozenIdx, xAxis);
  let y: Value;
  if (n.op === 'MatMul') {
    y = b.op('Add', [b.op('MatMul', [xt, wt]), b.op('MatMul', [xf, wf])]);
  } else {
    const attrs = Object.fromEntries([...n.attrs].map(([k, a]) => [k, a]));
    const first = b.op('Gemm', [xt, wt, n.inputs[2] ?? null].filter((v): v is Value => v !== null), attrs);
    const { beta: _beta, ...rest } = attrs;
    y = b.op('Add', [first, b.op('Gemm', [xf, wf], rest)]);
  }
  b.insertionPoint = undefined;
  const out = n.output(0);
  const name = out.name;
  out.replaceAllUsesWith(y);
  n.graph.removeNode(n);
  n.graph.renameValue(y, name); // graph outputs (logits) keep their names
  return true;
}

/**
 * A copy of the forward graph with the batch size bound: the inputs' symbolic first dimension is
 * set and every node's types are inferred again, so all shapes are static (rules and ORT like it).
 */
function bindBatch(forward: Graph, batch: number, registry: OpRegistry): Graph {
  const g = forward.clone();
  for (const v of g.inputs) {
    const s = v.shape;
    if (s && s.length > 0 && typeof s[0] !== 'number') v.type = { dtype: v.dtype!, shape: [batch, ...s.slice(1)] };
  }
  for (const n of g.nodes) inferNode(n, registry);
  return g;
}
