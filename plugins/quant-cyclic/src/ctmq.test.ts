import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '@tessera/core';
import { loadFashionMnist, splitTrainSearchTest, type DataSplits } from '@tessera/data';
import { buildMlp } from '@tessera/models';
import { createExecutor } from '@tessera/runtime';
import { takeAlong } from '@tessera/train';
import {
  costOnAsic45nm, ctmq, ctmqProcedure, evaluateAccuracy, exportCtmqModel, exportedAccuracy, parseCtmqOptions, planPhases,
  pretrainFloat, quantCyclicPlugin, quantizeGraph, totalEpochsOf, type CtmqResult,
} from './index.js';

// A small real Fashion-MNIST subset and a small tanh MLP keep the suite well under a minute.
let data: DataSplits;
let fp: Graph;
let run: CtmqResult;
const executor = createExecutor('ort-node');
const OPTS = { bStart: 2, bTarget: 1, epochsPerStep: 1, cycles: 1, cycleScope: 'finalOnly', bnRecalibBatches: 4, batchSize: 100, seed: 1 } as const;

beforeAll(async () => {
  data = splitTrainSearchTest({ train: loadFashionMnist('train'), test: loadFashionMnist('test') }, { search: 500, train: 2000, test: 1000, seed: 1 });
  const model = buildMlp({ hidden: [64, 64], activation: 'tanh', batchNorm: false }, { seed: 1 });
  fp = (await pretrainFloat(model, data, { epochs: 1, batchSize: 100, seed: 1, executor })).model;
  run = await ctmq(fp, data, OPTS, { executor });
});

describe('ctmq schedule and history', () => {
  it('records every phase: steps 2 -> 1, then one cycle of accurate + low-bit at the target', () => {
    expect(run.history.map((p) => [p.kind, p.bits])).toEqual([['step', 2], ['step', 1], ['accurate', 'fp'], ['low-bit-in-cycle', 1]]);
    for (const p of run.history) {
      expect(p.valAccuracy).toHaveLength(p.epochs);
      expect(p.steps).toBe(p.epochs * 20);
    }
  });

  it('hands the weights over: each phase starts from the previous phase, not from the FP model', () => {
    const [s2, s1] = run.history;
    for (let i = 1; i < run.history.length; i++) {
      expect(run.history[i]!.initFrom).toBe(i - 1);
      expect(run.history[i]!.initDigest).toBe(run.history[i - 1]!.finalDigest);
    }
    // The 1-bit step did not restart from the pretrained weights (the 2-bit step moved them).
    expect(s2!.relativeWeightChange).toBeGreaterThan(1e-3);
    expect(s1!.initDigest).not.toBe(s2!.initDigest);
  });

  it('trains the accurate model in the cycle: its weights change and its validation accuracy is recorded', () => {
    const acc = run.history.find((p) => p.kind === 'accurate')!;
    expect(acc.relativeWeightChange).toBeGreaterThan(1e-3);
    expect(acc.valAccuracy[0]).toBeGreaterThan(0.6);
    // The low-bit model of the cycle restarts from the accurate model's final weights.
    const low = run.history[acc.index + 1]!;
    expect(low.initDigest).toBe(acc.finalDigest);
  });

  it('selects on validation at the target bit width and reports a real 1-bit test accuracy', () => {
    const sel = run.history[run.selected.phase]!;
    expect(sel.bits).toBe(1);
    expect(run.selected.valAccuracy).toBe(Math.max(...run.history.filter((p) => p.bits === 1).flatMap((p) => p.valAccuracy)));
    expect(run.testAccuracy).toBeGreaterThan(0.6);
    expect(run.totalEpochs).toBe(run.history.reduce((a, p) => a + p.epochs, 0));
  });
});

describe('binarized means binarized', () => {
  it('every hidden activation passes through a Sign whose outputs are ±1', async () => {
    const g = quantizeGraph(fp, { bits: 1, keepFirstLast: '8bit', quantizeActivations: true, weightClipStd: 2.5, weights: 'fake-quant' });
    const tanhs = g.nodes.filter((n) => n.op === 'Tanh');
    expect(tanhs).toHaveLength(2);
    const signs = tanhs.map((t) => {
      const users = t.outputs[0]!.consumers();
      expect(users.map((u) => u.op)).toEqual(['Sign']);
      expect(users[0]!.outputs[0]!.format?.id).toBe('binary');
      return users[0]!.outputs[0]!.name;
    });
    // Both MatMuls after the hidden layers read the binarized activation.
    const x = takeAlong(data.test.x, Array.from({ length: 200 }, (_, i) => i), 0);
    const out = await executor.run(g, { [g.inputs[0]!.name]: x }, signs);
    for (const name of signs) {
      const v = out[name]!.data as Float32Array;
      expect([...new Set(v)].sort()).toEqual([-1, 1]);
    }
  });

  it('b >= 2 activations lie on the symmetric grid k/n, |k| <= n', async () => {
    const g = quantizeGraph(fp, { bits: 3, keepFirstLast: '8bit', quantizeActivations: true, weightClipStd: 2.5, weights: 'fake-quant' });
    // The hidden layers (MatMul 2 and 3) read the quantized activations, never the Tanh output itself.
    const finals = g.nodes.filter((n) => n.op === 'MatMul').slice(1).map((n) => n.inputs[0]!);
    expect(finals.map((v) => [v.format?.id, v.producer?.op])).toEqual([['int<3,sym>', 'Mul'], ['int<3,sym>', 'Mul']]);
    for (const t of g.nodes.filter((n) => n.op === 'Tanh')) expect(t.outputs[0]!.consumers().map((c) => c.op)).toEqual(['Mul']);
    const x = takeAlong(data.test.x, Array.from({ length: 100 }, (_, i) => i), 0);
    const out = await executor.run(g, { [g.inputs[0]!.name]: x }, finals.map((v) => v.name));
    for (const v of finals) for (const a of out[v.name]!.data as Float32Array) {
      const k = a * 3;
      expect(Math.abs(k - Math.round(k))).toBeLessThan(1e-5);
      expect(Math.abs(k)).toBeLessThanOrEqual(3 + 1e-6);
    }
  });

  it('folded hidden weights are ±1 codes; the folded model predicts like the fake-quant model', async () => {
    const hidden = run.model.nodes.filter((n) => n.op === 'MatMul').map((n) => n.inputs[1]!);
    expect(hidden.map((w) => w.format?.id)).toEqual(['int<8,sym>', 'binary', 'int<8,sym>']);
    expect([...new Set(hidden[1]!.initializer!.data as Float32Array)].sort()).toEqual([-1, 1]);
    const a = await evaluateAccuracy(run.model, data.test, executor);
    const b = await evaluateAccuracy(run.fakeQuantModel, data.test, executor);
    const pa = argmaxRows(a.logits.data as Float32Array);
    const pb = argmaxRows(b.logits.data as Float32Array);
    const agree = pa.filter((p, i) => p === pb[i]).length / pa.length;
    expect(agree).toBeGreaterThanOrEqual(0.995);
    expect(a.accuracy).toBeCloseTo(run.testAccuracy, 10);
  });
});

