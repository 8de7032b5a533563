import { beforeAll, describe, expect, it } from 'vitest';
import { Tensor, type Graph } from '@tessera/core';
import { createExecutor } from '@tessera/runtime';
import type { Examples } from '@tessera/train';
import {
  assignFormats, effectiveWeight, groupsOf, quantizationError, weightImportance, type Importance,
} from './assign.js';
import { assignmentFromMeta, assignmentToMeta, layerFormatsOf, positFractionReport, readFormatMap, verifyMixed, weightLayers, type FormatMap } from './format-map.js';
import { evaluateGraph, finetuneMixed } from './finetune.js';
import { quantizedGraph } from './quantized-graph.js';
import { positMixedRegistry } from './mac.js';
import { pretrained } from './test-fixtures.js';

const executor = createExecutor('ort-node');
let graph: Graph;
let train: Examples;
let importance: Importance;

beforeAll(async () => {
  ({ graph, train } = await pretrained('lenet', executor));
  importance = (await weightImportance(graph, train, { kind: 'weight-gradient', batches: 4, batchSize: 64, hessianProbes: 1, seed: 0, executor })).importance;
}, 60_000);

/** Σ_layers Σ I·(w − Q(w))² of the effective weights of a map. */
function weightedError(g: Graph, map: FormatMap, imp?: Importance): number {
  let e = 0;
  for (const a of map.layers) {
    const w = Float32Array.from(g.value(a.param)!.initializer!.toFloat64());
    e += quantizationError(w, effectiveWeight(w, a, layerFormatsOf(a)), imp?.get(a.param));
  }
  return e;
}

describe('assignment by importance x quantization error [R]', () => {
  it('gives exactly the requested Posit4 fraction per layer and stores the map on the graph', () => {
    const g = graph.clone();
    const map = assignFormats(g, importance, { positFraction: 0.2 });
    const rows = positFractionReport(map);
    expect(rows.map((r) => r.layer)).toEqual(['conv1', 'conv2', 'fc1', 'fc2', 'fc3', '(all)']);
    for (const r of rows) expect(Math.abs(r.positFraction - 0.2)).toBeLessThan(0.5 / r.weights + 1e-12);
    const w = g.value(map.layers[0]!.param)!;
    expect(w.format?.id).toMatch(/^fixed<4,-?\d+>$/);
    expect(readFormatMap(g).layers.map((a) => [a.node, a.positFraction])).toEqual(map.layers.map((a) => [a.node, a.positFraction]));
    // The meta form survives JSON (the pipeline's step cache writes meta as JSON).
    const back = assignmentFromMeta(JSON.parse(JSON.stringify(assignmentToMeta(map.layers[2]!))), 'fc1');
    expect(back.mask).toEqual(map.layers[2]!.mask);
  });

  it('per output channel: every channel holds round(ρ·size) Posit4 weights', () => {
    const map = assignFormats(graph.clone(), importance, { positFraction: 0.1, granularity: 'channel' });
    for (const a of map.layers) {
      for (const grp of groupsOf(a, 'channel')) {
        let k = 0;
        for (const i of grp) k += a.mask[i]!;
        expect(k).toBe(Math.round(0.1 * grp.length));
      }
    }
  });

  it('uses the score: at equal fractions it beats random assignment on importance-weighted error and on loss', async () => {
    for (const rho of [0.05, 0.2]) {
      const gs = graph.clone();
      const gr = graph.clone();
      const scored = assignFormats(gs, importance, { positFraction: rho });
      const random = assignFormats(gr, importance, { positFraction: rho, method: 'random', seed: 3 });
      expect(positFractionReport(scored).at(-1)!.positWeights).toBe(positFractionReport(random).at(-1)!.positWeights);
      expect(weightedError(gs, scored, importance)).toBeLessThan(0.9 * weightedError(gr, random, importance));
      expect(weightedError(gs, scored)).toBeLessThan(weightedError(gr, random));
    }
    // Loss of the fake-quantized model (float activations, no fine-tuning) on the train images.
    const loss = async (method: 'score' | 'random') => {
      const g = graph.clone();
      const map = assignFormats(g, importance, { positFraction: 0.1, method, seed: 3 });
      return (await evaluateGraph(quantizedGraph(g, map, { mode: 'inference' }), train, { executor })).nll;
    };
    expect(await loss('score')).toBeLessThan(await loss('random'));
  });

  it('a "mixed" model whose weights all share one format is caught', () => {
    expect(() => verifyMixed(assignFormats(graph.clone(), importance, { positFraction: 0 }))).toThrow(/every one of the \d+ weights is FixP4; a mixed model needs some Posit4 weights/);
    expect(() => verifyMixed(assignFormats(graph.clone(), importance, { positFraction: 1 }))).toThrow(/every one of the \d+ weights is Posit4/);
    const map = assignFormats(graph.clone(), importance, { positFraction: 0.1 });
    verifyMixed(map);
    // Masks that say 10% but hold nothing are caught too.
    const forged: FormatMap = { layers: map.layers.map((a) => ({ ...a, mask: new Uint8Array(a.mask.length) })) };
    expect(() => verifyMixed(forged)).toThrow(/verifyMixed: layer conv1 says 10\.00% Posit4 but its mask has 0\.00%/);
  });

  it('Fisher and Hessian importance come from the training engine and rank differently from |w·g|', async () => {
    const fisher = await weightImportance(graph, train, { kind: 'fisher', batches: 2, batchSize: 64, hessianProbes: 1, seed: 0, executor });
    const hess = await weightImportance(graph, train, { kind: 'hessian', batches: 1, batchSize: 64, hessianProbes: 2, seed: 0, executor });
    expect(fisher.importance.get('fc1.weight')!.length).toBe(400 * 120);
    expect(Object.keys(hess.hessianTrace!)).toEqual(weightLayers(graph).map((l) => l.param));
    const a = assignFormats(graph.clone(), importance, { positFraction: 0.1 });
    const b = assignFormats(graph.clone(), fisher.importance, { positFraction: 0.1, importance: 'fisher' });
    const c = assignFormats(graph.clone(), hess.importance, { positFraction: 0.1, importance: 'hessian' });
    const diff = (x: FormatMap, y: FormatMap) => x.layers[2]!.mask.reduce((s, m, i) => s + (m !== y.layers[2]!.mask[i] ? 1 : 0), 0);
    expect(diff(a, b)).toBeGreaterThan(0);
    expect(diff(a, c)).toBeGreaterThan(0);
  }, 60_000);
});

