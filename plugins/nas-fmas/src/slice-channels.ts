/**
 * Channel and depth slicing of a pretrained network (spec B4): a candidate subnetwork is a real,
 * smaller graph whose tensors are sub-tensors of the supernet's — never a mask. Filters of a Conv
 * are chosen top-k by L1 norm ([R] default) or first-k; the choice travels forward along the
 * channel axis through BatchNorm (γ, β, running mean and variance), activations, depthwise convs,
 * resizes, pools and channel concats, and ends at the input columns of the next dense conv.
 */
import {
  DeadCodeEliminationPass, ShapeInferencePass, attr, standardOps, type Graph, type Node, type OpRegistry, type Pass, type PassContext,
  type PassResult, type Tensor, type Value,
} from '@tessera/core';
import { takeAlong } from '@tessera/train';

export type FilterChoice = 'l1' | 'first';

export interface SliceSpec {
  /** Conv node name -> fraction of its filters kept, in (0, 1]; k = max(1, round(fraction · C_out)). */
  widths?: Readonly<Record<string, number>>;
  /** Add nodes of identity-residual blocks to remove: the Add's output becomes its skip input. */
  dropResidual?: readonly string[];
  /** Nodes whose output feeds a channel Concat: that branch is removed (with every node only it used). */
  dropBranches?: readonly string[];
  /** How a Conv's filters are chosen: 'l1' (top-k by L1 norm, default [R]) or 'first' (first k). */
  filterChoice?: FilterChoice;
}

export interface SliceResult {
  graph: Graph;
  /** Conv node name -> the original indices of the filters it kept (ascending). */
  kept: Record<string, number[]>;
}

// Ops that act on each channel independently: the kept-channel list passes through them.
const CHANNELWISE = new Set(['Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'HardSigmoid', 'HardSwish', 'Clip', 'Identity', 'Resize', 'GlobalAveragePool', 'GlobalMaxPool', 'MaxPool', 'AveragePool', 'Dropout']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div']);

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const sameList = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The `k` filters of a [C_out, ...] weight to keep, ascending: top-k by L1 norm (ties: lower index) or the first k. */
export function chooseFilters(weight: Tensor, k: number, choice: FilterChoice = 'l1'): number[] {
  const cout = weight.shape[0]!;
  if (choice === 'first') return range(Math.min(k, cout));
  const per = weight.size / cout;
  const w = weight.toFloat64();
  const norm = range(cout).map((o) => {
    let s = 0;
    for (let j = 0; j < per; j++) s += Math.abs(w[o * per + j]!);
    return s;
  });
  return range(cout).sort((a, b) => norm[b]! - norm[a]! || a - b).slice(0, k).sort((a, b) => a - b);
}

function channels(v: Value, node: Node): number {
  const c = v.shape?.[1];
  if (typeof c !== 'number') throw new Error(`slice-channels: node "${node.name}" (${node.op}): input '${v.name}' has no static channel count (shape [${(v.shape ?? []).join(', ')}])`);
  return c;
}

/** Whether `a` is computed (transitively) from `b`. */
function dependsOn(a: Value, b: Value): boolean {
  const seen = new Set<Value>();
  const stack = [a];
  while (stack.length) {
    const v = stack.pop()!;
    if (v === b) return true;
    if (seen.has(v)) continue;
    seen.add(v);
    for (const i of v.producer?.inputs ?? []) if (i) stack.push(i);
  }
  return false;
}

function nodeByName(g: Graph, name: string, field: string, op: string): Node {
  const n = g.nodes.find((x) => x.name === name);
  if (!n || n.op !== op) {
    const names = g.nodes.filter((x) => x.op === op).map((x) => x.name);
    throw new Error(`slice-channels: ${field}: no ${op} node named '${name}'; ${op} nodes: ${names.slice(0, 12).join(', ')}${names.length > 12 ? `, ... (${names.length})` : ''}`);
  }
  return n;
}

/** Replaces initializer input `i` of `n` by `t` (refusing shared initializers, which two layers would slice differently). */
function setWeight(g: Graph, n: Node, i: number, t: Tensor): void {
  const v = n.inputs[i];
  if (!v?.isInitializer) throw new Error(`slice-channels: node "${n.name}" (${n.op}): input ${i} must be an initializer to be sliced`);
  if (v.uses.size > 1) throw new Error(`slice-channels: node "${n.name}" (${n.op}): initializer '${v.name}' is shared by ${v.uses.size} uses; slicing it would change the other layers`);
  g.setInitializer(v.name, t);
}

