import { Graph, GraphBuilder, Rng, Tensor, standardOps } from '@tessera/core';
import { createExecutor } from '@tessera/runtime';
import { describe, expect, it } from 'vitest';
import { compareBackends, compareGraphs, expectBackendsAgree, formatMismatches } from './index.js';

/** A small conv net built through the registry, seeded. */
function convNet(act = 'Relu'): { graph: Graph; feeds: Record<string, Tensor> } {
  const rng = new Rng(11);
  const rand = (shape: number[]) => Tensor.from(Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  const b = new GraphBuilder();
  b.graph.name = 'convnet';
  const x = b.input('x', 'float32', [2, 3, 8, 8]);
  const h = b.op(act, [b.op('Conv', [x, b.param('w', rand([4, 3, 3, 3])), b.param('b', rand([4]))], { pads: [1, 1, 1, 1] })]);
  const p = b.op('GlobalAveragePool', [h]);
  b.output(b.op('Softmax', [b.op('Flatten', [p], { axis: 1 })], { axis: -1 }), 'y');
  return { graph: b.graph, feeds: { x: rand([2, 3, 8, 8]) } };
}

describe('compareBackends', () => {
  it('reference, onnxruntime-node and onnxruntime-web agree on a conv net', async () => {
    const { graph, feeds } = convNet();
    const r = await expectBackendsAgree(graph, feeds);
    expect(r.ok).toBe(true);
    expect(Object.keys(r.results)).toEqual(['reference', 'ort-node', 'ort-web']);
    expect(r.results.reference!.y!.shape).toEqual([2, 4]);
  });

  it('reports a disagreement in one line per output (a kernel variant the onnxruntime backends do not have)', async () => {
    const { graph, feeds } = convNet();
    const registry = standardOps().extend().augment('Relu', {
      variants: { zero: ({ inputs }) => [Tensor.zeros(inputs[0]!.dtype, inputs[0]!.shape)] },
    });
    graph.nodes.find((n) => n.op === 'Relu')!.meta.set('kernel', 'zero');
    const r = await compareBackends(graph, feeds, { registry, backends: ['reference', 'ort-node'] });
    expect(r.ok).toBe(false);
    expect(r.mismatches).toHaveLength(1);
    expect(formatMismatches(r.mismatches)).toMatch(/^ort-node vs reference, output 'y': \d+ of 8 elements differ; worst at \d+: \S+, expected \S+ \(rtol 0\.0001, atol 0\.00001\)$/);
    await expect(expectBackendsAgree(graph, feeds, { registry, backends: ['reference', 'ort-node'] })).rejects.toThrow(/^graph "convnet": backends disagree: ort-node vs reference, output 'y'/);
  });

  it('needs two backends', async () => {
    const { graph, feeds } = convNet();
    await expect(compareBackends(graph, feeds, { backends: ['ort-node'] })).rejects.toThrow('compareBackends: give at least two backends (got ort-node)');
  });
});

describe('compareGraphs', () => {
  it('a rewrite that keeps the numbers passes; one that changes them is reported', async () => {
    const a = convNet().graph;
    const { feeds } = convNet();
    // Relu(x) == Max(x, 0): an equivalent rewrite.
    const b = a.clone();
    b.name = 'rewritten';
    const relu = b.nodes.find((n) => n.op === 'Relu')!;
    const builder = new GraphBuilder(b);
    builder.insertionPoint = relu;
    const max = builder.op('Max', [relu.inputs[0]!, builder.constant(0)]);
    relu.output().replaceAllUsesWith(max);
    b.removeNode(relu, { safe: true });
    const ex = createExecutor('ort-node');
    expect((await compareGraphs(a, b, feeds, { executor: ex })).ok).toBe(true);
    expect((await compareGraphs(a, b, feeds)).ok).toBe(true);
    const c = convNet('Sigmoid').graph;
    c.name = 'sigmoid';
    const r = await compareGraphs(a, c, feeds, { executor: ex });
    expect(r.ok).toBe(false);
    expect(r.mismatches[0]).toMatchObject({ actual: 'graph "sigmoid"', expected: 'graph "convnet"', output: 'y' });
    await ex.dispose();
  });
});
