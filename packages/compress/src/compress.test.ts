import { interpret, PassManager, PassError, Tensor, Rng, type Graph } from '@tessera/core';
import { buildLeNet5, buildMlp } from '@tessera/models';
import { describe, expect, it } from 'vitest';
import { MagnitudePruningPass, pruneMagnitude, quantizeWeights, WeightQuantizationPass, weightLayers } from './index.js';

const mlp = (seed = 0) => buildMlp({ hidden: [32, 16] }, { seed });
const weights = (g: Graph, name: string) => g.initializers.get(name)!.initializer!.toFloat64();
const zerosOf = (xs: Float64Array) => xs.reduce((a, x) => a + (x === 0 ? 1 : 0), 0);

describe('weightLayers', () => {
  it('finds MatMul and Conv weights, not biases', () => {
    expect(weightLayers(mlp()).map((l) => [l.weight.name, l.channelAxis])).toEqual([['fc1.weight', 1], ['fc2.weight', 1], ['fc3.weight', 1]]);
    const lenet = weightLayers(buildLeNet5({}, { seed: 0 }));
    expect(lenet.filter((l) => l.node.op === 'Conv').every((l) => l.channelAxis === 0)).toBe(true);
    expect(lenet.length).toBeGreaterThanOrEqual(4);
  });
});

describe('pruneMagnitude', () => {
  for (const sparsity of [0.5, 0.7, 0.9]) {
    it(`global ${sparsity}: zeroes exactly round(${sparsity}·n) weights, all smaller than every survivor`, () => {
      const g = mlp();
      const before = weightLayers(g).map((l) => l.weight.initializer!.toFloat64());
      const r = pruneMagnitude(g, { sparsity });
      const n = before.reduce((a, w) => a + w.length, 0);
      expect(r.size).toBe(n);
      expect(r.zeros).toBe(Math.round(sparsity * n));
      let maxPruned = 0;
      let minKept = Infinity;
      weightLayers(g).forEach((l, k) => {
        const after = l.weight.initializer!.toFloat64();
        after.forEach((x, i) => {
          const w = Math.abs(before[k]![i]!);
          if (x === 0) maxPruned = Math.max(maxPruned, w);
          else { minKept = Math.min(minKept, w); expect(x).toBe(before[k]![i]); }
        });
      });
      expect(maxPruned).toBeLessThanOrEqual(minKept);
      // Biases are untouched.
      expect(zerosOf(weights(g, 'fc1.bias'))).toBe(32);
    });
  }

  it("scope 'layer' prunes the same fraction in every layer", () => {
    const g = mlp();
    const r = pruneMagnitude(g, { sparsity: 0.7, scope: 'layer' });
    for (const l of r.layers) expect(l.zeros).toBe(Math.round(0.7 * l.size));
  });

  it('global pruning removes more from the small-magnitude layer than per-layer pruning', () => {
    // fc1 (Kaiming, fan-in 784) has much smaller weights than fc3 (fan-in 16).
    const r = pruneMagnitude(mlp(), { sparsity: 0.5 });
    const fc1 = r.layers.find((l) => l.name === 'fc1.weight')!;
    const fc3 = r.layers.find((l) => l.name === 'fc3.weight')!;
    expect(fc1.sparsity).toBeGreaterThan(0.5);
    expect(fc3.sparsity).toBeLessThan(0.5);
  });

  it('prunes only the named layers', () => {
    const g = mlp();
    pruneMagnitude(g, { sparsity: 0.9, layers: ['fc2.weight'] });
    expect(zerosOf(weights(g, 'fc2.weight'))).toBe(Math.round(0.9 * 32 * 16));
    expect(zerosOf(weights(g, 'fc1.weight'))).toBe(0);
  });

  it('the pruned graph still runs and sparsity 0 changes nothing', () => {
    const g = mlp();
    const x = Tensor.from(Array.from({ length: 784 }, (_, i) => (i % 7) / 7), [1, 1, 28, 28]);
    const y0 = interpret(g, { x }).logits!.toFloat64();
    pruneMagnitude(g, { sparsity: 0 });
    expect(Array.from(interpret(g, { x }).logits!.toFloat64())).toEqual(Array.from(y0));
  });
});

