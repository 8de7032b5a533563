import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../builder.js';
import { Rng } from '../rng.js';
import { Tensor } from '../tensor.js';
import { maxDiff, random, runOp, t, values } from './test-util.js';

function naiveMatMul(a: Tensor, b: Tensor, M: number, K: number, N: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a.getFlat(i * K + k) * b.getFlat(k * N + j);
    out[i * N + j] = s;
  }
  return out;
}

describe('MatMul / Gemm / Einsum', () => {
  it('blocked MatMul matches a naive product on awkward sizes', () => {
    const rng = new Rng(1);
    for (const [M, K, N] of [[1, 1, 1], [3, 5, 7], [9, 17, 6], [33, 70, 65], [4, 300, 4]] as const) {
      const a = random(rng, [M, K]);
      const b = random(rng, [K, N]);
      const y = runOp('MatMul', [a, b])[0]!;
      expect(y.shape).toEqual([M, N]);
      expect(maxDiff(y, naiveMatMul(a, b, M, K, N))).toBeLessThan(1e-4);
    }
  });

  it('MatMul broadcasts batch dims and handles 1-D operands', () => {
    const rng = new Rng(2);
    const a = random(rng, [2, 1, 3, 4]);
    const b = random(rng, [5, 4, 2]);
    const y = runOp('MatMul', [a, b])[0]!;
    expect(y.shape).toEqual([2, 5, 3, 2]);
    const a1 = Tensor.from(a.toNumbers().slice(12, 24), [3, 4]);
    const b3 = Tensor.from(b.toNumbers().slice(16, 24), [4, 2]);
    const ref = naiveMatMul(a1, b3, 3, 4, 2);
    const got = y.toNumbers().slice((1 * 5 + 2) * 6, (1 * 5 + 2) * 6 + 6);
    got.forEach((v, i) => expect(v).toBeCloseTo(ref[i]!, 5));
    const v = runOp('MatMul', [t([1, 2], [2]), t([1, 2, 3, 4, 5, 6], [2, 3])])[0]!;
    expect(v.shape).toEqual([3]);
    expect(values(v)).toEqual([9, 12, 15]);
  });

  it('MatMul inference names the differing inner dimensions', () => {
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', ['N', 784]);
    const w = b.param('w', Tensor.zeros('float32', [256, 10]));
    expect(() => b.matmul(x, w)).toThrow(/MatMul "matmul": inner dimensions 784 and 256 differ/);
  });

  it('Gemm applies transposes, alpha, beta and a broadcast C', () => {
    const a = t([1, 2, 3, 4, 5, 6], [3, 2]);
    const b = t([1, 0, 0, 1, 1, 1], [3, 2]);
    const y = runOp('Gemm', [a, b, t([1, 2], [2])], { transA: 1, alpha: 2, beta: 10 })[0]!;
    // Aᵀ·B = [[1+0+5, 0+3+5], [2+0+6, 0+4+6]] = [[6, 8], [8, 10]]
    expect(values(y)).toEqual([22, 36, 26, 40]);
  });

  it('Einsum handles transpose, batch matmul, trace and implicit output', () => {
    const rng = new Rng(3);
    const a = random(rng, [2, 3, 4]);
    const b = random(rng, [2, 4, 5]);
    const bmm = runOp('Einsum', [a, b], { equation: 'bij,bjk->bik' })[0]!;
    const ref = runOp('MatMul', [a, b])[0]!;
    expect(maxDiff(bmm, ref.toFloat64())).toBeLessThan(1e-5);
    expect(values(runOp('Einsum', [t([1, 2, 3, 4], [2, 2])], { equation: 'ii' })[0]!)).toEqual([5]);
    expect(runOp('Einsum', [t([1, 2, 3, 4, 5, 6], [2, 3])], { equation: 'ij->ji' })[0]!.shape).toEqual([3, 2]);
    expect(values(runOp('Einsum', [t([1, 2], [2]), t([3, 4], [2])], { equation: 'i,i' })[0]!)).toEqual([11]);
  });

  it('Det of a batch of matrices', () => {
    const y = runOp('Det', [t([1, 2, 3, 4, 2, 0, 0, 3], [2, 2, 2])])[0]!;
    expect(values(y)).toEqual([-2, 6]);
  });
});