describe('bad options: one clear line', () => {
  it('names the option and what is valid', async () => {
    const g = graph.clone();
    expect(() => assignFormats(g, importance, { positFraction: 1.5 })).toThrow(/^posit-mixed assignment: option 'positFraction': .*(<=|1)/);
    expect(() => assignFormats(g, importance, { granularity: 'tensor' as never })).toThrow(/^posit-mixed assignment: option 'granularity': .*"layer"\|"channel"/);
    expect(() => assignFormats(g, importance, { positEs: 3 })).toThrow(/^posit-mixed assignment: option 'positEs'/);
    expect(() => assignFormats(g, importance, { bogus: 1 } as never)).toThrow(/^posit-mixed assignment: option '\(options\)': .*bogus/);
    expect(() => assignFormats(g, undefined, { importance: 'fisher' })).toThrow("posit-mixed assignment: no importance for weight 'conv1.weight' (importance 'fisher'; compute it with weightImportance)");
    const map = assignFormats(g, importance, { positFraction: 0.1 });
    await expect(finetuneMixed(g, map, train, undefined, { gradient: 'exact' as never })).rejects.toThrow(/^posit-mixed fine-tuning: option 'gradient'/);
    expect(() => positMixedRegistry({ accumulatorBits: 4 })).toThrow(/^positMixedRegistry: option 'accumulatorBits'/);
    for (const f of [() => assignFormats(g, importance, { positFraction: -1 })]) {
      try { f(); } catch (e) { expect((e as Error).message.split('\n')).toHaveLength(1); }
    }
  });

  it('a weight that is not on its format grid is refused by the exact MAC, naming the node', async () => {
    const { interpret } = await import('@tessera/core');
    const g = graph.clone();
    const map = assignFormats(g, importance, { positFraction: 0.1 });
    const acts = new Map(map.layers.map((a) => [a.node, 'fixed<8,5>']));
    const inf = quantizedGraph(g, map, { mode: 'inference', activations: acts });
    // Bypass the fake-quant of conv1: its raw float weight reaches the MAC.
    const conv = inf.nodes.find((n) => n.name === 'conv1')!;
    conv.setInput(1, inf.value('conv1.weight')!);
    const x = new Tensor('float32', [1, 1, 28, 28], new Float32Array(784).fill(0.5));
    expect(() => interpret(inf, { x }, { registry: positMixedRegistry() })).toThrow(/conv1.*posit-mixed-mac: weight\[\d+\] = .* is not a value of (fixed<4,-?\d+>|posit<4,1>)/);
  });
});
