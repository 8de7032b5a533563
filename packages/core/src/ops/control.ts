import type { Graph, ValueType } from '../graph.js';
import type { KernelContext, OpSchema } from '../registry.js';
import { Tensor } from '../tensor.js';
import { concat, transpose } from './shape.js';
import { sliceTensor } from './shape.js';
import { int64, intsOf, normAxis, opsetOf, scalarOf, typeOf } from './util.js';

function outputTypes(g: Graph): (ValueType | undefined)[] {
  return g.outputs.map((o) => o.type);
}

/** Stacks equally shaped tensors along a new axis 0. */
function stack(parts: Tensor[], fallback: ValueType | undefined): Tensor {
  if (parts.length === 0) {
    const shape = [0, ...(fallback?.shape ?? []).map((d) => (typeof d === 'number' ? d : 0))];
    return Tensor.zeros(fallback?.dtype ?? 'float32', shape);
  }
  return concat(parts.map((p) => p.reshape([1, ...p.shape])), 0);
}

const ifOp: OpSchema = {
  op: 'If',
  inputs: [{ name: 'cond' }],
  outputs: [{ name: 'outputs', variadic: true }],
  attrs: { then_branch: { type: 'graph', required: true }, else_branch: { type: 'graph', required: true } },
  infer: (ctx) => {
    const t = outputTypes(ctx.node.subgraph('then_branch'));
    const e = outputTypes(ctx.node.subgraph('else_branch'));
    // Branches may differ in shape; keep what both agree on.
    return t.map((a, i) => {
      const b = e[i];
      if (!a || !b) return a ?? b;
      if (!a.shape || !b.shape || a.shape.length !== b.shape.length) return { dtype: a.dtype };
      return { dtype: a.dtype, shape: a.shape.map((d, j) => (d === b.shape![j] ? d : null)) };
    });
  },
  kernel: ({ node, inputs, runGraph }) => {
    const cond = scalarOf(inputs[0], 0) !== 0;
    return runGraph(node.subgraph(cond ? 'then_branch' : 'else_branch'), new Map());
  },
  cost: () => ({ flops: 0 }),
};

const loopOp: OpSchema = {
  op: 'Loop',
  inputs: [{ name: 'M', optional: true }, { name: 'cond', optional: true }, { name: 'v_initial', variadic: true }],
  outputs: [{ name: 'v_final_and_scan_outputs', variadic: true }],
  attrs: { body: { type: 'graph', required: true } },
  infer: (ctx) => {
    const body = ctx.node.subgraph('body');
    const nCarried = ctx.node.inputs.length - 2;
    const outs = outputTypes(body);
    return ctx.node.outputs.map((_, i) => {
      if (i < nCarried) return ctx.inputs[i + 2] ?? outs[i + 1];
      const t = outs[i + 1];
      return t ? typeOf(t.dtype, t.shape ? [null, ...t.shape] : undefined) : undefined;
    });
  },
  kernel: ({ node, inputs, runGraph }) => {
    const body = node.subgraph('body');
    const maxTrip = inputs[0] && inputs[0].size > 0 ? scalarOf(inputs[0], 0) : Infinity;
    let cond = inputs[1] && inputs[1].size > 0 ? scalarOf(inputs[1], 1) !== 0 : true;
    let carried = inputs.slice(2) as Tensor[];
    const nCarried = carried.length;
    const nScan = body.outputs.length - 1 - nCarried;
    const scans: Tensor[][] = Array.from({ length: nScan }, () => []);
    const names = body.inputs.map((v) => v.name);
    for (let i = 0; i < maxTrip && cond; i++) {
      const feeds = new Map<string, Tensor>();
      if (names[0]) feeds.set(names[0], int64([i], []));
      if (names[1]) feeds.set(names[1], new Tensor('bool', [], new Uint8Array([cond ? 1 : 0])));
      carried.forEach((t, j) => { if (names[j + 2]) feeds.set(names[j + 2]!, t); });
      const outs = runGraph(body, feeds);
      cond = scalarOf(outs[0], 1) !== 0;
      carried = outs.slice(1, 1 + nCarried);
      for (let s = 0; s < nScan; s++) scans[s]!.push(outs[1 + nCarried + s]!);
    }
    const bodyTypes = outputTypes(body);
    return [...carried, ...scans.map((parts, s) => stack(parts, bodyTypes[1 + nCarried + s]))];
  },
  cost: () => ({ flops: 0 }),
};

