import { describe, expect, it } from 'vitest';
import { Graph } from './graph.js';
import { GraphBuilder } from './builder.js';
import { Tensor } from './tensor.js';
import { standardOps } from './ops/index.js';
import { computeCost } from './analysis/compute.js';
import { defineTarget, formatOf } from './target.js';

const registry = standardOps();

/** A toy target: 1 ns per MAC, 0.5 ns per other FLOP; float32 and int<8,sym> only. */
const toy = defineTarget<Map<string, { macs: number; flops: number }>>({
  id: 'toy',
  description: 'toy latency model',
  supportedOps: new Set(['MatMul', 'Relu', 'Add']),
  supportedFormats: new Set(['float32', 'int<8,sym>']),
  units: { latency: 'ns' },
  assumptions: ['1 ns per MAC, 0.5 ns per FLOP'],
  prepare: (g) => new Map(computeCost(g, { registry }).nodes.map((n) => [n.node, n])),
  nodeCost: (n, c) => ({ metrics: { latency: c.get(n.name)!.macs + 0.5 * c.get(n.name)!.flops } }),
});

function graph() {
  const b = new GraphBuilder(new Graph('t'), registry);
  const x = b.input('x', 'float32', ['N', 3]);
  const w = b.param('w', Tensor.zeros('float32', [3, 2]));
  const h = b.op('MatMul', [x, w], {}, { name: 'fc' });
  b.output(b.op('Relu', [h], {}, { name: 'act' }), 'y');
  return { b, g: b.graph, w };
}

describe('Target via defineTarget', () => {
  it('costs per node and in total with units, estimated', () => {
    const r = toy.cost(graph().g, { bindings: { N: 2 } });
    expect(r.perNode.map((e) => [e.node, e.metrics.latency])).toEqual([['fc', 12], ['act', 2]]);
    expect(r.total).toEqual({ latency: 14 });
    expect(r.units).toEqual({ latency: 'ns' });
    expect(r.estimated).toBe(true);
    expect(r.perNode.every((e) => e.estimated)).toBe(true);
  });

  it('check lists unsupported ops and formats naming the node; cost refuses such graphs', () => {
    const { b, g, w } = graph();
    w.format = { id: 'posit<8,2>', bits: 8 };
    b.output(b.op('Sigmoid', [g.outputs[0]!], {}, { name: 'sig' }));
    expect(formatOf(w)).toBe('posit<8,2>');
    expect(toy.check(g).map((d) => d.message)).toEqual([
      'node "fc" (MatMul): input 1 %w has format posit<8,2>, not supported by target toy (supported: float32, int<8,sym>)',
      'node "sig" (Sigmoid): op Sigmoid is not supported by target toy (supported: Add, MatMul, Relu)',
    ]);
    expect(() => toy.cost(g, { bindings: { N: 1 } })).toThrow(
      'target toy: node "fc" (MatMul): input 1 %w has format posit<8,2>, not supported by target toy (supported: float32, int<8,sym>) (and 1 more; target.check lists them)',
    );
  });
});
