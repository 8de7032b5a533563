import { Graph, Tensor } from '@tessera/core';
import { checkPluginApi } from '@tessera/pipeline';
import { describe, expect, it } from 'vitest';
import plugin, { pruneSmallWeights } from './index.js';

function tinyGraph(): Graph {
  const g = new Graph('tiny');
  const x = g.addInput('x', { dtype: 'float32', shape: [1, 4] });
  const w = g.addInitializer('w', Tensor.from([0.5, -0.001, 0.02, -0.3, 0.004, 0.9, -0.05, 0.0001], [4, 2], 'float32'));
  g.addOutput(g.addNode({ op: 'MatMul', inputs: [x, w] }).output());
  return g;
}

describe('@tessera/plugin-vit-nonlinear', () => {
  it('loads against this core API', () => {
    expect(() => checkPluginApi(plugin)).not.toThrow();
    expect(plugin.passes.map((p) => p.name)).toEqual(['vit-nonlinear-prune']);
  });

  it('zeroes exactly the weights below the threshold', () => {
    const g = tinyGraph();
    expect(pruneSmallWeights(g, 0.01)).toBe(3 / 8);
    expect(Array.from(g.initializers.get('w')!.initializer!.toFloat64(), (v) => Math.round(v * 1e4) / 1e4)).toEqual([0.5, 0, 0.02, -0.3, 0, 0.9, -0.05, 0]);
  });

  it('fills in option defaults', () => {
    expect(plugin.passes[0]!.options.parse({})).toEqual({ threshold: 0.01 });
  });
});
