import { countParameters, type Graph } from '@tessera/core';
import { loadFashionMnist, sampleSubset, splitTrainSearchTest, type DataSplits } from '@tessera/data';
import { buildMlp } from '@tessera/models';
import { createExecutor } from '@tessera/runtime';
import { adam, Trainer } from '@tessera/train';
import { beforeAll, describe, expect, it } from 'vitest';
import { GradientCountingExecutor, LossOracle, measureSharpness, trainArm } from './index.js';

let data: DataSplits;
beforeAll(() => {
  data = splitTrainSearchTest({ train: loadFashionMnist('train'), test: loadFashionMnist('test') }, { search: 500, train: 1024, test: 500, seed: 0 });
});

const model = () => buildMlp({ hidden: [32] }, { seed: 1 });

describe('SAM through the engine (two gradient evaluations per step)', () => {
  it('counts one gradient evaluation per Adam / SNT step and two per SAM step', async () => {
    const recipe = { epochs: 1, maxSteps: 6, batchSize: 64, lr: 1e-3, seed: 0 };
    const adamRun = await trainArm(model(), data.train, { ...recipe, method: 'adam' });
    const samRun = await trainArm(model(), data.train, { ...recipe, method: 'sam', rho: 0.05 });
    const sntRun = await trainArm(model(), data.train, { ...recipe, method: 'snt', expansion: 1 });
    expect([adamRun.steps, samRun.steps, sntRun.steps]).toEqual([6, 6, 6]);
    expect(adamRun.gradientEvaluations).toBe(6);
    expect(samRun.gradientEvaluations).toBe(12);
    expect(sntRun.gradientEvaluations).toBe(6);
    // SNT trains the expanded factors but hands back the original architecture.
    expect(sntRun.trainingParameters).toBeGreaterThan(countParameters(model()).total);
    expect(sntRun.parameters).toBe(countParameters(model()).total);
    expect(adamRun.parameters).toBe(countParameters(model()).total);
  });

  it("SAM's update uses the gradient at the ascended point θ + ρ·g/‖g‖, not at θ", async () => {
    const rho = 0.5;
    const lr = 1e-3;
    const batch = sampleSubset(data.train, 64, 3);
    const g0 = model();
    const ex = createExecutor('ort-node');
    const oracle = await LossOracle.create(g0, batch, ex);
    const theta = oracle.theta;
    const g1 = (await oracle.at(theta)).grad;
    const n1 = Math.sqrt(g1.reduce((a, v) => a + v * v, 0));
    const g2 = (await oracle.at(theta.map((t, i) => t + (rho * g1[i]!) / n1))).grad;

    const trainer = await Trainer.create({ forward: g0, optimizer: adam({ lr }), batchSize: 64, executor: ex, sam: { rho } });
    await trainer.step({ ...batch, ids: Int32Array.from({ length: 64 }, (_, i) => i) });
    const after = trainer.flatTrainable();
    // Adam's first step is p − lr·g/(|g| + 1e-8): compare with the step each gradient predicts
    // where that gradient is clearly non-zero.
    let fromAscended = 0;
    let fromPlain = 0;
    let compared = 0;
    for (let i = 0; i < theta.length; i++) {
      if (Math.abs(g2[i]!) < 1e-5 || Math.abs(g1[i]!) < 1e-5) continue;
      compared++;
      const step = theta[i]! - after[i]!;
      fromAscended = Math.max(fromAscended, Math.abs(step - lr * Math.sign(g2[i]!)));
      fromPlain = Math.max(fromPlain, Math.abs(step - lr * Math.sign(g1[i]!)));
    }
    expect(compared).toBeGreaterThan(1000);
    expect(fromAscended).toBeLessThan(1e-5);
    expect(fromPlain).toBeGreaterThan(1.5 * lr); // some coordinates flip sign between θ and θ+ε
  });

  it('the counting executor sees backward passes in graphs, not in forward-only evaluation', async () => {
    const ex = new GradientCountingExecutor(createExecutor('ort-node'));
    const trainer = await Trainer.create({ forward: model(), optimizer: adam({ lr: 1e-3 }), batchSize: 64, executor: ex });
    await trainer.fit(data.train, { epochs: 1, maxSteps: 3, progress: false });
    await trainer.evaluate(sampleSubset(data.test, 128, 0));
    expect(ex.gradientEvaluations).toBe(3);
    expect(ex.forwardEvaluations).toBe(2);
  });
});

describe('measureSharpness (training data only, merged space)', () => {
  let trained: Graph;
  beforeAll(async () => {
    trained = (await trainArm(model(), data.train, { method: 'adam', epochs: 2, batchSize: 64, seed: 0 })).graph;
  });

  it('measures ε-sharpness and λmax on a named training split', async () => {
    const r = await measureSharpness(trained, data, { split: 'train', examples: 256, ascentSteps: 3, powerIterations: 8, traceProbes: 2 });
    expect(r.split).toBe('train');
    expect(r.dataset).toBe('fashion-mnist/train');
    expect(r.examples).toBe(256);
    expect(r.parameters).toBe(countParameters(trained).total);
    expect(r.epsSharpness).toBeGreaterThan(0);
    expect(r.lambdaMax).toBeGreaterThan(0);
    expect(r.traceH!).toBeGreaterThan(r.lambdaMax * 0.5);
    expect(r.gradientEvaluations).toBe(1 + 3 + 2 * 8 + 2 * 2);
    // A larger ball gives a larger loss increase.
    const big = await measureSharpness(trained, data, { split: 'train', examples: 256, ascentSteps: 3, powerIterations: 1, rho: 0.5 });
    expect(big.epsSharpness).toBeGreaterThan(r.epsSharpness);
    const search = await measureSharpness(trained, data, { split: 'search', examples: 256, ascentSteps: 1, powerIterations: 1 });
    expect(search.dataset).toBe('fashion-mnist/search');
  });

  it('refuses the test set, however it is passed', async () => {
    await expect(measureSharpness(trained, data, { split: 'test' as 'train' })).rejects.toThrow("measureSharpness: option 'split' is 'test'; sharpness is measured on training data only: use 'train' or 'search'");
    await expect(measureSharpness(trained, { train: data.test, test: data.test }, { split: 'train' })).rejects.toThrow(/the 'train' split is the test set itself/);
    await expect(measureSharpness(trained, { train: data.test }, { split: 'train' })).rejects.toThrow(/dataset 'fashion-mnist\/test', a test set/);
    await expect(measureSharpness(trained, { train: data.train }, { split: 'search' })).rejects.toThrow(/no 'search' split \(have: train\)/);
    await expect(measureSharpness(trained, data, { split: 'train', rho: -1 })).rejects.toThrow(/^measureSharpness: option 'rho'/);
  });

  it('refuses an expanded SNT graph (sharpness is compared in the merged space)', async () => {
    const { sntExpand } = await import('./index.js');
    await expect(measureSharpness(sntExpand(trained).graph, data, { split: 'train' })).rejects.toThrow(/is SNT-expanded .* merge it first/);
  });
});
