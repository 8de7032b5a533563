import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, Rng, Tensor, interpret, standardOps, type Graph } from '@tessera/core';
import { createExecutor } from '@tessera/runtime';
import { Trainer, sgd, trainableCandidates, type Examples } from '@tessera/train';
import { assignFormats, weightImportance } from './assign.js';
import { inferenceEnergy } from './energy.js';
import { finetuneMixed, sliceRows } from './finetune.js';
import { layerFormatsOf } from './format-map.js';
import { positSpacing } from './formats.js';
import { positMixedRegistry } from './mac.js';
import { referenceAgreement } from './plugin.js';
import { calibrateActivations, quantizedGraph } from './quantized-graph.js';
import { pretrained } from './test-fixtures.js';

const node = createExecutor('ort-node');
const web = createExecutor('ort-web');
afterAll(async () => { await node.dispose(); await web.dispose(); });

/** Conv (pads 1, bias) -> Relu -> Flatten -> MatMul -> Relu -> Gemm(transB) + bias: small enough that float32 sums are exact. */
function tinyNet(): Graph {
  const rng = new Rng(5);
  const b = new GraphBuilder();
  b.graph.name = 'tiny';
  b.graph.opsets = [{ domain: '', version: 17 }];
  const rand = (shape: number[], s: number) => Tensor.from(Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => s * rng.normal()), shape);
  const x = b.input('x', 'float32', ['N', 2, 6, 6]);
  let h = b.op('Conv', [x, b.param('conv.weight', rand([3, 2, 3, 3], 0.3)), b.param('conv.bias', Tensor.from([0.125, -0.25, 0.5], [3]))], { pads: [1, 1, 1, 1] }, { name: 'conv' });
  h = b.op('Reshape', [b.op('Relu', [h]), b.ints([0, 108])]);
  h = b.op('Relu', [b.op('MatMul', [h, b.param('fc.weight', rand([108, 8], 0.1))], {}, { name: 'fc' })]);
  b.output(b.op('Gemm', [h, b.param('head.weight', rand([4, 8], 0.4)), b.param('head.bias', Tensor.from([0.5, 0, -0.5, 0.25], [4]))], { transB: 1 }, { name: 'head' }), 'logits');
  return b.graph;
}

describe('exact posit x fixed MAC on the reference interpreter vs the ONNX fake-quant lowering', () => {
  it('tiny Conv / MatMul / Gemm net: interpreter (kernel variant) and onnxruntime-node and -web agree bit for bit', async () => {
    const g = tinyNet();
    const map = assignFormats(g, undefined, { positFraction: 0.3, importance: 'uniform' });
    const acts = new Map(map.layers.map((a) => [a.node, 'fixed<8,4>']));
    const inf = quantizedGraph(g, map, { mode: 'inference', activations: acts });
    expect(inf.nodes.filter((n) => n.meta.get('kernel') === 'posit-mixed-mac').map((n) => n.name)).toEqual(['conv', 'fc', 'head']);
    const rng = new Rng(9);
    const x = Tensor.from(Array.from({ length: 4 * 72 }, () => rng.uniform() * 4 - 2), [4, 2, 6, 6]);
    const exact = interpret(inf, { x }, { registry: positMixedRegistry() }).logits!;
    for (const ex of [node, web]) {
      const got = (await ex.run(inf, { x })).logits!;
      expect(Array.from(got.data as Float32Array)).toEqual(Array.from(exact.data as Float32Array));
    }
    // Without the plugin's registry the variant does not exist: the exact MAC really ran above.
    expect(() => interpret(inf, { x }, { registry: standardOps() })).toThrow(/kernel variant 'posit-mixed-mac' is not defined/);
    // A narrow accumulator saturates: results change, and stay within its range.
    const narrow = interpret(inf, { x }, { registry: positMixedRegistry({ accumulatorBits: 10 }) }).logits!;
    expect(Array.from(narrow.data as Float32Array)).not.toEqual(Array.from(exact.data as Float32Array));
  });

  it('LeNet on Fashion-MNIST: exact MAC and onnxruntime predict the same classes; energy is an ordered, labelled estimate', async () => {
    const { graph, train, test } = await pretrained('lenet', node);
    const acts = await calibrateActivations(graph, sliceRows(train.x, 0, 128), 8, node);
    const imp = (await weightImportance(graph, train, { kind: 'weight-gradient', batches: 2, batchSize: 64, hessianProbes: 1, seed: 0, executor: node })).importance;
    const energies: number[] = [];
    for (const rho of [0, 0.05, 0.2, 1]) {
      const g = graph.clone();
      const map = assignFormats(g, imp, { positFraction: rho });
      const inf = quantizedGraph(g, map, { mode: 'inference', activations: acts });
      const e = inferenceEnergy(inf, map, { activation: acts, accumulatorBits: 32 });
      expect(e.estimated).toBe(true);
      expect(e.model).toMatch(/Horowitz ISSCC 2014/);
      energies.push(e.totalPj);
      // The shift-add unit of our notes [R] is cheaper than the generic posit x fixed unit, and equal with no Posit4 weights.
      const sa = inferenceEnergy(inf, map, { activation: acts, accumulatorBits: 32, positMac: 'shift-add' });
      if (rho === 0) expect(sa.totalPj).toBe(e.totalPj);
      else expect(sa.totalPj).toBeLessThan(e.totalPj);
      if (rho === 0.05) {
        const r = await referenceAgreement(inf, test, 6, 32, node);
        expect(r.agreeingPredictions).toBe(6);
        expect(r.maxAbsDiff).toBeLessThan(1e-4);
      }
    }
    expect([...energies].sort((a, b) => a - b)).toEqual(energies);
    expect(energies[0]!).toBeLessThan(energies[3]!);
  }, 60_000);
});