const scanOp: OpSchema = {
  op: 'Scan',
  inputs: [{ name: 'initial_state_and_scan_inputs', variadic: true }],
  outputs: [{ name: 'final_state_and_scan_outputs', variadic: true }],
  attrs: {
    body: { type: 'graph', required: true }, num_scan_inputs: { type: 'int', required: true },
    scan_input_axes: { type: 'ints' }, scan_input_directions: { type: 'ints' },
    scan_output_axes: { type: 'ints' }, scan_output_directions: { type: 'ints' },
  },
  infer: (ctx) => {
    const body = ctx.node.subgraph('body');
    const nScanIn = ctx.node.int('num_scan_inputs');
    const nState = ctx.node.inputs.length - nScanIn;
    const outs = outputTypes(body);
    return ctx.node.outputs.map((_, i) => {
      if (i < nState) return ctx.inputs[i] ?? outs[i];
      const t = outs[i];
      return t ? typeOf(t.dtype, t.shape ? [null, ...t.shape] : undefined) : undefined;
    });
  },
  kernel: (ctx) => {
    if (opsetOf(ctx.node) < 9) return scan8(ctx);
    const { node, inputs, runGraph } = ctx;
    const body = node.subgraph('body');
    const nScanIn = node.int('num_scan_inputs');
    const nState = inputs.length - nScanIn;
    let state = inputs.slice(0, nState) as Tensor[];
    const scanIn = inputs.slice(nState) as Tensor[];
    const inAxes = node.attrs.has('scan_input_axes') ? node.ints('scan_input_axes') : scanIn.map(() => 0);
    const inDirs = node.attrs.has('scan_input_directions') ? node.ints('scan_input_directions') : scanIn.map(() => 0);
    const nScanOut = body.outputs.length - nState;
    const outAxes = node.attrs.has('scan_output_axes') ? node.ints('scan_output_axes') : new Array<number>(nScanOut).fill(0);
    const outDirs = node.attrs.has('scan_output_directions') ? node.ints('scan_output_directions') : new Array<number>(nScanOut).fill(0);
    const axes = scanIn.map((t, j) => normAxis(inAxes[j]!, t.rank));
    const T = scanIn.length > 0 ? scanIn[0]!.shape[axes[0]!]! : 0;
    const names = body.inputs.map((v) => v.name);
    const scans: Tensor[][] = Array.from({ length: nScanOut }, () => []);
    for (let t = 0; t < T; t++) {
      const feeds = new Map<string, Tensor>();
      state.forEach((s, j) => feeds.set(names[j]!, s));
      scanIn.forEach((x, j) => {
        const ax = axes[j]!;
        const at = inDirs[j] ? T - 1 - t : t;
        const sl = sliceTensor(x, [at], [at + 1], [ax]);
        feeds.set(names[nState + j]!, sl.reshape(x.shape.filter((_, i) => i !== ax)));
      });
      const outs = runGraph(body, feeds);
      state = outs.slice(0, nState);
      for (let s = 0; s < nScanOut; s++) scans[s]!.push(outs[nState + s]!);
    }
    const bodyTypes = outputTypes(body);
    const stacked = scans.map((parts, s) => {
      const seq = outDirs[s] ? [...parts].reverse() : parts;
      let y = stack(seq, bodyTypes[nState + s]);
      const ax = normAxis(outAxes[s]!, y.rank);
      if (ax !== 0) {
        const perm = Array.from({ length: y.rank }, (_, i) => i).slice(1);
        perm.splice(ax, 0, 0);
        y = transpose(y, perm);
      }
      return y;
    });
    return [...state, ...stacked];
  },
  cost: () => ({ flops: 0 }),
};

/** Scan-8: a leading optional sequence_lens input, and a batch axis 0 on every state and scan tensor. */
function scan8(ctx: KernelContext): Tensor[] {
  const { node, inputs, runGraph } = ctx;
  const body = node.subgraph('body');
  const nScanIn = node.int('num_scan_inputs');
  const rest = inputs.slice(1) as Tensor[];
  const nState = rest.length - nScanIn;
  const B = rest[0]!.shape[0]!;
  const dirs = node.attrs.has('directions') ? node.ints('directions') : new Array<number>(nScanIn).fill(0);
  const names = body.inputs.map((v) => v.name);
  const nScanOut = body.outputs.length - nState;
  const perBatch: Tensor[][] = Array.from({ length: nState + nScanOut }, () => []);
  const lens = inputs[0] ? intsOf(inputs[0]) : undefined;
  const row = (t: Tensor, b: number) => sliceTensor(t, [b], [b + 1], [0]).reshape(t.shape.slice(1));
  for (let b = 0; b < B; b++) {
    let state = rest.slice(0, nState).map((t) => row(t, b));
    const scanIn = rest.slice(nState).map((t) => row(t, b));
    const T = lens ? lens[b]! : scanIn[0]!.shape[0]!;
    const scans: Tensor[][] = Array.from({ length: nScanOut }, () => []);
    for (let t = 0; t < T; t++) {
      const feeds = new Map<string, Tensor>();
      state.forEach((s, j) => feeds.set(names[j]!, s));
      scanIn.forEach((x, j) => {
        const at = dirs[j] ? T - 1 - t : t;
        feeds.set(names[nState + j]!, row(x, at));
      });
      const outs = runGraph(body, feeds);
      state = outs.slice(0, nState);
      for (let s = 0; s < nScanOut; s++) scans[s]!.push(outs[nState + s]!);
    }
    state.forEach((s, j) => perBatch[j]!.push(s));
    scans.forEach((parts, s) => perBatch[nState + s]!.push(stack(parts, outputTypes(body)[nState + s])));
  }
  return perBatch.map((parts, j) => stack(parts, outputTypes(body)[j]));
}

export const controlOps: OpSchema[] = [ifOp, loopOp, scanOp];