describe('cost and export', () => {
  it('prices binary x binary layers as XNOR-popcount on the 45 nm target, far below the float model', () => {
    const cost = costOnAsic45nm(run.model);
    const hiddenLayer = cost.layers[1]!;
    expect(hiddenLayer.weightFormat).toBe('binary');
    expect(hiddenLayer.inputFormat).toBe('binary');
    const fpCost = costOnAsic45nm(quantizeGraph(fp, { bits: 8, keepFirstLast: 'none', quantizeActivations: false, weightClipStd: 2.5, weights: 'folded' }));
    expect(cost.energyPj).toBeLessThan(fpCost.energyPj);
    expect(cost.bops).toBe(784 * 64 * 8 * 8 + 64 * 64 * 1 * 1 + 64 * 10 * 8 * 1);
  });

  it('the exported ONNX model gives the same test accuracy on onnxruntime-web', async () => {
    const web = await exportedAccuracy(exportCtmqModel(run.model), data.test, 'ort-web');
    expect(Math.abs(web - run.testAccuracy)).toBeLessThanOrEqual(0.002);
  });
});

describe('compute-matched arms and options', () => {
  it('direct, steps-only and CTMQ arms of the experiment have the same total epochs', () => {
    const direct = totalEpochsOf({ bStart: 1, bTarget: 1, epochsPerStep: 8, cycles: 0 });
    const steps = totalEpochsOf({ bStart: 4, bTarget: 1, epochsPerStep: 2, cycles: 0 });
    const cyc = totalEpochsOf({ bStart: 4, bTarget: 1, epochsPerStep: 1, cycles: 2, cycleScope: 'finalOnly' });
    expect([direct, steps, cyc]).toEqual([8, 8, 8]);
    expect(planPhases(parseCtmqOptions({ cycleScope: 'perStep', cycles: 2 })).filter((p) => p.kind === 'accurate')).toHaveLength(8);
  });

  it('defaults follow the spec', () => {
    expect(parseCtmqOptions({})).toMatchObject({
      bStart: 4, bTarget: 1, quantizeActivations: true, keepFirstLast: '8bit', cycles: 2, cycleScope: 'perStep', transfer: 'latent', bnRecalibBatches: 100, weightClipStd: 2.5, lr: 1e-3,
    });
    expect(quantCyclicPlugin.procedures.map((p) => p.name)).toEqual(['ctmq']);
    expect(ctmqProcedure.options.parse({})).toEqual(parseCtmqOptions({}));
  });

  it('bad options and models fail with one line naming the field or node', async () => {
    const oneLine = (f: () => unknown, re: RegExp) => {
      let msg = '';
      try { f(); } catch (e) { msg = (e as Error).message; }
      expect(msg).toMatch(re);
      expect(msg).not.toContain('\n');
    };
    oneLine(() => parseCtmqOptions({ bStart: 2, bTarget: 3 }), /^ctmq option bTarget: must be <= bStart \(2\)/);
    oneLine(() => parseCtmqOptions({ cycleScope: 'always' }), /^ctmq option cycleScope: .*perStep.*finalOnly/);
    oneLine(() => parseCtmqOptions({ epochs: 3 }), /^ctmq option epochs: unknown option; valid: bStart/);
    const relu = buildMlp({ hidden: [16, 16], activation: 'relu' }, { seed: 0 });
    await expect(ctmq(relu, data, OPTS)).rejects.toThrow(/^quantize: layer 'fc2' \(MatMul\) reads Relu node 'fc1.relu'; .*Tanh or Clip\(-1, 1\)[^\n]*$/);
  });
});

function argmaxRows(d: Float32Array, classes = 10): number[] {
  const out: number[] = [];
  for (let r = 0; r < d.length / classes; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (d[r * classes + c]! > d[r * classes + best]!) best = c;
    out.push(best);
  }
  return out;
}
