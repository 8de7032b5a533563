import { describe, expect, it } from 'vitest';
import { GraphBuilder } from './builder.js';
import './builder-ops.js';
import { Graph } from './graph.js';
import { interpret, InterpretError } from './interpreter.js';
import { standardOps } from './ops/index.js';
import { Tensor } from './tensor.js';

function mlp() {
  const b = new GraphBuilder(new Graph('mlp'));
  const x = b.input('x', 'float32', ['N', 2]);
  const w = b.param('w', Tensor.from([1, 2, 3, 4], [2, 2]));
  const h = b.relu(b.matmul(x, w, { name: 'mm' }), { name: 'act' });
  b.output(b.add(h, b.constant(1), { name: 'bias' }), 'y');
  return { graph: b.graph, mm: h.producer!.inputs[0]!.name };
}

describe('interpret', () => {
  it('runs nodes in order and returns outputs by name', () => {
    const { graph } = mlp();
    const y = interpret(graph, { x: Tensor.from([1, 1, -1, -1], [2, 2]) }).y!;
    expect(y.toNumbers()).toEqual([5, 7, 1, 1]);
  });

  it('fetches intermediates when asked', () => {
    const { graph, mm } = mlp();
    const out = interpret(graph, { x: Tensor.from([1, 1, -1, -1], [2, 2]) }, { fetches: [mm, 'y'] });
    expect(out[mm]!.toNumbers()).toEqual([4, 6, -4, -6]);
    expect(Object.keys(out)).toEqual([mm, 'y']);
    expect(() => interpret(graph, { x: Tensor.zeros('float32', [1, 2]) }, { fetches: ['nope'] })).toThrow(/fetch 'nope' is not a value/);
  });

  it('rejects a feed that does not match the declared input type, naming the input', () => {
    const { graph } = mlp();
    expect(() => interpret(graph, { x: Tensor.zeros('float32', [2, 3]) })).toThrow(
      "graph \"mlp\": input 'x' expects float32[N, 2], got float32[2, 3] (dim 1 is 3, expected 2)",
    );
    expect(() => interpret(graph, { x: Tensor.zeros('float64', [2, 2]) })).toThrow(/input 'x' expects float32\[N, 2\], got float64/);
    expect(() => interpret(graph, {})).toThrow(/input 'x' is not fed/);
  });

  it('wraps kernel failures in one line naming the node and op', () => {
    const b = new GraphBuilder(new Graph('g'));
    const x = b.input('x', 'float32', [null, null, null, null]);
    const w = b.param('w', Tensor.zeros('float32', [2, 1, 3, 3]));
    b.output(b.conv(x, w, null, {}, { name: 'conv1' }), 'y');
    let err: unknown;
    try {
      interpret(b.graph, { x: Tensor.zeros('float32', [1, 3, 5, 5]) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InterpretError);
    expect((err as Error).message).toBe('Conv "conv1": input X has 3 channels, W expects 1');
    expect((err as Error).message).not.toContain('\n');
  });

  it('selects kernel variants per node and names valid variants for an unknown one', () => {
    const reg = standardOps().extend();
    reg.augment('Relu', { variants: { clamp6: ({ inputs }) => [Tensor.from(inputs[0]!.toNumbers().map((v) => Math.min(6, Math.max(0, v))), inputs[0]!.shape)] } });
    const b = new GraphBuilder(new Graph('v'), reg);
    const x = b.input('x', 'float32', [2]);
    const r = b.relu(x, { name: 'r' });
    b.output(r, 'y');
    const feeds = { x: Tensor.from([-1, 10], [2]) };
    expect(interpret(b.graph, feeds, { registry: reg }).y!.toNumbers()).toEqual([0, 10]);
    r.producer!.meta.set('kernel', 'clamp6');
    expect(interpret(b.graph, feeds, { registry: reg }).y!.toNumbers()).toEqual([0, 6]);
    r.producer!.meta.set('kernel', 'fast');
    expect(() => interpret(b.graph, feeds, { registry: reg })).toThrow(`Relu "r": kernel variant 'fast' is not defined; valid variants: clamp6`);
  });

  it('reports unknown ops with the node name', () => {
    const g = new Graph('u');
    const x = g.addInput('x', { dtype: 'float32', shape: [1] });
    const n = g.addNode({ op: 'NoSuchOp', name: 'mystery', inputs: [x] });
    g.addOutput(n.output());
    expect(() => interpret(g, { x: Tensor.zeros('float32', [1]) })).toThrow(/NoSuchOp "mystery": unknown op NoSuchOp/);
  });

  it('runs If and Loop bodies that read outer values by name', () => {
    const b = new GraphBuilder(new Graph('outer'));
    const x = b.input('x', 'float32', [2]);
    const flag = b.input('flag', 'bool', []);
    const scale = b.constant(Tensor.from([10, 10], [2]), 'float32', 'scale');

    const thenB = new GraphBuilder(new Graph('then'));
    thenB.graph.parent = b.graph;
    thenB.output(thenB.mul(x, scale), 't_out');
    const elseB = new GraphBuilder(new Graph('else'));
    elseB.graph.parent = b.graph;
    elseB.output(elseB.neg(x), 'e_out');
    const iff = b.op('If', [flag], { then_branch: thenB.graph, else_branch: elseB.graph });

    // Loop: acc += x, three times; also emits acc as a scan output each iteration.
    const body = new GraphBuilder(new Graph('body'));
    body.graph.parent = b.graph;
    body.input('i', 'int64', []);
    const cond = body.input('cond_in', 'bool', []);
    const acc = body.input('acc', 'float32', [2]);
    body.output(body.identity(cond), 'cond_out');
    const next = body.add(acc, x);
    body.output(next, 'acc_out');
    body.output(body.identity(next), 'scan_out');
    const [fin, scan] = b.opMulti('Loop', [b.constant(Tensor.from([3], [], 'int64'), 'int64', 'M'), null, b.constant(Tensor.zeros('float32', [2]), 'float32', 'acc0')], { body: body.graph }, { outputs: 2 });
    b.output(iff, 'if_out');
    b.output(fin!, 'loop_out');
    b.output(scan!, 'scan_out_all');
    const xs = Tensor.from([1, 2], [2]);
    const on = interpret(b.graph, { x: xs, flag: Tensor.from([1], [], 'bool') });
    expect(on.if_out!.toNumbers()).toEqual([10, 20]);
    expect(on.loop_out!.toNumbers()).toEqual([3, 6]);
    expect(on.scan_out_all!.shape).toEqual([3, 2]);
    expect(on.scan_out_all!.toNumbers()).toEqual([1, 2, 2, 4, 3, 6]);
    const off = interpret(b.graph, { x: xs, flag: Tensor.from([0], [], 'bool') });
    expect(off.if_out!.toNumbers()).toEqual([-1, -2]);
  });
});

describe('interpret after in-place edits', () => {
  it('recomputes its plan when the graph changes', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [2]);
    const y = b.op('Relu', [x]);
    b.output(y, 'y');
    const feeds = { x: Tensor.from([-1, 2], [2]) };
    expect([...interpret(b.graph, feeds).y!.toFloat64()]).toEqual([0, 2]);
    // Insert Neg between x and Relu in place, then run the same graph object again.
    const relu = y.producer!;
    b.insertionPoint = relu;
    const neg = b.op('Neg', [x]);
    relu.setInput(0, neg);
    expect([...interpret(b.graph, feeds).y!.toFloat64()]).toEqual([1, 0]);
  });
});

