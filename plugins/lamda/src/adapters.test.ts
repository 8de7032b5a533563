import { Rng, Tensor, type Graph } from '@tessera/core';
import { acceptabilityTask } from '@tessera/data';
import { buildBert, buildGpt } from '@tessera/models';
import { exportModel, importModel } from '@tessera/onnx';
import { createExecutor } from '@tessera/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { findAdapters, findTargets, lamda, lora, mergeAdapters } from './index.js';

const executor = createExecutor('ort-node', { threads: 1 });
afterAll(() => executor.dispose());

const bert = () => buildBert({ vocab: 161, dim: 32, depth: 2, heads: 2, mlpDim: 64 }, { seed: 3 });
const gpt = () => buildGpt({ vocab: 64, context: 16, dim: 32, depth: 2, heads: 2, mlpDim: 64 }, { seed: 4 });
const bertX = acceptabilityTask({ n: 16, seed: 9 }).dataset.x;
const gptX = (() => {
  const rng = new Rng(5);
  return Tensor.from(Array.from({ length: 8 * 16 }, () => rng.int(64)), [8, 16], 'int64');
})();

async function outputs(g: Graph, x: Tensor): Promise<Float32Array> {
  const r = await executor.run(g, { x });
  return r[g.outputs[0]!.name]!.data as Float32Array;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Random S and B so the adapters change the model (as after training). */
function perturb(g: Graph, seed: number): void {
  const rng = new Rng(seed);
  for (const l of findAdapters(g)) for (const p of [l.S, l.B, l.A]) {
    if (!p || (l.kind === 'lamda' && p === l.A)) continue;
    const t = g.initializers.get(p)!.initializer!;
    g.setInitializer(p, Tensor.from(Array.from({ length: t.size }, () => 0.05 * rng.normal()), t.shape, 'float32'));
  }
}

describe('adapter insertion', () => {
  it('finds the six projections of every block, and only the chosen ones', () => {
    expect(findTargets(bert()).map((t) => t.name).slice(0, 6)).toEqual(['blocks.0.attn.q', 'blocks.0.attn.k', 'blocks.0.attn.v', 'blocks.0.attn.o', 'blocks.0.mlp.fc1', 'blocks.0.mlp.fc2']);
    expect(findTargets(bert(), ['q', 'v'], [1]).map((t) => t.name)).toEqual(['blocks.1.attn.q', 'blocks.1.attn.v']);
    expect(() => lamda(bert(), { targets: ['q'], blocks: [7] })).toThrow(/lamda-insert: graph "bert" has no projection matching targets \[q\] in blocks \[7\]/);
  });

  it('LaMDA: A, B orthonormal singular vectors of W, S = 0, A frozen; ranks and shapes', () => {
    const { graph, layers } = lamda(bert(), { rank: 4 });
    expect(layers).toHaveLength(12);
    const fc1 = layers.find((l) => l.name === 'blocks.0.mlp.fc1')!;
    expect([fc1.dIn, fc1.dOut, fc1.rank, fc1.scale]).toEqual([32, 64, 4, 4]);
    const A = graph.initializers.get(fc1.A)!;
    expect(A.meta.get('frozen')).toBe(true);
    expect(graph.initializers.get(fc1.S!)!.initializer!.toFloat64().every((v) => v === 0)).toBe(true);
    const a = A.initializer!.toFloat64();
    const b = graph.initializers.get(fc1.B)!.initializer!.toFloat64();
    for (let p = 0; p < 4; p++) for (let q = 0; q < 4; q++) {
      let aa = 0;
      let bb = 0;
      for (let i = 0; i < 32; i++) aa += a[i * 4 + p]! * a[i * 4 + q]!;
      for (let j = 0; j < 64; j++) bb += b[p * 64 + j]! * b[q * 64 + j]!;
      expect(aa).toBeCloseTo(p === q ? 1 : 0, 5); // AᵀA = I_r (float32 storage)
      expect(bb).toBeCloseTo(p === q ? 1 : 0, 5); // BBᵀ = I_r
    }
    expect(findAdapters(graph).map((l) => [l.name, l.kind, l.rank])).toEqual(layers.map((l) => [l.name, l.kind, l.rank]));
  });

  for (const [name, build, x] of [['tiny BERT', bert, bertX], ['tiny GPT', gpt, gptX]] as const) {
    it(`${name}: at step 0 LaMDA (SVD and code-release init) and LoRA outputs equal the pretrained model's`, async () => {
      const base = build();
      const ref = await outputs(base, x);
      for (const adapted of [lamda(base).graph, lamda(base, { init: 'code-release' }).graph, lora(base).graph]) {
        expect(adapted.nodes.length).toBeGreaterThan(base.nodes.length);
        expect(maxDiff(await outputs(adapted, x), ref)).toBe(0);
      }
    });
  }

  it('merged export: adapters folded into W, plain ONNX model on onnxruntime-node gives the adapted outputs', async () => {
    for (const [build, x] of [[bert, bertX], [gpt, gptX]] as const) {
      const base = build();
      for (const { graph } of [lamda(base, { rank: 4, rankAllocation: { kind: 'spectral-energy', rMin: 1, rMax: 8 } }), lora(base, { rank: 4 })]) {
        perturb(graph, 11);
        const adapted = await outputs(graph, x);
        expect(maxDiff(adapted, await outputs(base, x))).toBeGreaterThan(1e-3); // the adapters matter
        const merged = graph.clone();
        expect(mergeAdapters(merged)).toHaveLength(12);
        expect(merged.nodes.map((n) => n.op).sort()).toEqual(base.nodes.map((n) => n.op).sort());
        expect([...merged.initializers.keys()].sort()).toEqual([...base.initializers.keys()].sort());
        const roundTrip = importModel(exportModel(merged));
        // Float32 reassociation only: x(W + s·ASB) vs xW + s·xASB.
        expect(maxDiff(await outputs(roundTrip, x), adapted)).toBeLessThan(2e-5);
      }
    }
  });
});
