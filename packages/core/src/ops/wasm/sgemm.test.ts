import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../builder.js';
import '../../builder-ops.js';
import { interpret } from '../../interpreter.js';
import { Rng } from '../../rng.js';
import { Tensor } from '../../tensor.js';
import { gemmABt } from '../gemm.js';
import { random } from '../test-util.js';
import { sleb, uleb } from './emit.js';
import { sgemm, sgemmReady } from './sgemm.js';
import { sgemmModuleBytes } from './sgemm-module.js';

/** max |a - b| / (1 + |b|) */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return m;
}

describe('wasm emitter', () => {
  it('encodes LEB128 like the spec examples', () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
  });

  it('emits a module that validates on this Node (wasm SIMD is on in Node 20)', () => {
    expect(WebAssembly.validate(sgemmModuleBytes())).toBe(true);
    expect(sgemmReady()).toBe(true);
  });
});

describe('float32 GEMM: wasm SIMD kernel vs the JS kernel', () => {
  it('agrees with the float64 JS GEMM on ragged sizes and strided (transposed) operands', () => {
    const rng = new Rng(1);
    for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [4, 8, 16], [17, 9, 33], [64, 130, 200], [5, 3, 0]] as const) {
      const A = Float32Array.from({ length: M * K }, () => rng.normal());
      const B = Float32Array.from({ length: K * N }, () => rng.normal());
      const Bt = new Float64Array(N * K);
      for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j]!;
      const ref = new Float64Array(M * N);
      gemmABt(M, N, K, A, 0, Bt, 0, ref, 0);
      const C = new Float32Array(M * N).fill(NaN);
      sgemm(M, N, K, A, 0, K, 1, B, 0, N, 1, C, 0, N);
      expect(relErr(C, ref), `${M}x${N}x${K}`).toBeLessThan(1e-5);
      // Same product with B read through its transpose (panel packing path) and A through strides.
      const At = new Float32Array(K * M);
      for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) At[k * M + i] = A[i * K + k]!;
      const C2 = new Float32Array(M * N);
      sgemm(M, N, K, At, 0, 1, M, Float32Array.from(Bt), 0, 1, K, C2, 0, N);
      expect(relErr(C2, ref), `${M}x${N}x${K} transposed`).toBeLessThan(1e-5);
    }
  });

  it('MatMul, Gemm, Conv and ConvTranspose give the same float32 results on both kernel paths', () => {
    const rng = new Rng(7);
    const b = new GraphBuilder();
    const x = b.input('x', 'float32', [3, 4, 11, 9]);
    const conv = b.op('Conv', [x, b.param('w', random(rng, [6, 2, 3, 3])), b.param('cb', random(rng, [6]))], { pads: [1, 2, 0, 1], strides: [2, 1], group: 2 });
    const convT = b.op('ConvTranspose', [conv, b.param('wt', random(rng, [6, 3, 2, 2]))], { strides: [2, 2] });
    const flat = b.op('Flatten', [convT]);
    const gemm = b.op('Gemm', [flat, b.param('g', random(rng, [5, 600])), b.param('gb', random(rng, [5]))], { transB: 1, alpha: 0.5 });
    const mm = b.op('MatMul', [b.op('Reshape', [x, b.ints([3, 4, 99])]), b.param('m', random(rng, [99, 7]))]);
    const bmm = b.op('MatMul', [mm, b.param('m2', random(rng, [3, 7, 5]))]);
    b.output(gemm, 'gemm');
    b.output(conv, 'conv');
    b.output(bmm, 'bmm');
    const feeds = { x: random(rng, [3, 4, 11, 9]) };
    const fast = interpret(b.graph, feeds);
    const g = b.graph.clone();
    let n = 0;
    for (const node of g.nodes) if (['MatMul', 'Gemm', 'Conv', 'ConvTranspose'].includes(node.op)) { node.meta.set('kernel', 'js'); n++; }
    expect(n).toBe(5);
    const slow = interpret(g, feeds);
    for (const k of ['gemm', 'conv', 'bmm']) {
      const a = fast[k]!;
      const r = slow[k]!;
      expect(a.shape).toEqual(r.shape);
      expect(relErr(a.data as Float32Array, r.data as Float32Array), k).toBeLessThan(1e-4);
    }
  });

  it('float64 stays on the JS kernel (bit-identical to the js variant)', () => {
    const rng = new Rng(3);
    const a = random(rng, [9, 13], 'float64');
    const w = random(rng, [13, 6], 'float64');
    const b = new GraphBuilder();
    b.output(b.op('MatMul', [b.input('a', 'float64', [9, 13]), b.param('w', w)]), 'y');
    const y1 = interpret(b.graph, { a }).y!;
    b.graph.nodes[0]!.meta.set('kernel', 'js');
    const y2 = interpret(b.graph, { a }).y!;
    expect(Array.from(y1.data as Float64Array)).toEqual(Array.from(y2.data as Float64Array));
    expect(y1.dtype).toBe('float64');
    expect(Tensor.from([1], [1]).dtype).toBe('float32');
  });
});
