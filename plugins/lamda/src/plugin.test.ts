import { buildBert } from '@tessera/models';
import { checkPluginApi } from '@tessera/pipeline';
import { describe, expect, it } from 'vitest';
import plugin, { LamdaFinetuneOptions, LamdaInsertOptions, LoraInsertOptions, findAdapters } from './index.js';

describe('@tessera/plugin-lamda plugin object', () => {
  it('loads against this core API and contributes its steps and dataset', () => {
    expect(() => checkPluginApi(plugin)).not.toThrow();
    expect(plugin.passes.map((p) => p.name)).toEqual(['lamda-insert', 'lora-insert', 'adapter-merge']);
    expect(plugin.procedures.map((p) => p.name)).toEqual(['lamda-finetune']);
    expect(plugin.datasets.map((d) => d.name)).toEqual(['acceptability']);
  });

  it('fills in the spec defaults (every [R] choice is an option)', () => {
    expect(LamdaInsertOptions.parse({})).toEqual({
      rank: 8, alpha: 16, dropout: 0.1, targets: ['q', 'k', 'v', 'o', 'ffn-in', 'ffn-out'], blocks: null, seed: 0, init: 'svd-principal', rankAllocation: { kind: 'uniform' },
    });
    expect(LamdaInsertOptions.parse({ rankAllocation: { kind: 'spectral-energy' } }).rankAllocation).toEqual({ kind: 'spectral-energy', budget: null, rMin: 2, rMax: 32, invert: false });
    expect(LoraInsertOptions.parse({}).rank).toBe(8);
    expect(LamdaFinetuneOptions.parse({})).toEqual({
      steps: 200, batchSize: 32, lr: 1e-3, weightDecay: 0.1, warmupFraction: 0.03, freezeEndFraction: 0.3, freezeOrder: 'largest-first', freezeMode: 'rows',
      alsoTrain: '^(pre_classifier|classifier)\\.', seed: null,
    });
    expect(LamdaInsertOptions.safeParse({ init: 'random' }).success).toBe(false);
    expect(LamdaFinetuneOptions.safeParse({ alsoTrain: '(' }).error?.issues[0]?.path).toEqual(['alsoTrain']);
  });

  it('the passes run without a pipeline context beyond what they read', async () => {
    const ctx = { registry: undefined, record: () => {}, logger: { info: () => {}, warn: () => {} } } as never;
    const g = buildBert({ vocab: 161, dim: 32, depth: 1, heads: 2, mlpDim: 64 });
    const adapted = await plugin.passes[0]!.run(g, LamdaInsertOptions.parse({ targets: ['q', 'v'] }), ctx);
    expect(findAdapters(adapted).map((l) => l.name)).toEqual(['blocks.0.attn.q', 'blocks.0.attn.v']);
    const merged = await plugin.passes[2]!.run(adapted, {}, ctx);
    expect(findAdapters(merged)).toEqual([]);
    await expect(Promise.resolve().then(() => plugin.passes[2]!.run(g, {}, ctx))).rejects.toThrow(/adapter-merge: graph "bert" has no adapters/);
  });
});
