import { Graph, GraphBuilder, Tensor, standardOps } from '@tessera/core';
import { afterAll, describe, expect, it } from 'vitest';
import { tensorMismatch } from './compare.js';
import { BACKENDS, createExecutor, graphKey, type BackendName, type Results } from './index.js';
import { lenet, transformer } from './sample-models.js';

const executors = Object.fromEntries(BACKENDS.map((b) => [b, createExecutor(b)])) as Record<BackendName, ReturnType<typeof createExecutor>>;
afterAll(async () => { for (const e of Object.values(executors)) await e.dispose(); });

async function runAll(graph: Graph, feeds: Record<string, Tensor>): Promise<Record<BackendName, Results>> {
  const out = {} as Record<BackendName, Results>;
  for (const b of BACKENDS) out[b] = await executors[b].run(graph, feeds);
  return out;
}

describe('the three backends agree on graphs built with GraphBuilder', () => {
  it.each([
    ['LeNet-5, batch 2', () => lenet(2, 7)],
    ['2-layer transformer, batch 2, seq 8, dim 32', () => transformer({ batch: 2, seq: 8, dim: 32, heads: 4, layers: 2 }, 7)],
  ])('%s', async (_, make) => {
    const { graph, feeds } = make();
    const r = await runAll(graph, feeds);
    const name = graph.outputs[0]!.name;
    for (const b of ['ort-node', 'ort-web'] as const) expect(tensorMismatch(r[b][name]!, r.reference[name]!, { rtol: 1e-4, atol: 1e-5 }), b).toBeUndefined();
  });
});

describe('reference backend', () => {
  it('honours per-node kernel variants from its registry, and the variant is part of the session key', async () => {
    const registry = standardOps().extend().augment('Relu', {
      variants: {
        leaky: ({ inputs }) => {
          const x = inputs[0]!;
          return [Tensor.from(Array.from(x.toFloat64(), (v) => (v > 0 ? v : v / 8)), x.shape, x.dtype)];
        },
      },
    });
    const b = new GraphBuilder(new Graph('v'), registry);
    const x = b.input('x', 'float32', [4]);
    const y = b.output(b.op('Relu', [x], {}, { name: 'act' }), 'y');
    const feeds = { x: Tensor.from([-8, -1, 0, 2], [4]) };
    const ex = createExecutor('reference', { registry });
    expect([...(await ex.run(b.graph, feeds)).y!.data]).toEqual([0, 0, 0, 2]);
    const plainKey = graphKey(b.graph);
    y.producer!.meta.set('kernel', 'leaky');
    expect(graphKey(b.graph)).not.toBe(plainKey);
    expect([...(await ex.run(b.graph, feeds)).y!.data]).toEqual([-1, -0.125, 0, 2]);
    await ex.dispose();
  });

  it('every backend fetches intermediate values; unknown ops and missing feeds are one line unknown ops and missing feeds in one line', async () => {
    const { graph, feeds } = lenet(1, 3);
    const conv1 = graph.nodes.find((n) => n.name === 'conv1')!.output().name;
    for (const b of BACKENDS) {
      const r = await executors[b].run(graph, feeds, [conv1, 'logits']);
      expect(r[conv1]!.shape).toEqual([1, 6, 28, 28]);
    }
    const g = new Graph('u');
    const a = g.addInput('a', { dtype: 'float32', shape: [1] });
    g.addOutput(g.addNode({ op: 'FooOp', name: 'x', inputs: [a], outputs: ['b'] }).output());
    await expect(executors.reference.session(g)).rejects.toThrow('reference: node "x" (FooOp): unknown op; not in the op registry');
    await expect(executors.reference.run(graph, {})).rejects.toThrow(`reference: graph "lenet" input 'x' is not fed (feeds: none)`);
  });

  it('sessions are reused across runs (one hash per session() call, no per-run planning)', async () => {
    const { graph, feeds } = lenet(1, 3);
    const ex = executors['ort-node'];
    const s = await ex.session(graph);
    const first = (await s.run(feeds)).logits!;
    for (let i = 0; i < 3; i++) expect([...(await s.run(feeds)).logits!.data]).toEqual([...first.data]);
    expect(await ex.session(graph)).toBe(s);
  });
});
