// Throughput of the posit kernels and vectorised quantisers; writes results/bench.json.
// Run: pnpm --filter @tessera/numerics bench   (or: cd packages/numerics && npx tsx bench/bench.ts)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bfloat16, fixed, float16, posit, uniformInt, type NumberFormat, type PositFormat } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const PEER = '/tmp/softposit-bench';

let sink = 0;

/** Best-of-3 ops/s of `body`, which performs `opsPerCall` operations per call. */
function measure(body: () => void, opsPerCall: number, minMs = 300): number {
  let best = 0;
  for (let rep = 0; rep < 3; rep++) {
    let calls = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < minMs) {
      body();
      calls++;
      t = performance.now();
    }
    best = Math.max(best, (calls * opsPerCall) / ((t - t0) / 1000));
  }
  return best;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function positOps(f: PositFormat): Record<string, number> {
  const N = 4096;
  const rnd = lcg(f.n * 31 + f.es);
  const a = new Uint32Array(N).map(() => Math.floor(rnd() * f.size));
  const b = new Uint32Array(N).map(() => Math.floor(rnd() * f.size));
  const xs = new Float64Array(N).map(() => (rnd() - 0.5) * 2 ** (rnd() * 16 - 8));
  const binary = (op: (x: number, y: number) => number) => () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += op(a[i]!, b[i]!);
    sink += s;
  };
  const qa = Array.from({ length: 100 }, () => f.encode((rnd() - 0.5) * 4));
  const qb = Array.from({ length: 100 }, () => f.encode((rnd() - 0.5) * 4));
  return {
    add: measure(binary((x, y) => f.add(x, y)), N),
    mul: measure(binary((x, y) => f.mul(x, y)), N),
    div: measure(binary((x, y) => f.div(x, y)), N),
    fromDouble: measure(() => {
      let s = 0;
      for (let i = 0; i < N; i++) s += f.encode(xs[i]!);
      sink += s;
    }, N),
    quireDot100: measure(() => {
      sink += f.dot(qa, qb);
    }, 1),
  };
}

function quantizeRate(f: NumberFormat): number {
  const n = 1 << 20;
  const rnd = lcg(7);
  const src = new Float32Array(n).map(() => (rnd() - 0.5) * 8);
  const dst = new Float32Array(n);
  return measure(() => {
    f.quantize(src, dst);
    sink += dst[12345]!;
  }, n, 1000);
}

function peer(): unknown {
  if (!existsSync(PEER)) return { available: false, reason: `${PEER} not found (SoftPosit C bench not built on this machine)` };
  try {
    return { available: true, ...JSON.parse(execFileSync(PEER, { encoding: 'utf8', timeout: 120_000 })) };
  } catch (e) {
    return { available: false, reason: `${PEER} failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

const results = {
  command: 'pnpm --filter @tessera/numerics bench',
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  date: new Date().toISOString(),
  unit: 'operations per second (best of 3 runs of >= 300 ms; quantize: elements per second over a 1M-element Float32Array)',
  posit8: positOps(posit(8, 2)),
  posit16: positOps(posit(16, 1)),
  quantize1M: {
    'posit<8,2>': quantizeRate(posit(8, 2)),
    'posit<16,1>': quantizeRate(posit(16, 1)),
    'fixed<8,4>': quantizeRate(fixed(8, 4)),
    'int<8,sym>': quantizeRate(uniformInt({ bits: 8, symmetric: true, scale: 0.05 })),
    bfloat16: quantizeRate(bfloat16),
    float16: quantizeRate(float16),
  },
  peer: { softposit: peer() },
  sink,
};

const fmt = (v: number) => (v >= 1e6 ? `${(v / 1e6).toFixed(1)} M/s` : `${(v / 1e3).toFixed(1)} k/s`);
for (const key of ['posit8', 'posit16'] as const) {
  console.log(`${key}: ${Object.entries(results[key]).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
}
console.log(`quantize 1M f32: ${Object.entries(results.quantize1M).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
console.log(`peer: ${JSON.stringify(results.peer.softposit)}`);
const sp = results.peer.softposit as Record<string, unknown>;
if (sp.available) {
  for (const key of ['posit8', 'posit16'] as const) {
    const theirs = sp[key] as Record<string, number> | undefined;
    if (!theirs) continue;
    const ratios = Object.entries(results[key])
      .filter(([k]) => typeof theirs[k] === 'number' && theirs[k]! > 0)
      .map(([k, v]) => `${k} ${fmt(theirs[k]!)} (ours ${(v / theirs[k]!).toFixed(2)}x)`);
    console.log(`softposit ${key}: ${ratios.join(', ')}`);
  }
}
const out = join(here, '..', 'results', 'bench.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${out}`);
