import { describe, expect, it } from 'vitest';
import { Rng, Tensor } from '@tessera/core';
import { generate, interpretRunner } from './generate.js';
import { buildLeNet5 } from './lenet.js';
import { buildLstm, type LstmStates } from './lstm.js';
import { buildMlp } from './mlp.js';
import { buildRandLANet, randlaFeeds } from './randla.js';
import { buildBert, buildGpt } from './transformer.js';
import type { BatchNormStat } from './layers.js';

const run = interpretRunner();
const weights = (g: ReturnType<typeof buildMlp>, name: string) => [...(g.initializers.get(name)!.initializer!.data as Float32Array)];

describe('initialisation', () => {
  it('is seeded, and a parameter does not depend on the other layers', () => {
    const a = buildMlp({ hidden: [64] }, { seed: 3 });
    const b = buildMlp({ hidden: [64] }, { seed: 3 });
    const c = buildMlp({ hidden: [64] }, { seed: 4 });
    const deeper = buildMlp({ hidden: [64, 32] }, { seed: 3 });
    expect(weights(a, 'fc1.weight')).toEqual(weights(b, 'fc1.weight'));
    expect(weights(a, 'fc1.weight')).not.toEqual(weights(c, 'fc1.weight'));
    expect(weights(deeper, 'fc1.weight')).toEqual(weights(a, 'fc1.weight'));
  });

  it('Kaiming-normal weights have std sqrt(2 / fanIn); biases start at zero', () => {
    const w = weights(buildMlp({ hidden: [256] }, { seed: 1 }), 'fc1.weight');
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
    expect(Math.abs(std / Math.sqrt(2 / 784) - 1)).toBeLessThan(0.01);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(weights(buildMlp(), 'fc1.bias').every((v) => v === 0)).toBe(true);
  });
});

describe('BatchNorm forms', () => {
  it("'batch-stats' keeps the parameter names, lists its statistics, and normalises with the batch's own statistics", async () => {
    const inf = buildLeNet5({ batchNorm: true }, { seed: 2 });
    const train = buildLeNet5({ batchNorm: true }, { seed: 2, batchNorm: 'batch-stats' });
    const params = (g: typeof inf) => [...g.initializers.keys()].filter((k) => /\.(weight|bias|running_mean|running_var)$/.test(k)).sort();
    expect(params(train)).toEqual(params(inf));
    expect(params(inf)).toHaveLength(16);
    expect(inf.nodes.filter((n) => n.op === 'BatchNormalization')).toHaveLength(2);
    expect(train.nodes.filter((n) => n.op === 'BatchNormalization')).toHaveLength(0);
    const stats = train.meta.get('batchNormStats') as BatchNormStat[];
    expect(stats.map((s) => s.layer)).toEqual(['bn1', 'bn2']);
    const rng = new Rng(5);
    const x = Tensor.from(Array.from({ length: 4 * 784 }, () => rng.uniform()), [4, 1, 28, 28]);
    const mean = (await run(train, { x }, [stats[0]!.mean]))[stats[0]!.mean]!;
    expect(mean.shape).toEqual([1, 6, 1, 1]);
    // With running statistics set to this batch's statistics, the inference form gives the same logits.
    const fetched = await run(train, { x }, ['logits', ...stats.flatMap((s) => [s.mean, s.variance])]);
    for (const s of stats) {
      inf.setInitializer(s.runningMean, fetched[s.mean]!.reshape([fetched[s.mean]!.size]));
      inf.setInitializer(s.runningVar, fetched[s.variance]!.reshape([fetched[s.variance]!.size]));
    }
    const a = fetched.logits!.toFloat64();
    const b = (await run(inf, { x })).logits!.toFloat64();
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 4));
  });
});

describe('GPT', () => {
  const gpt = buildGpt({ vocab: 12, context: 6, dim: 16, depth: 1, heads: 2, mlpDim: 32, exposeHidden: true }, { seed: 1 });

  it('is causal: a later token never changes earlier logits', async () => {
    const ids = [3, 5, 7, 2, 9, 4];
    const a = (await run(gpt, { x: Tensor.from(ids, [1, 6], 'int64') })).logits!;
    const changed = [...ids];
    changed[3] = 11;
    const b = (await run(gpt, { x: Tensor.from(changed, [1, 6], 'int64') })).logits!;
    const V = 12;
    for (let i = 0; i < 3 * V; i++) expect(b.getFlat(i)).toBe(a.getFlat(i));
    expect(b.getFlat(3 * V)).not.toBe(a.getFlat(3 * V));
    expect(gpt.outputs.map((v) => v.name)).toEqual(['logits', 'hidden']);
  });

  it('generates greedily, samples reproducibly by seed, and lets a hook replace the logits', async () => {
    const greedy = await generate({ graph: gpt, run, prompt: [1, 2], steps: 8 });
    expect(greedy).toHaveLength(8);
    expect(await generate({ graph: gpt, run, prompt: [1, 2], steps: 8 })).toEqual(greedy);
    const s1 = await generate({ graph: gpt, run, prompt: [1, 2], steps: 8, temperature: 1.5, seed: 4 });
    const s2 = await generate({ graph: gpt, run, prompt: [1, 2], steps: 8, temperature: 1.5, seed: 4 });
    const s3 = await generate({ graph: gpt, run, prompt: [1, 2], steps: 8, temperature: 1.5, seed: 5 });
    expect(s1).toEqual(s2);
    expect(s1).not.toEqual(s3);
    const forced = await generate({
      graph: gpt, run, prompt: [1], steps: 3,
      transformLogits: (l) => { const o = new Float64Array(l.length); o[7] = 1; return o; },
    });
    expect(forced).toEqual([7, 7, 7]);
    const positions: number[] = [];
    await generate({ graph: gpt, run, prompt: [1, 2, 3], steps: 5, transformLogits: (_l, _s, _o, at) => void positions.push(at) });
    expect(positions).toEqual([2, 3, 4, 5, 5]); // the window (context 6) is full from the fourth step on
  });
});

