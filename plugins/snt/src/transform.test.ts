import { countParameters, PassManager, Tensor, type Graph } from '@tessera/core';
import { loadFashionMnist, sampleSubset, takeRows } from '@tessera/data';
import { buildLeNet5, buildMlp } from '@tessera/models';
import { compareGraphs } from '@tessera/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { composeFactors, expansionsOf, SntExpandPass, SntMergePass, sntExpand, sntMerge, sntTransform } from './index.js';

let images: Tensor;
beforeAll(() => {
  const ds = sampleSubset(loadFashionMnist('train'), 64, 0);
  images = takeRows(ds.x, Array.from({ length: 64 }, (_, i) => i));
});

const shapes = (g: Graph) => Object.fromEntries(g.parameters().map((v) => [v.name, v.initializer!.shape.join('x')]));
const ops = (g: Graph) => g.nodes.map((n) => n.op);

/** Scales every parameter by a seeded random factor: what training does to the factors, roughly. */
function perturb(g: Graph, seed: number): void {
  let s = seed;
  for (const v of g.parameters()) {
    const d = v.initializer!.toFloat64().map((x) => { s = (s * 1103515245 + 12345) % 2 ** 31; return x * (0.9 + 0.2 * (s / 2 ** 31)); });
    g.setInitializer(v.name, Tensor.from(d, v.initializer!.shape, 'float32'));
  }
}

async function maxDiff(a: Graph, b: Graph): Promise<{ ok: boolean; diff: number }> {
  const r = await compareGraphs(a, b, { x: images }, { backend: 'reference', rtol: 0, atol: 1e-5 });
  const ya = r.a[a.outputs[0]!.name]!.toFloat64();
  const yb = r.b[a.outputs[0]!.name]!.toFloat64();
  return { ok: r.ok, diff: Math.max(...ya.map((v, i) => Math.abs(v - yb[i]!))) };
}

