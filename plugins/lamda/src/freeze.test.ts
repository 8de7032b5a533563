import { BACKWARD, type Graph } from '@tessera/core';
import { acceptabilityTask, subset } from '@tessera/data';
import { buildBert } from '@tessera/models';
import { createExecutor } from '@tessera/runtime';
import { adamw, buildTrainingGraph } from '@tessera/train';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterParams, finetuneAdapters, freezeEvents, freezeSpecAt, frozenRowsAt, lamda, lora, rowFreezeStep, type AdapterLayer, type FinetuneOptions } from './index.js';

const executor = createExecutor('ort-node', { threads: 1 });
afterAll(() => executor.dispose());

const base = buildBert({ vocab: 161, dim: 32, depth: 1, heads: 2, mlpDim: 64 }, { seed: 1 });
const all = acceptabilityTask({ n: 192, seed: 3 }).dataset;
const data = { train: subset(all, Array.from({ length: 128 }, (_, i) => i)), test: subset(all, Array.from({ length: 64 }, (_, i) => 128 + i)) };
const opts: FinetuneOptions = {
  steps: 12, batchSize: 16, lr: 5e-3, weightDecay: 0.1, warmupFraction: 0, freezeEndFraction: 0.5, freezeOrder: 'largest-first',
  freezeMode: 'rows', alsoTrain: '^(pre_classifier|classifier)\\.', seed: 0,
};

