import { describe, expect, it } from 'vitest';
import { Graph } from '../graph.js';
import { GraphBuilder } from '../builder.js';
import { Tensor } from '../tensor.js';
import { standardOps } from '../ops/index.js';
import { analyzeMemory, computeCost, countParameters } from './index.js';

const registry = standardOps();

/** x[N,4] -> MatMul w1[4,8] -> Relu -> MatMul w2[8,2] (+ b2) -> y */
function mlp() {
  const b = new GraphBuilder(new Graph('mlp'), registry);
  const x = b.input('x', 'float32', ['N', 4]);
  const w1 = b.param('w1', Tensor.zeros('float32', [4, 8]));
  const w2 = b.param('w2', Tensor.zeros('float32', [8, 2]));
  const b2 = b.param('b2', Tensor.zeros('float32', [2]));
  const h = b.op('Relu', [b.op('MatMul', [x, w1], {}, { name: 'fc1' })], {}, { name: 'act' });
  const y = b.op('Add', [b.op('MatMul', [h, w2], {}, { name: 'fc2' }), b2], {}, { name: 'bias' });
  b.output(y, 'y');
  return { g: b.graph, w1 };
}

describe('countParameters', () => {
  it('counts float initializers and separates frozen ones', () => {
    const { g, w1 } = mlp();
    g.addInitializer('steps', Tensor.from([1], [1], 'int64'));
    w1.meta.set('frozen', true);
    const p = countParameters(g);
    expect(p.total).toBe(32 + 16 + 2);
    expect(p.trainable).toBe(18);
    expect(p.frozen).toBe(32);
    expect(p.parameters.map((e) => e.name)).toEqual(['w1', 'w2', 'b2']);
  });
});

describe('computeCost', () => {
  it('MACs, FLOPs and BOPs per node from the registry cost rules, batch bound', () => {
    const r = computeCost(mlp().g, { registry, bindings: { N: 5 } });
    const byNode = Object.fromEntries(r.nodes.map((n) => [n.node, n]));
    expect(byNode.fc1!.macs).toBe(5 * 8 * 4);
    expect(byNode.fc2!.macs).toBe(5 * 2 * 8);
    expect(byNode.act!.flops).toBe(5 * 8);
    expect(byNode.bias!.flops).toBe(5 * 2);
    expect(r.total.macs).toBe(160 + 80);
    expect(r.total.bops).toBe(240 * 32 * 32);
    expect(r.uncosted).toEqual([]);
  });

  it('counts BOPs by number-format bits', () => {
    const { g, w1 } = mlp();
    w1.format = { id: 'int<4,sym>', bits: 4 };
    g.inputs[0]!.format = { id: 'int<8,asym>', bits: 8 };
    const r = computeCost(g, { registry, bindings: { N: 1 } });
    expect(r.nodes[0]!.bops).toBe(32 * 4 * 8);
  });

  it('refuses symbolic shapes without bindings, naming the node and the symbol', () => {
    expect(() => computeCost(mlp().g, { registry })).toThrow('node "fc1" (MatMul): %x has shape [N, 4]; cost needs concrete shapes: pass bindings such as { N: 1 } or run ShapeInferencePass');
  });
});

describe('analyzeMemory', () => {
  it('live ranges over the node order and the peak, by hand', () => {
    const r = analyzeMemory(mlp().g, { bindings: { N: 10 } });
    // bytes: x 10*4*4=160, fc1 10*8*4=320, act 320, fc2 10*2*4=80, y 80
    expect(r.ranges.map(({ bytes, start, end }) => [bytes, start, end])).toEqual([
      [160, -1, 0], // x
      [320, 0, 1], // fc1
      [320, 1, 2], // act
      [80, 2, 3], // fc2
      [80, 3, 4], // y (graph output: to the end)
    ]);
    expect(r.ranges[4]!.value).toBe('y');
    expect(r.timeline).toEqual([480, 640, 400, 160]);
    expect(r.peakBytes).toBe(640);
    expect(r.peakNode).toBe('act');
    expect(r.weightBytes).toBe((32 + 16 + 2) * 4);
    expect(r.totalPeakBytes).toBe(640 + 200);
  });

  it('names the value and symbol when a batch binding is missing', () => {
    expect(() => analyzeMemory(mlp().g)).toThrow("value %x has symbolic dimension 'N': pass bindings such as { N: 1 }");
  });
});