describe('snt-expand / snt-merge (stand-in [R])', () => {
  it('expands every MLP linear into two factors of inner width e·max(in, out)', () => {
    const g = buildMlp({ hidden: [32] }, { seed: 1 });
    const { graph: x, expansions } = sntExpand(g, { expansion: 2 });
    expect(expansions.map((e) => [e.weight, e.inner])).toEqual([['fc1.weight', 1568], ['fc2.weight', 64]]);
    expect(ops(x).filter((o) => o === 'MatMul').length).toBe(4);
    expect(shapes(x)['fc1.weight.snt_a']).toBe('784x1568');
    expect(shapes(x)['fc1.weight.snt_b']).toBe('1568x32');
    expect(countParameters(x).total).toBe(784 * 1568 + 1568 * 32 + 32 + 32 * 64 + 64 * 10 + 10);
    expect(expansionsOf(g)).toEqual([]); // the input graph is untouched
  });

  it('merge of an expanded (and then changed, as by training) MLP computes the same function to 1e-5 with the original parameter count', async () => {
    const g = buildMlp({ hidden: [64, 32] }, { seed: 2 });
    const { graph: x } = sntExpand(g, { seed: 3 });
    perturb(x, 7);
    const m = sntMerge(x);
    const r = await maxDiff(x, m);
    expect(r.ok).toBe(true);
    expect(r.diff).toBeLessThan(1e-5);
    expect(countParameters(m).total).toBe(countParameters(g).total);
    expect(shapes(m)).toEqual(shapes(g));
    expect(ops(m)).toEqual(ops(g));
    expect(expansionsOf(m)).toEqual([]);
  });

  it('merge of an expanded LeNet-5 (padded and strided convs, pooling, linears) is exact to 1e-5', async () => {
    const g = buildLeNet5({}, { seed: 4 });
    const t = sntTransform(g, { seed: 5 });
    expect(t.expansions.filter((e) => e.kind === 'conv').length).toBeGreaterThanOrEqual(2);
    perturb(t.graph, 11);
    const m = t.merge(t.graph);
    const r = await maxDiff(t.graph, m);
    expect(r.diff).toBeLessThan(1e-5);
    expect(r.ok).toBe(true);
    expect(countParameters(m).total).toBe(countParameters(g).total);
    expect(shapes(m)).toEqual(shapes(g));
    // Conv attributes (pads, strides) come back on the merged node.
    const conv = (h: Graph) => h.nodes.filter((n) => n.op === 'Conv').map((n) => JSON.stringify([...n.attrs]));
    expect(conv(m)).toEqual(conv(g));
  });

  it('the equivalence check catches a merge that is not exact', async () => {
    const g = buildMlp({ hidden: [32] }, { seed: 6 });
    const { graph: x, expansions } = sntExpand(g, { seed: 1 });
    perturb(x, 3);
    // A wrong merge: compose the first layer's factors in float32 after rounding A to 3 decimals
    // (a "nearly right" merge), and one that forgets the second factor's scale.
    const bad = sntMerge(x);
    const e = expansions[0]!;
    const a = x.initializers.get(e.a)!.initializer!;
    const rounded = Tensor.from(a.toFloat64().map((v) => Math.round(v * 1e3) / 1e3), a.shape, 'float32');
    bad.setInitializer(e.weight, composeFactors('matmul', rounded, x.initializers.get(e.b)!.initializer!));
    const r = await maxDiff(x, bad);
    expect(r.ok).toBe(false);
    expect(r.diff).toBeGreaterThan(1e-4);
  });

  it('refuses to merge a pair that is no longer a plain product', () => {
    const { graph: x, expansions } = sntExpand(buildMlp({ hidden: [16] }, { seed: 0 }));
    const first = x.nodes.find((n) => n.name === expansions[0]!.first)!;
    const second = x.nodes.find((n) => n.name === expansions[0]!.node)!;
    const relu = x.addNode({ op: 'Relu', inputs: [first.output()] }, second);
    second.setInput(0, relu.output());
    expect(() => sntMerge(x)).toThrow(/snt-merge: layer 'fc1.weight': nodes .* are no longer a plain factor pair/);
    expect(() => sntMerge(buildMlp({ hidden: [16] }))).toThrow(/no SNT expansions to merge/);
  });

  it('runs as core passes through the PassManager (expand then merge gives back the architecture)', () => {
    const g = buildMlp({ hidden: [16] }, { seed: 0 });
    const res = new PassManager([new SntExpandPass({ expansion: 1 }), new SntMergePass()], { verify: true }).run(g);
    expect(res.records.map((r) => r.pass)).toEqual(['SntExpandPass', 'SntMergePass']);
    expect(ops(res.graph)).toEqual(ops(g));
    expect(countParameters(res.graph).total).toBe(countParameters(g).total);
  });

  it('the factor init gives the product the variance of the original weight', () => {
    const g = buildMlp({ hidden: [128] }, { seed: 0 });
    const { graph: x } = sntExpand(g, { expansion: 2, seed: 9 });
    const m = sntMerge(x);
    const sd = (h: Graph) => { const w = h.initializers.get('fc1.weight')!.initializer!.toFloat64(); return Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length); };
    expect(sd(m) / sd(g)).toBeGreaterThan(0.9);
    expect(sd(m) / sd(g)).toBeLessThan(1.1);
  });

  it('bad options are one clear line', () => {
    const g = buildMlp({ hidden: [16] });
    expect(() => sntExpand(g, { expansion: 0.5 })).toThrow(/^snt-expand: option 'expansion': .*>=1/);
    expect(() => sntExpand(g, { kind: 'weightNoise' as 'expandMerge' })).toThrow(/^snt-expand: option 'kind': .*"expandMerge"/);
    expect(() => sntExpand(g, { layers: ['fc1.bias'] })).toThrow("snt-expand: option 'layers' names 'fc1.bias', which is not a MatMul [in, out] or ungrouped Conv weight of graph \"mlp\" (expandable: fc1.weight, fc2.weight)");
    expect(() => sntExpand(g, { extra: 1 } as never)).toThrow(/^snt-expand: option '\(options\)'/);
    expect(() => sntExpand(sntExpand(g).graph)).toThrow(/already expanded/);
  });
});