describe('in-place reuse of dying intermediates (donation)', () => {
  it('overwrites only fresh, unshared intermediates: feeds, constants, fetches and fan-out survive', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [4]);
    const c = b.op('Constant', [], { value: Tensor.from([1, -1, 2, -2], [4]) });
    const r0 = b.op('Relu', [x]); // x is a feed: never written
    const r1 = b.op('Relu', [c]); // a Constant's attribute: never written
    const s = b.op('Add', [r0, r1]); // r0 and r1 die here: one may be reused
    const n = b.op('Neg', [s]); // s is still used below (fan-out): not donated here
    const m = b.op('Mul', [s, n]);
    const shaped = b.op('Reshape', [m, b.ints([2, 2])]); // shares m's buffer
    const out = b.op('Relu', [b.op('Abs', [shaped])]);
    b.output(out, 'y');
    const feeds = { x: Tensor.from([-3, 3, -4, 4], [4]) };
    const first = interpret(b.graph, feeds);
    expect(first.y!.toNumbers()).toEqual([1, 9, 4, 16]);
    expect(feeds.x.toNumbers()).toEqual([-3, 3, -4, 4]);
    expect(c.producer!.tensor('value')!.toNumbers()).toEqual([1, -1, 2, -2]);
    // Same graph again (constants intact) and with an intermediate fetched (kept, not overwritten).
    expect(interpret(b.graph, feeds).y!.toNumbers()).toEqual([1, 9, 4, 16]);
    const fetched = interpret(b.graph, feeds, { fetches: [s.name, 'y'] });
    expect(fetched[s.name]!.toNumbers()).toEqual([1, 3, 2, 4]);
  });

  it('reuses a dying conv output for the following Relu (same buffer) and gives the same numbers', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [1, 1, 3, 3]);
    const conv = b.op('Conv', [x, b.param('w', Tensor.from([1, -1, -1, 1], [1, 1, 2, 2]))]);
    const relu = b.op('Relu', [conv]);
    b.output(relu, 'y');
    const feeds = { x: Tensor.from([1, 5, 2, 7, 3, 9, 4, 8, 6], [1, 1, 3, 3]) };
    const all = interpret(b.graph, feeds, { fetches: [conv.name, 'y'] });
    // A spy variant of Relu sees what the interpreter donates.
    const seen: { donated: boolean; sameBuffer: boolean }[] = [];
    const std = standardOps().get('Relu')!;
    const registry = standardOps().extend().augment('Relu', {
      variants: {
        spy: (ctx) => {
          const [out] = std.kernel(ctx);
          seen.push({ donated: ctx.donated?.has(ctx.inputs[0]!) ?? false, sameBuffer: out!.data === ctx.inputs[0]!.data });
          return [out!];
        },
      },
    });
    relu.producer!.meta.set('kernel', 'spy');
    const y = interpret(b.graph, feeds, { registry }).y!;
    expect(seen).toEqual([{ donated: true, sameBuffer: true }]);
    interpret(b.graph, feeds, { registry, fetches: [conv.name, 'y'] });
    expect(seen[1]).toEqual({ donated: false, sameBuffer: false });
    expect(y.toNumbers()).toEqual(all.y!.toNumbers());
    expect(all[conv.name]!.toNumbers()).toEqual([-8, 9, 8, -8]);
    expect(y.toNumbers()).toEqual([0, 9, 8, 0]);
  });
  it('never overwrites a value that a plugin kernel has seen (it may have kept it)', () => {
    const kept: Tensor[] = [];
    const registry = standardOps().extend().register({
      op: 'Observe', domain: 'test', inputs: [{ name: 'x' }], outputs: [{ name: 'y' }],
      infer: (ctx) => [ctx.inputs[0]],
      kernel: ({ inputs }) => { kept.push(inputs[0]!); return [Tensor.from([0], [1])]; },
    });
    const b = new GraphBuilder(undefined, registry);
    const x = b.input('x', 'float32', [3]);
    const n = b.op('Neg', [x]);
    b.op('Observe', [n], {}, { domain: 'test' });
    b.output(b.op('Relu', [n]), 'y'); // n dies here; without the plugin it would be reused in place
    const y = interpret(b.graph, { x: Tensor.from([1, -2, 3], [3]) }, { registry }).y!;
    expect(y.toNumbers()).toEqual([0, 2, 0]);
    expect(kept[0]!.toNumbers()).toEqual([-1, 2, -3]);
  });
  it('recycles dead intermediates\' buffers across nodes and runs without leaking stale values', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [64, 128]);
    const h1 = b.op('Relu', [b.op('MatMul', [x, b.param('w1', Tensor.from(Array.from({ length: 128 * 128 }, (_, i) => ((i * 7919) % 13) / 13 - 0.5), [128, 128]))])]);
    const h2 = b.op('Softmax', [b.op('Transpose', [h1])]);
    const h3 = b.op('MaxPool', [b.op('Reshape', [h2, b.ints([1, 1, 128, 64])])], { kernel_shape: [2, 2], strides: [2, 2] });
    b.output(b.op('Add', [h3, h3]), 'y');
    const feed = (s: number) => ({ x: Tensor.from(Array.from({ length: 64 * 128 }, (_, i) => Math.sin(i * s)), [64, 128]) });
    const seen = new Set<ArrayBufferLike>();
    const runs = [1, 2, 1, 2].map((s) => {
      const y = interpret(b.graph, feed(s)).y!;
      seen.add((y.data as Float32Array).buffer);
      return y.toNumbers();
    });
    expect(runs[2]).toEqual(runs[0]);
    expect(runs[3]).toEqual(runs[1]);
    expect(runs[0]).not.toEqual(runs[1]);
    expect(seen.size).toBe(4); // outputs handed to the caller are never recycled
    const fresh = interpret(b.graph.clone(), feed(2)).y!.toNumbers();
    expect(fresh).toEqual(runs[1]);
  });
});
