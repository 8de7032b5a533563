import { afterAll, describe, expect, it } from 'vitest';
import { Graph, GraphBuilder, Rng, Tensor } from '@tessera/core';
import { createExecutor, type Executor } from '@tessera/runtime';
import { bfloat16, fixed, float16, posit, pow2, uniformInt, type NumberFormat } from './index.js';
import { fakeQuantLowering, lowerFakeQuant } from './lowering.js';
import { float32Bits, float32FromBits } from './float-bits.js';

/** Elements per run: the lookup lowerings materialise [chunk, thresholds] comparisons. */
const CHUNK = 1 << 16;
const TOTAL = 1_000_000;

function fakeQuantGraph(f: NumberFormat): Graph {
  const b = new GraphBuilder();
  b.graph.name = `fq_${f.id}`;
  b.graph.opsets = [{ domain: '', version: 17 }];
  const x = b.input('x', 'float32', [CHUNK]);
  b.output(lowerFakeQuant(b, x, f), 'y');
  return b.graph;
}

/** The next float32 above x. */
function nextUp(x: number): number {
  if (x !== x || x === Infinity) return x;
  if (x === 0) return 2 ** -149;
  const b = float32Bits(x);
  return float32FromBits(x > 0 ? b + 1 : b - 1);
}
function nextDown(x: number): number { return -nextUp(-x); }

/**
 * 1,000,000 float32 inputs: specials, every value of the format and every decision point of its
 * lowering with both float32 neighbours (for both signs), then random inputs — log-uniform over
 * the format's range and uniform around its grid.
 */
function inputs(f: NumberFormat, seed: number): Float32Array {
  const xs: number[] = [0, -0, NaN, Infinity, -Infinity, 3.4e38, -3.4e38, 1e30, -1e30, 2 ** -149, -(2 ** -149), 1e-30, -1e-30, 2 ** -126, -(2 ** -126)];
  const vals = f.values();
  const points: number[] = [];
  if (vals) for (let i = 0; i < vals.length; i++) {
    points.push(vals[i]!);
    if (i + 1 < vals.length) points.push((vals[i]! + vals[i + 1]!) / 2, Math.sqrt(Math.abs(vals[i]! * vals[i + 1]!)) * Math.sign(vals[i]! + vals[i + 1]!));
  }
  // The lowering's own decision points (lookup thresholds, corrected-affine thresholds).
  for (const c of fakeQuantLowering(f).constants) if (c.name.startsWith('thresholds') || c.name === 'lower') points.push(...c.data.filter(Number.isFinite));
  for (const p of points) { const q = Math.fround(p); xs.push(q, nextUp(q), nextDown(q), -q, nextUp(-q), nextDown(-q)); }
  const finite = vals ? Array.from(vals).filter(Number.isFinite) : [-1e4, 1e4];
  const maxAbs = Math.max(...finite.map(Math.abs)) * 2 || 1;
  const minAbs = Math.min(...finite.filter((v) => v !== 0).map(Math.abs), 2 ** -20) / 4;
  const rng = new Rng(seed);
  const out = new Float32Array(TOTAL);
  out.set(xs.slice(0, TOTAL));
  for (let i = xs.length; i < TOTAL; i++) {
    const sign = rng.uniform() < 0.5 ? -1 : 1;
    out[i] = i % 2 === 0
      ? sign * Math.exp(Math.log(minAbs) + rng.uniform() * (Math.log(maxAbs) - Math.log(minAbs)))
      : (rng.uniform() * 2 - 1) * maxAbs;
  }
  return out;
}

const formats: NumberFormat[] = [
  posit(8, 2), posit(4, 1), fixed(8, 4), uniformInt({ bits: 8, symmetric: true, scale: 0.05 }), pow2(4), bfloat16, float16,
];

const executors: Record<'ort-node' | 'ort-web', Executor> = { 'ort-node': createExecutor('ort-node'), 'ort-web': createExecutor('ort-web') };
afterAll(async () => { for (const e of Object.values(executors)) await e.dispose(); });

describe('fake-quant lowering on onnxruntime equals quantize() bit for bit (1,000,000 float32 inputs)', () => {
  for (const f of formats) {
    for (const backend of ['ort-node', 'ort-web'] as const) {
      it(`${f.id} on ${backend}`, async () => {
        const xs = inputs(f, 7);
        const want = f.quantize(xs, new Float32Array(xs.length));
        const session = await executors[backend].session(fakeQuantGraph(f));
        const got = new Float32Array(xs.length);
        for (let s = 0; s < xs.length; s += CHUNK) {
          const chunk = new Float32Array(CHUNK);
          chunk.set(xs.subarray(s, s + CHUNK));
          const y = (await session.run({ x: new Tensor('float32', [CHUNK], chunk) })).y!;
          got.set((y.data as Float32Array).subarray(0, Math.min(CHUNK, xs.length - s)), s);
        }
        const gb = new Uint32Array(got.buffer);
        const wb = new Uint32Array(want.buffer);
        const bad: string[] = [];
        for (let i = 0; i < xs.length && bad.length < 5; i++) {
          const same = gb[i] === wb[i] || (Number.isNaN(got[i]) && Number.isNaN(want[i]));
          if (!same) bad.push(`x=${xs[i]} got ${got[i]} (0x${gb[i]!.toString(16)}) want ${want[i]} (0x${wb[i]!.toString(16)})`);
        }
        expect(bad).toEqual([]);
      }, 60_000);
    }
  }
});