describe('posit gradient approximation [R] vs the plain STE', () => {
  let graph: Graph;
  let train: Examples;
  beforeAll(async () => { ({ graph, train } = await pretrained('mlp', node)); }, 60_000);

  it('scales the STE gradient of Posit4 weights by Δ_fix/Δ_pos(w) (clamped) and leaves FixP4 weights alone', async () => {
    const g = graph.clone();
    const map = assignFormats(g, undefined, { positFraction: 0.3, importance: 'uniform' });
    const grads = async (gradient: 'ste' | 'posit') => {
      const t = await Trainer.create({ forward: quantizedGraph(g, map, { mode: 'train', gradient }), optimizer: sgd({ lr: 0 }), batchSize: 64, params: trainableCandidates(g), executor: node });
      const flat = await t.gradientAt(t.batches(train, 0).next().value!);
      const out = new Map<string, Float64Array>();
      let off = 0;
      for (const s of t.trainingGraph.slots) { const n = s.shape.reduce((a, d) => a * d, 1); out.set(s.param, flat.slice(off, off + n)); off += n; }
      return out;
    };
    const ste = await grads('ste');
    const pos = await grads('posit');
    let checked = 0;
    for (const a of map.layers) {
      const f = layerFormatsOf(a);
      const { values, spacing } = positSpacing(f.posit, f.positShift);
      const w = g.value(a.param)!.initializer!;
      const gs = ste.get(a.param)!;
      const gp = pos.get(a.param)!;
      for (let i = 0; i < gs.length; i++) {
        if (gs[i] === 0) continue;
        let k = 0;
        while (k + 1 < values.length && w.getFlat(i) >= Math.fround((values[k]! + values[k + 1]!) / 2)) k++;
        const want = a.mask[i] ? Math.min(4, Math.max(0.25, f.fix.step / spacing[k]!)) : 1;
        expect(gp[i]! / gs[i]!).toBeCloseTo(want, 4);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('fine-tuning through @tessera/train moves the latent weights, differently for the two gradients', async () => {
    const map = assignFormats(graph.clone(), undefined, { positFraction: 0.2, importance: 'uniform' });
    const a = await finetuneMixed(graph, map, train, undefined, { gradient: 'ste', maxSteps: 8 }, { executor: node });
    const b = await finetuneMixed(graph, map, train, undefined, { gradient: 'posit', maxSteps: 8 }, { executor: node });
    expect(a.steps).toBe(8);
    const w0 = graph.value('fc1.weight')!.initializer!;
    const wa = a.graph.value('fc1.weight')!.initializer!;
    const wb = b.graph.value('fc1.weight')!.initializer!;
    let da = 0;
    let dab = 0;
    for (let i = 0; i < w0.size; i++) { da += Math.abs(wa.getFlat(i) - w0.getFlat(i)); dab += Math.abs(wa.getFlat(i) - wb.getFlat(i)); }
    expect(da).toBeGreaterThan(0);
    expect(dab).toBeGreaterThan(0);
    expect(a.graph.value('fc1.weight')!.format?.id).toMatch(/^fixed<4,/);
  }, 60_000);
});