describe('freeze schedule', () => {
  it('row j freezes at ⌈(j+1)·ηT/r⌉; all rows frozen at ⌈ηT⌉ (not the released code\'s ⌊t/(ηT)⌋, which stops at 3 rows)', () => {
    const s = { totalSteps: 100, eta: 0.3, order: 'largest-first' as const };
    expect(Array.from({ length: 8 }, (_, j) => rowFreezeStep(j, 8, s))).toEqual([4, 8, 12, 15, 19, 23, 27, 30]);
    expect(frozenRowsAt(8, 29, s)).toHaveLength(7);
    expect(frozenRowsAt(8, Math.ceil(0.3 * 100 - 1e-9), s)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(frozenRowsAt(8, 3, s)).toEqual([]);
    for (const [T, eta, r] of [[37, 0.3, 8], [200, 0.25, 5], [10, 1, 3], [9, 0.1, 4]] as const) {
      const sc = { totalSteps: T, eta, order: 'smallest-first' as const };
      const tEnd = Math.ceil(eta * T - 1e-9);
      expect(frozenRowsAt(r, tEnd, sc)).toHaveLength(r);
      expect(frozenRowsAt(r, tEnd - 1, sc).length).toBeLessThan(r);
    }
    expect(frozenRowsAt(4, 20, { totalSteps: 100, eta: 0.3, order: 'smallest-first' })).toEqual([2, 3]);
    const layer = { kind: 'lamda', B: 'x.lamda.B', rank: 4 } as AdapterLayer;
    expect(freezeSpecAt([layer], 15, { totalSteps: 100, eta: 0.3, order: 'largest-first' })).toEqual([{ param: 'x.lamda.B', rows: [0, 1] }]);
    expect(freezeSpecAt([layer], 30, { totalSteps: 100, eta: 0.3, order: 'largest-first' })).toEqual(['x.lamda.B']);
    expect(freezeEvents([layer], { totalSteps: 100, eta: 0.3, order: 'largest-first' })).toEqual([8, 15, 23, 30]);
  });
});

/**
 * ∂A = (drop(x))ᵀ · ∂u needs the adapter input; report the adapter inputs (the left operand of
 * x·A) that some backward node reads. With A constant there must be none.
 */
function adapterInputsReadByBackward(g: Graph, layers: readonly AdapterLayer[]): string[] {
  const out: string[] = [];
  for (const l of layers) {
    const a = g.initializers.get(l.A) ?? g.value(l.A);
    const uses = a ? [...a.uses].filter((u) => u.node.meta.get(BACKWARD) !== true && u.node.op === 'MatMul') : [];
    expect(uses).toHaveLength(a ? 1 : 0);
    const x = uses[0]?.node.inputs[0];
    if (x && [...x.uses].some((u) => u.node.meta.get(BACKWARD) === true)) out.push(l.name);
  }
  return out;
}

describe('LaMDA training through the engine', () => {
  it('no gradient op for A in the backward graph (LoRA has them); A is a constant', () => {
    const L = lamda(base, { rank: 4 });
    const tg = buildTrainingGraph({ forward: L.graph, params: adapterParams(L.layers), optimizer: adamw({ lr: 1e-3 }), loss: 'cross-entropy', batchSize: 8 });
    expect(tg.slots.map((s) => s.param).sort()).toEqual(adapterParams(L.layers).sort());
    for (const l of L.layers) expect(tg.graph.initializers.has(l.A)).toBe(true);
    expect(adapterInputsReadByBackward(tg.graph, L.layers)).toEqual([]);
    expect(tg.graph.nodes.filter((n) => n.meta.get(BACKWARD) === true && n.outputs.some((o) => L.layers.some((l) => o.name.includes(l.A))))).toEqual([]);
    const R = lora(base, { rank: 4 });
    const tr = buildTrainingGraph({ forward: R.graph, params: adapterParams(R.layers), optimizer: adamw({ lr: 1e-3 }), loss: 'cross-entropy', batchSize: 8 });
    // LoRA: A is a trainable input and every adapter input is kept for ∂A.
    for (const l of R.layers) expect(tr.slots.some((sl) => sl.param === l.A)).toBe(true);
    expect(adapterInputsReadByBackward(tr.graph, R.layers)).toEqual(R.layers.map((l) => l.name));
  });

  it('real row freezing: rows bit-identical from their freeze step with weight decay on, Adam bytes fall at every event, B fully frozen at ⌈ηT⌉', async () => {
    const L = lamda(base, { rank: 4, dropout: 0.1 });
    const { report } = await finetuneAdapters(L.graph, L.layers, data, opts, { executor });
    // η T = 6, r = 4: rows freeze at steps 2, 3, 5, 6.
    expect(report.freezeEndStep).toBe(6);
    expect(report.optimizerStateBytes.events.map((e) => e.step)).toEqual([0, 2, 3, 5, 6]);
    const bytes = report.optimizerStateBytes.events.map((e) => e.bytes);
    for (let i = 1; i < bytes.length; i++) expect(bytes[i]!).toBeLessThan(bytes[i - 1]!);
    // Each event drops 2 Adam slots × 4 bytes × (rows frozen) × dOut over the six B's.
    const perRow = L.layers.reduce((a, l) => a + l.dOut, 0) * 8;
    expect(bytes[0]! - bytes[1]!).toBe(perRow);
    expect(bytes[0]! - bytes[4]!).toBe(4 * perRow);
    expect(report.frozenRowDrift).toBe(0);
    // LaMDA on this model: S 6·16 + B 4·(32·5 + 64) at the start, only S at the end.
    expect(report.adapterScalars).toEqual({ start: 6 * 16 + 4 * (5 * 32 + 64), end: 6 * 16 });
    expect(report.records.filter((r) => r.step >= 6).every((r) => r.adapterScalars === 96)).toBe(true);
    expect(report.parameterUpdates.adapters).toBe(report.records.reduce((a, r) => a + r.adapterScalars, 0));
    expect(report.savedActivationBytes.end).toBeLessThan(report.savedActivationBytes.start);
    expect(report.compiles).toBe(5);
  });

  it('ablations: gradient zeroing keeps B trainable (Adam state, updates) and the "frozen" rows drift; no freezing keeps everything', async () => {
    const L = lamda(base, { rank: 4, dropout: 0 });
    const fake = (await finetuneAdapters(L.graph, L.layers, data, { ...opts, freezeMode: 'gradient-zeroing' }, { executor })).report;
    expect(fake.optimizerStateBytes.events).toHaveLength(1);
    expect(fake.adapterScalars.end).toBe(fake.adapterScalars.start);
    expect(fake.frozenRowDrift!).toBeGreaterThan(1e-5);
    const none = (await finetuneAdapters(L.graph, L.layers, data, { ...opts, freezeMode: 'none' }, { executor })).report;
    expect(none.parameterUpdates.adapters).toBe(12 * none.adapterScalars.start);
    expect(none.compiles).toBe(1);
  });
});
