import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder, Tensor, type Graph } from '@tessera/core';
import { createExecutor, tensorMismatch, type BackendName } from '../src/index.js';
import { lenet, transformer } from '../src/sample-models.js';

// Usage: pnpm --filter @tessera/runtime bench   (writes results/bench.json)
// Reference interpreter vs onnxruntime-node (1 thread) vs onnxruntime-web (wasm, 1 thread), same
// graphs, same feeds; median of timed runs after warm-up; sessions created once, outside the timing.

interface Timing { backend: BackendName; medianMs: number; minMs: number; runs: number }

async function time(backend: BackendName, graph: Graph, feeds: Record<string, Tensor>, budgetMs: number): Promise<{ t: Timing; out: Tensor }> {
  const ex = createExecutor(backend, { threads: 1 });
  const session = await ex.session(graph);
  const out = (await session.run(feeds))[graph.outputs[0]!.name]!;
  await session.run(feeds);
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 5 || (performance.now() - start < budgetMs && samples.length < 2000)) {
    const t0 = performance.now();
    await session.run(feeds);
    samples.push(performance.now() - t0);
  }
  await ex.dispose();
  samples.sort((a, b) => a - b);
  return { t: { backend, medianMs: samples[samples.length >> 1]!, minMs: samples[0]!, runs: samples.length }, out };
}

const models = [
  { name: 'lenet-b64', desc: 'LeNet-5, batch 64, 1x28x28', ...lenet(64) },
  { name: 'transformer-2l', desc: '2 pre-norm encoder blocks, batch 4, seq 64, dim 128, 4 heads, MLP 512', ...transformer({ batch: 4, seq: 64, dim: 128, heads: 4, layers: 2 }) },
];

const results = [];
for (const m of models) {
  const timings: Timing[] = [];
  const outs: Partial<Record<BackendName, Tensor>> = {};
  for (const backend of ['ort-node', 'ort-web', 'reference'] as const) {
    const { t, out } = await time(backend, m.graph, m.feeds, backend === 'reference' ? 4000 : 1500);
    timings.push(t);
    outs[backend] = out;
  }
  const ms = Object.fromEntries(timings.map((t) => [t.backend, t.medianMs]));
  const agree = (['ort-web', 'reference'] as const).map((b) => [b, tensorMismatch(outs[b]!, outs['ort-node']!, { rtol: 1e-3, atol: 1e-4 }) ?? 'agrees']);
  const row = {
    model: m.name, description: m.desc, nodes: m.graph.nodeCount, timings,
    ratioReferenceToOrtNode: ms.reference! / ms['ort-node']!,
    ratioReferenceToOrtNodeBestRun: timings.find((t) => t.backend === 'reference')!.minMs / timings.find((t) => t.backend === 'ort-node')!.minMs,
    ratioOrtWebToOrtNode: ms['ort-web']! / ms['ort-node']!,
    agreementWithOrtNode: Object.fromEntries(agree),
  };
  results.push(row);
  console.log(`${m.name}: ort-node ${ms['ort-node']!.toFixed(2)} ms, ort-web ${ms['ort-web']!.toFixed(2)} ms, reference ${ms.reference!.toFixed(2)} ms; reference/ort-node ${row.ratioReferenceToOrtNode.toFixed(1)}x (goal <= 10x)`);
}
// Per-run overhead that training loops pay on every step: a one-node graph on a held Session.
const tiny = new GraphBuilder();
tiny.output(tiny.op('Relu', [tiny.input('x', 'float32', [1, 16])]), 'y');
const overhead: Record<string, number> = {};
for (const backend of ['ort-node', 'ort-web', 'reference'] as const) {
  const { t } = await time(backend, tiny.graph, { x: Tensor.zeros('float32', [1, 16]) }, 500);
  overhead[backend] = t.medianMs;
}
console.log(`per-run overhead (1-node graph, held session): ${Object.entries(overhead).map(([b, ms]) => `${b} ${(ms * 1000).toFixed(0)} us`).join(', ')}`);

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'bench.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({
  command: 'pnpm --filter @tessera/runtime bench',
  // Other processes share this 2-core machine: the 1-minute load average says how quiet it was.
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, loadavg1m: loadavg()[0] },
  threads: 1, statistic: 'median ms per forward pass (sessions created before timing)', results,
  perRunOverheadMs: overhead,
}, null, 1)}\n`);
console.log(`wrote ${out}`);
