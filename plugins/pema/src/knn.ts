/**
 * kNN-LM (Khandelwal et al.) on the same external memory: the honest competitor that also uses
 * only the memory. p_kNN(v | f) ∝ Σ over the k nearest keys (squared L2) with value v of
 * exp(−dist / temperature). Distances are one MatMul per chunk of queries on onnxruntime.
 */
import { GraphBuilder, Tensor } from '@tessera/core';
import { createExecutor } from '@tessera/runtime';
import { ExternalMemory } from './memory.js';

export interface Neighbours {
  k: number;
  /** [n, k] memory indices, nearest first. */
  index: Int32Array;
  /** [n, k] squared L2 distances. */
  dist: Float32Array;
}

/** The k nearest memory keys of each query row (queries [n, d]). */
export async function nearestKeys(memory: ExternalMemory, queries: Float32Array, k: number): Promise<Neighbours> {
  if (!ExternalMemory.is(memory)) throw new Error('nearestKeys: memory must be an ExternalMemory');
  const { d, n: N } = memory;
  const n = queries.length / d;
  const kk = Math.min(k, N);
  const chunk = 256;
  const b = new GraphBuilder();
  const q = b.input('q', 'float32', ['M', d]);
  const kt = b.input('kt', 'float32', [d, N]);
  b.output(b.op('MatMul', [q, kt]), 'dots');
  const keysT = new Float32Array(d * N);
  const norms = new Float32Array(N);
  for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) {
    const x = memory.keys[i * d + j]!;
    keysT[j * N + i] = x;
    norms[i] += x * x;
  }
  const executor = createExecutor('ort-node');
  const session = await executor.session(b.graph);
  const ktT = new Tensor('float32', [d, N], keysT);
  const index = new Int32Array(n * kk);
  const dist = new Float32Array(n * kk);
  const bestD = new Float64Array(kk);
  const bestI = new Int32Array(kk);
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const qs = queries.subarray(s * d, (s + m) * d);
    const dots = (await session.run({ q: new Tensor('float32', [m, d], qs.slice()), kt: ktT })).dots!.data as Float32Array;
    for (let r = 0; r < m; r++) {
      let qn = 0;
      for (let j = 0; j < d; j++) qn += qs[r * d + j]! ** 2;
      bestD.fill(Infinity);
      bestI.fill(-1);
      for (let i = 0; i < N; i++) {
        const dd = qn + norms[i]! - 2 * dots[r * N + i]!;
        if (dd >= bestD[kk - 1]!) continue;
        let p = kk - 1;
        while (p > 0 && bestD[p - 1]! > dd) { bestD[p] = bestD[p - 1]!; bestI[p] = bestI[p - 1]!; p--; }
        bestD[p] = dd;
        bestI[p] = i;
      }
      for (let j = 0; j < kk; j++) { index[(s + r) * kk + j] = bestI[j]!; dist[(s + r) * kk + j] = Math.max(0, bestD[j]!); }
    }
  }
  await executor.dispose();
  return { k: kk, index, dist };
}

/** log p_kNN over the vocabulary for query row i (−Infinity where no neighbour has that value). */
export function knnLogProbs(memory: ExternalMemory, nb: Neighbours, i: number, temperature: number, vocab: number): Float64Array {
  const out = new Float64Array(vocab).fill(-Infinity);
  let max = -Infinity;
  for (let j = 0; j < nb.k; j++) max = Math.max(max, -nb.dist[i * nb.k + j]! / temperature);
  const p = new Float64Array(vocab);
  let sum = 0;
  for (let j = 0; j < nb.k; j++) {
    const w = Math.exp(-nb.dist[i * nb.k + j]! / temperature - max);
    p[memory.values[nb.index[i * nb.k + j]!]!] += w;
    sum += w;
  }
  for (let v = 0; v < vocab; v++) if (p[v]! > 0) out[v] = Math.log(p[v]! / sum);
  return out;
}