describe('quantizeWeights', () => {
  for (const bits of [8, 4, 3, 2]) {
    it(`${bits} bits per channel: every weight is an integer multiple k·s_c with |k| <= 2^(b-1)-1, error <= s_c/2`, () => {
      const g = mlp(3);
      const before = weightLayers(g).map((l) => ({ w: l.weight.initializer!.toFloat64(), shape: l.weight.initializer!.shape }));
      const r = quantizeWeights(g, { bits });
      const n = 2 ** (bits - 1) - 1;
      expect(r.format).toBe(`int<${bits},sym>`);
      r.layers.forEach((l, k) => {
        const [rows, cols] = before[k]!.shape as [number, number];
        expect(l.axis).toBe(1);
        expect(l.scales.length).toBe(cols);
        const q = weights(g, l.name);
        for (let c = 0; c < cols; c++) {
          const s = l.scales[c]!;
          let maxAbs = 0;
          for (let i = 0; i < rows; i++) maxAbs = Math.max(maxAbs, Math.abs(before[k]!.w[i * cols + c]!));
          expect(s).toBeCloseTo(maxAbs / n, 6);
          const levels = new Set<number>();
          let offGrid = 0;
          let maxErr = 0;
          for (let i = 0; i < rows; i++) {
            const code = q[i * cols + c]! / s;
            offGrid = Math.max(offGrid, Math.abs(code - Math.round(code)));
            maxErr = Math.max(maxErr, Math.abs(q[i * cols + c]! - before[k]!.w[i * cols + c]!));
            levels.add(Math.round(code));
          }
          expect(offGrid).toBeLessThan(1e-3);
          expect(Math.max(...[...levels].map(Math.abs))).toBe(n);
          expect(maxErr).toBeLessThanOrEqual(s / 2 + 1e-6);
          expect(levels.size).toBeLessThanOrEqual(2 * n + 1);
        }
        expect(g.initializers.get(l.name)!.format).toEqual({ id: `int<${bits},sym>`, bits });
      });
    });
  }

  it('per-tensor: one scale per weight', () => {
    const g = mlp();
    const r = quantizeWeights(g, { bits: 4, perChannel: false });
    expect(r.layers.every((l) => l.axis === null && l.scales.length === 1)).toBe(true);
  });

  it('quantizes conv weights along output channels', () => {
    const g = buildLeNet5({}, { seed: 1 });
    const r = quantizeWeights(g, { bits: 3 });
    const conv = r.layers.find((l) => g.initializers.get(l.name)!.initializer!.rank === 4)!;
    expect(conv.axis).toBe(0);
    expect(conv.scales.length).toBe(g.initializers.get(conv.name)!.initializer!.shape[0]);
  });

  it('8-bit quantization keeps the logits close; 2-bit moves them', () => {
    const x = new Tensor('float32', [4, 1, 28, 28], (() => { const r = new Rng(5); return Float32Array.from({ length: 4 * 784 }, () => r.uniform()); })());
    const ref = interpret(mlp(), { x }).logits!.toFloat64();
    const err = (bits: number) => {
      const g = mlp();
      quantizeWeights(g, { bits });
      const y = interpret(g, { x }).logits!.toFloat64();
      return Math.max(...y.map((v, i) => Math.abs(v - ref[i]!)));
    };
    expect(err(8)).toBeLessThan(0.02);
    expect(err(2)).toBeGreaterThan(10 * err(8));
  });
});

describe('passes', () => {
  it('run through the PassManager and report', () => {
    const g = mlp();
    const prune = new MagnitudePruningPass({ sparsity: 0.7 });
    const quant = new WeightQuantizationPass({ bits: 4 });
    const res = new PassManager([prune, quant], { verify: true }).run(g);
    expect(res.records.map((r) => r.pass)).toEqual(['MagnitudePruningPass', 'WeightQuantizationPass']);
    expect(prune.report!.sparsity).toBeCloseTo(0.7, 4);
    // Quantization keeps zeros at zero (0 is a level of the symmetric grid).
    const zeros = weightLayers(g).reduce((a, l) => a + zerosOf(l.weight.initializer!.toFloat64()), 0);
    expect(zeros).toBeGreaterThanOrEqual(prune.report!.zeros);
  });

  it('a graph without layer weights fails the precondition naming the pass', () => {
    const g = mlp();
    const empty = new (g.constructor as new (name: string) => Graph)('empty');
    expect(() => new PassManager([new MagnitudePruningPass({ sparsity: 0.5 })]).run(empty)).toThrow(PassError);
    expect(() => new PassManager([new MagnitudePruningPass({ sparsity: 0.5 })]).run(empty)).toThrow(/MagnitudePruningPass failed in requires: graph "empty" has no Conv\/MatMul\/Gemm weights/);
  });

  it('bad options are one clear line naming the option', () => {
    const one = (f: () => unknown) => {
      try { f(); } catch (e) { return (e as Error).message; }
      throw new Error('no error');
    };
    for (const msg of [
      one(() => pruneMagnitude(mlp(), { sparsity: 1.2 })),
      one(() => new MagnitudePruningPass({ sparsity: -0.1 })),
      one(() => pruneMagnitude(mlp(), { sparsity: 0.5, scope: 'row' as 'global' })),
      one(() => quantizeWeights(mlp(), { bits: 1 })),
      one(() => quantizeWeights(mlp(), { bits: 4.5 })),
      one(() => new WeightQuantizationPass({ bits: 4, mode: 'qdq' } as never)),
      one(() => pruneMagnitude(mlp(), { sparsity: 0.5, layers: ['fc9.weight'] })),
    ]) {
      expect(msg).not.toContain('\n');
      expect(msg).toMatch(/^(prune-magnitude|quantize-weights): option '/);
    }
    expect(one(() => pruneMagnitude(mlp(), { sparsity: 1.2 }))).toContain("option 'sparsity'");
    expect(one(() => pruneMagnitude(mlp(), { sparsity: 0.5, layers: ['fc9.weight'] }))).toContain('fc1.weight, fc2.weight, fc3.weight');
  });
});