describe('GPT block output', () => {
  it("exposes the last block's output before the final norm: LayerNorm of it with 'norm' gives 'hidden'", async () => {
    const g = buildGpt({ vocab: 12, context: 6, dim: 16, depth: 2, heads: 2, mlpDim: 32, exposeHidden: true, exposeBlockOutput: true }, { seed: 2 });
    expect(g.outputs.map((v) => v.name)).toEqual(['logits', 'hidden', 'block_output']);
    const out = await run(g, { x: Tensor.from([3, 5, 7, 2, 9, 4], [1, 6], 'int64') });
    const f = out.block_output!.toFloat64();
    const hidden = out.hidden!.toFloat64();
    const gamma = g.initializers.get('norm.weight')!.initializer!.toFloat64();
    const beta = g.initializers.get('norm.bias')!.initializer!.toFloat64();
    for (let t = 0; t < 6; t++) {
      const row = f.subarray(t * 16, (t + 1) * 16);
      const mean = row.reduce((a, b) => a + b, 0) / 16;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 16;
      for (let j = 0; j < 16; j++) expect(hidden[t * 16 + j]!).toBeCloseTo(((row[j]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[j]! + beta[j]!, 5);
    }
    expect(buildGpt({ vocab: 12, context: 6, dim: 16, depth: 1, heads: 2, mlpDim: 32 }).outputs.map((v) => v.name)).toEqual(['logits']);
  });
});

describe('BERT', () => {
  it('ignores padding: changing only the embedding of pad positions leaves logits unchanged', async () => {
    const bert = buildBert({ vocab: 10, seqLen: 6, maxLen: 6, dim: 8, depth: 1, heads: 2, mlpDim: 16 }, { seed: 1 });
    const x = Tensor.from([2, 5, 6, 0, 0, 0], [1, 6], 'int64');
    const a = (await run(bert, { x })).logits!.toFloat64();
    const emb = bert.initializers.get('tok_embedding.weight')!.initializer!.clone();
    for (let j = 0; j < 8; j++) (emb.data as Float32Array)[j] += 1; // row 0 = <pad>
    bert.setInitializer('tok_embedding.weight', emb);
    const b = (await run(bert, { x })).logits!.toFloat64();
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));
  });
});

describe('LSTM', () => {
  it('lists the per-step hidden states it computes', () => {
    const g = buildLstm({ steps: 4, features: 3, hidden: 5, layers: 2 });
    const states = g.meta.get('lstmStates') as LstmStates[];
    expect(states.map((s) => s.hidden.map((v) => g.value(v)!.producer!.name))).toEqual([
      ['lstm.0.h.0', 'lstm.0.h.1', 'lstm.0.h.2', 'lstm.0.h.3'],
      ['lstm.1.h.0', 'lstm.1.h.1', 'lstm.1.h.2', 'lstm.1.h.3'],
    ]);
    expect(g.nodes.filter((n) => n.op === 'Gemm' && n.name.includes('recurrent'))).toHaveLength(6);
    expect(g.initializers.get('lstm.0.bias')!.initializer!.toFloat64().slice(5, 10).every((v) => v === 1)).toBe(true);
  });

  it('per-token logits for a token input', async () => {
    const g = buildLstm({ input: 'tokens', vocab: 7, embedDim: 4, steps: 3, hidden: 5, classes: 7, head: 'sequence' });
    const out = (await run(g, { x: Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], 'int64') })).logits!;
    expect(out.shape).toEqual([2, 3, 7]);
  });
});

describe('RandLA feeds', () => {
  it('computes valid neighbour, sampling and up-sampling indices per level', () => {
    const rng = new Rng(1);
    const P = 40;
    const pts = Tensor.from(Array.from({ length: 2 * P * 3 }, () => rng.uniform()), [2, P, 3]);
    const f = randlaFeeds(pts, 2, { ratios: [4, 2], k: [5, 3] }, 9);
    expect(f['neighbors.0']!.shape).toEqual([2, 40, 5]);
    expect(f['subsample.0']!.shape).toEqual([2, 10]);
    expect(f['upsample.0']!.shape).toEqual([2, 40]);
    expect(f['neighbors.1']!.shape).toEqual([2, 10, 3]);
    expect(f['subsample.1']!.shape).toEqual([2, 5]);
    // Each point's nearest neighbour is itself; indices stay within their own cloud.
    for (let n = 0; n < 2; n++) for (let i = 0; i < 40; i++) expect(f['neighbors.0']!.getFlat((n * 40 + i) * 5)).toBe(n * 40 + i);
    const up = f['upsample.0']!.toNumbers();
    up.forEach((v, i) => expect(Math.floor(v / 10)).toBe(Math.floor(i / 40)));
    // A sampled point up-samples from itself.
    const sub = f['subsample.0']!.toNumbers();
    sub.forEach((src, j) => expect(up[src]).toBe(j));
    expect(buildRandLANet({ widths: [4, 8] }).inputs.map((v) => v.name)).toEqual(['x', 'neighbors.0', 'neighbors.1', 'subsample.0', 'subsample.1', 'upsample.0', 'upsample.1']);
  });
});
