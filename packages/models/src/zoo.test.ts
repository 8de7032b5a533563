import { describe, expect, it } from 'vitest';
import { assertValid, Rng, standardOps, Tensor, type Graph } from '@tessera/core';
import { modelZoo, buildModel, type ModelConfigs, type ModelName } from './zoo.js';
import { randlaFeeds } from './randla.js';
import { interpretRunner } from './generate.js';

const runGraph = interpretRunner();

/** Small configs so every model runs through the reference interpreter in well under a second. */
const SMALL: { [K in ModelName]: Partial<ModelConfigs[K]> } = {
  mlp: { hidden: [32, 16] },
  lenet5: {},
  resnet8: { widths: [4, 8, 8] },
  resnet20: { widths: [4, 4, 8], imageSize: 12 },
  vit: { dim: 16, depth: 2, heads: 2, mlpDim: 32 },
  bert: { vocab: 20, seqLen: 8, maxLen: 16, dim: 16, depth: 2, heads: 2, mlpDim: 32 },
  gpt: { vocab: 20, context: 8, dim: 16, depth: 2, heads: 2, mlpDim: 32 },
  lstm: { steps: 5, features: 6, hidden: 8 },
  deeplabv3plus: {
    imageSize: 16, stem: 4, asppWidth: 8, lowLevelWidth: 4, decoderWidth: 8,
    stages: [{ blocks: 1, width: 4, stride: 1, expansion: 1 }, { blocks: 2, width: 6, stride: 2, expansion: 2 }, { blocks: 1, width: 8, stride: 2, expansion: 2 }],
  },
  randla: { widths: [4, 8], fc0: 4 },
};

/** A seeded batch of 2 for a model's inputs (token ids, images, point clouds with their index inputs). */
function feedsFor(name: ModelName, graph: Graph): Record<string, Tensor> {
  const rng = new Rng(7);
  const x = graph.inputs.find((v) => v.name === 'x')!;
  if (name === 'randla') {
    const P = 32;
    const pts = Tensor.from(Array.from({ length: 2 * P * 3 }, () => rng.uniform() * 2 - 1), [2, P, 3]);
    return randlaFeeds(pts, 2, { ratios: [4, 2], k: [6, 4] }, 1);
  }
  const shape = x.shape!.map((d) => (typeof d === 'number' ? d : 2));
  const size = shape.reduce((a, b) => a * b, 1);
  if (x.dtype === 'int64') {
    const vocab = (graph.meta.get('model') as { config: { vocab: number } }).config.vocab;
    return { x: Tensor.from(Array.from({ length: size }, () => 1 + rng.int(vocab - 1)), shape, 'int64') };
  }
  return { x: Tensor.from(Array.from({ length: size }, () => rng.uniform()), shape) };
}

describe('model zoo', () => {
  for (const name of Object.keys(modelZoo) as ModelName[]) {
    it(`${name}: verifies, has the documented logits shape, runs with finite outputs`, async () => {
      const entry = modelZoo[name] as (typeof modelZoo)[ModelName];
      const config = { ...entry.defaults, ...SMALL[name] } as never;
      const g = entry.build(config, { seed: 1 });
      assertValid(g, standardOps());
      const logits = g.outputs.find((v) => v.name === 'logits')!;
      expect(logits.shape).toEqual(entry.logitsShape(config));
      expect(g.inputs[0]!.name).toBe('x');
      // Learnable parameters have readable layer paths; every other float initializer is a marked constant.
      for (const p of g.parameters()) {
        if (p.meta.get('constant') === true) continue;
        expect(p.name).toMatch(/^([a-z_0-9]+\.)*(weight|bias|running_mean|running_var|weight_ih|weight_hh)$|^pos_embedding$/);
      }
      const feeds = feedsFor(name, g);
      const out = (await runGraph(g, feeds)).logits!;
      const concrete = entry.logitsShape(config).map((d) => (typeof d === 'number' ? d : d === 'N' ? 2 : 32));
      expect(out.shape).toEqual(concrete);
      expect(out.toFloat64().every(Number.isFinite)).toBe(true);
    });
  }

  it('builds the default configs (full size) and names parameters readably', () => {
    const lenet = buildModel('lenet5');
    expect([...lenet.initializers.keys()].filter((k) => k.includes('weight'))).toEqual(['conv1.weight', 'conv2.weight', 'fc1.weight', 'fc2.weight', 'fc3.weight']);
    expect(lenet.parameters().reduce((s, p) => s + p.initializer!.size, 0)).toBe(61706);
    const mlp = buildModel('mlp');
    expect(mlp.parameters().reduce((s, p) => s + p.initializer!.size, 0)).toBe(784 * 256 + 256 + 256 * 10 + 10);
    const r20 = buildModel('resnet20');
    expect(r20.initializers.has('layer3.2.conv2.weight')).toBe(true);
    expect(r20.initializers.has('layer2.0.shortcut.bn.running_var')).toBe(true);
    const vit = buildModel('vit');
    expect(vit.initializers.get('pos_embedding')!.initializer!.shape).toEqual([17, 64]);
    expect(() => buildModel('resnet8', { depth: 9 })).toThrow("resnet config: 'depth' must be 6n + 2 (8, 14, 20, ...), got 9");
    expect(() => buildModel('mlp', { hiden: [3] } as never)).toThrow("mlp config: unknown field 'hiden'");
    expect(() => buildModel('nope' as ModelName)).toThrow(/unknown model 'nope': expected one of mlp, lenet5/);
  });
});