/**
 * Returns the sliced subnetwork as a new graph (the input is untouched) and the filters each
 * sliced Conv kept. Throws one line naming the node when a sliced channel set reaches an op that
 * cannot take it (a residual Add whose two sides differ, a graph output, an unsupported op).
 */
export function sliceChannels(graph: Graph, spec: SliceSpec, opts: { registry?: OpRegistry } = {}): SliceResult {
  const registry = opts.registry ?? standardOps();
  const g = graph.clone();
  g.sortTopologically();
  const choice = spec.filterChoice ?? 'l1';
  const widths = new Map<string, number>();
  for (const [name, f] of Object.entries(spec.widths ?? {})) {
    if (!(f > 0 && f <= 1)) throw new Error(`slice-channels: widths['${name}'] = ${f}; expected a fraction in (0, 1]`);
    nodeByName(g, name, `widths['${name}']`, 'Conv');
    widths.set(name, f);
  }

  // Depth: an identity-residual block's Add is bypassed; the block's nodes become dead code.
  for (const name of spec.dropResidual ?? []) {
    const add = nodeByName(g, name, `dropResidual '${name}'`, 'Add');
    const [a, b] = [add.inputs[0]!, add.inputs[1]!];
    const skip = dependsOn(b, a) ? a : dependsOn(a, b) ? b : undefined;
    if (!skip) throw new Error(`slice-channels: dropResidual '${name}': Add is not a residual (neither input is computed from the other)`);
    add.output().replaceAllUsesWith(skip);
    g.removeNode(add);
  }
  if (spec.dropResidual?.length) new DeadCodeEliminationPass().run(g);
  const dropped = new Map<Node, Set<number>>();
  for (const name of spec.dropBranches ?? []) {
    const v = g.nodes.find((n) => n.name === name)?.outputs[0];
    const concat = v?.consumers().find((n) => n.op === 'Concat');
    if (!v || !concat) throw new Error(`slice-channels: dropBranches '${name}': no node of that name feeds a Concat`);
    const set = dropped.get(concat) ?? new Set<number>();
    concat.inputs.forEach((x, i) => x === v && set.add(i));
    if (set.size >= concat.inputs.length) throw new Error(`slice-channels: dropBranches: would remove every input of Concat "${concat.name}"`);
    dropped.set(concat, set);
  }

  // Width: kept channel lists (original indices along axis 1) flow forward in node order.
  const keep = new Map<Value, number[]>();
  const kept: Record<string, number[]> = {};
  for (const n of g.nodes) {
    const ins = n.inputs.map((v) => (v ? keep.get(v) : undefined));
    const k0 = ins[0];
    let out: number[] | undefined;
    if (n.op === 'Conv') {
      const w = n.inputs[1]!;
      const W = w.initializer;
      const group = n.int('group', 1);
      const cin = channels(n.inputs[0]!, n);
      const depthwise = group > 1 && group === cin && W?.shape[1] === 1;
      if ((k0 || widths.has(n.name)) && !W) throw new Error(`slice-channels: Conv "${n.name}": its weight '${w.name}' is not an initializer`);
      if (depthwise) {
        if (widths.has(n.name)) throw new Error(`slice-channels: widths['${n.name}']: a depthwise conv keeps the channels of its input; slice the layer that feeds it`);
        if (k0) {
          if (W!.shape[0] !== group) throw new Error(`slice-channels: Conv "${n.name}": depthwise with channel multiplier ${W!.shape[0]! / group} cannot be sliced`);
          setWeight(g, n, 1, takeAlong(W!, k0, 0));
          if (n.inputs[2]) setWeight(g, n, 2, takeAlong(n.inputs[2].initializer!, k0, 0));
          n.setAttr('group', attr.int(k0.length));
          out = k0;
        }
      } else {
        if (k0 && group !== 1) throw new Error(`slice-channels: Conv "${n.name}": grouped conv (group ${group}) cannot take a sliced input`);
        const f = widths.get(n.name);
        const rows = f === undefined ? undefined : chooseFilters(W!, keptCount(W!.shape[0]!, f), choice);
        if (rows) kept[n.name] = rows;
        if (rows && rows.length < W!.shape[0]!) out = rows;
        if (out || k0) {
          let t = W!;
          if (out) t = takeAlong(t, out, 0);
          if (k0) t = takeAlong(t, k0, 1);
          setWeight(g, n, 1, t);
          if (out && n.inputs[2]) setWeight(g, n, 2, takeAlong(n.inputs[2].initializer!, out, 0));
        }
      }
    } else if (n.op === 'BatchNormalization') {
      if (k0) for (let i = 1; i <= 4; i++) setWeight(g, n, i, takeAlong(n.inputs[i]!.initializer!, k0, 0));
      out = k0;
    } else if (CHANNELWISE.has(n.op)) {
      if (ins.slice(1).some(Boolean)) throw new Error(`slice-channels: node "${n.name}" (${n.op}): only its first input may carry sliced channels`);
      out = k0;
    } else if (BINARY.has(n.op)) {
      const [a, b] = [ins[0], ins[1]];
      const scalarSide = (i: number) => (n.inputs[i]?.initializer?.size ?? 0) === 1;
      if (a && b && !sameList(a, b)) throw new Error(`slice-channels: node "${n.name}" (${n.op}): its inputs carry different channel selections; a residual's two sides must be sliced alike`);
      if ((a && !b && !scalarSide(1)) || (!a && b && !scalarSide(0))) {
        throw new Error(`slice-channels: node "${n.name}" (${n.op}): one input is sliced and the other is not; slice both sides alike or keep this layer's width`);
      }
      out = a ?? b;
    } else if (n.op === 'Concat') {
      const drops = dropped.get(n);
      const axis = n.int('axis', 0);
      const rank = n.inputs[0]!.shape?.length ?? 0;
      const channelAxis = axis === 1 || (rank > 0 && axis === 1 - rank);
      if ((ins.some(Boolean) || drops) && !channelAxis) throw new Error(`slice-channels: Concat "${n.name}": sliced channels reach a concat along axis ${axis}, not the channel axis`);
      if (ins.some(Boolean) || drops) {
        out = [];
        let offset = 0;
        n.inputs.forEach((v, i) => {
          const c = channels(v!, n);
          if (!drops?.has(i)) for (const j of ins[i] ?? range(c)) out!.push(offset + j);
          offset += c;
        });
        if (drops) {
          const rest = n.inputs.filter((_, i) => !drops.has(i));
          n.inputs.forEach((_, i) => n.setInput(i, null));
          n.inputs.length = 0;
          rest.forEach((v, i) => n.setInput(i, v));
        }
        if (out.length === offset) out = undefined;
      }
    } else if (ins.some(Boolean)) {
      const v = n.inputs[ins.findIndex(Boolean)]!;
      throw new Error(`slice-channels: node "${n.name}" (${n.op}) consumes the sliced value '${v.name}'; supported consumers: Conv, BatchNormalization, ${[...CHANNELWISE, ...BINARY].join(', ')}, Concat`);
    }
    if (out) keep.set(n.outputs[0]!, out);
  }
  for (const o of g.outputs) {
    if (keep.has(o)) throw new Error(`slice-channels: graph output '${o.name}' would lose channels; keep the width of the layer that produces it`);
  }
  const ctx: PassContext = { registry, iteration: 0, log: () => {} };
  new DeadCodeEliminationPass().run(g);
  new ShapeInferencePass().run(g, ctx);
  return { graph: g, kept };
}

/** `sliceChannels` as a core pass (not in place: it returns the smaller graph). */
export class SliceChannelsPass implements Pass {
  readonly name = 'SliceChannelsPass';
  readonly inPlace = false;
  lastKept: Record<string, number[]> = {};

  constructor(readonly spec: SliceSpec) {}

  run(graph: Graph, ctx: PassContext): PassResult {
    const r = sliceChannels(graph, this.spec, { registry: ctx.registry });
    this.lastKept = r.kept;
    const changed = Object.keys(this.spec.widths ?? {}).length + (this.spec.dropResidual?.length ?? 0) + (this.spec.dropBranches?.length ?? 0) > 0;
    return { graph: r.graph, changed };
  }
}

/** The channel count a Conv node keeps for a width fraction (what `sliceChannels` computes). */
export function keptCount(channelsOut: number, fraction: number): number {
  return Math.max(1, Math.round(fraction * channelsOut));
}

