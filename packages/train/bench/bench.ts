// Training-step time of Tessera (compiled training graph on onnxruntime-node, 1 thread) vs PyTorch
// 1.13 on 1 thread, same models, shapes and optimizer. Writes results/bench.json.
// Run: cd packages/train && pnpm bench   (or: npx tsx bench/bench.ts)
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng, Tensor } from '@tessera/core';
import { buildLeNet5, buildMlp } from '@tessera/models';
import { sgd, Trainer } from '../src/index.js';

const BATCH = 128;
const STEPS = Number(process.env.BENCH_STEPS ?? 100);
const WARMUP = 10;
const ROUNDS = 3;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function tessera(name: string, build: () => import('@tessera/core').Graph): Promise<{ ms: number; compileMs: number; nodes: number }> {
  const rng = new Rng(0);
  const x = Tensor.zeros('float32', [BATCH, 1, 28, 28]);
  for (let i = 0; i < x.size; i++) x.setFlat(i, rng.uniform());
  const y = Tensor.from(Array.from({ length: BATCH }, () => rng.int(10)), [BATCH], 'int64');
  const t = await Trainer.create({ forward: build(), batchSize: BATCH, optimizer: sgd({ lr: 0.01 }), threads: 1 });
  const batch = { x, y, ids: new Int32Array(BATCH) };
  for (let i = 0; i < WARMUP + STEPS; i++) await t.step(batch);
  const ms = median(t.accounting.msPerStep.slice(WARMUP));
  const out = { ms, compileMs: t.accounting.compileMs, nodes: t.trainingGraph.graph.nodeCount };
  await t.executor.dispose();
  console.log(`tessera ${name}: ${ms.toFixed(2)} ms/step (${out.nodes} nodes, compile ${out.compileMs.toFixed(0)} ms)`);
  return out;
}

function torch(): Record<string, number> {
  const script = fileURLToPath(new URL('./torch_step.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script, String(BATCH), String(STEPS), String(WARMUP)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: /usr/bin/python3 torch_step.py failed (apt-get install python3-torch): ${r.stderr.trim().split('\n').pop()}`);
  return JSON.parse(r.stdout) as Record<string, number>;
}

const models = { mlp: () => buildMlp({}, { seed: 0 }), lenet: () => buildLeNet5({}, { seed: 0 }) };
// Alternate Tessera and PyTorch bursts (the machine is noisy) and keep the median of the rounds.
const ours: Record<string, number[]> = { mlp: [], lenet: [] };
const theirs: Record<string, number[]> = { mlp: [], lenet: [] };
const meta: Record<string, { compileMs: number; nodes: number }> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, build] of Object.entries(models)) {
    const o = await tessera(name, build);
    ours[name]!.push(o.ms);
    meta[name] = { compileMs: o.compileMs, nodes: o.nodes };
  }
  const t = torch();
  for (const name of Object.keys(models)) theirs[name]!.push(t[name]!);
  console.log(`pytorch: ${JSON.stringify(t)}`);
}
const results = Object.keys(models).map((name) => {
  const tesseraMs = median(ours[name]!);
  const torchMs = median(theirs[name]!);
  return { model: name, batch: BATCH, optimizer: 'sgd', threads: 1, tesseraMsPerStep: tesseraMs, pytorchMsPerStep: torchMs, ratio: tesseraMs / torchMs, ...meta[name] };
});
const dir = fileURLToPath(new URL('../results/', import.meta.url));
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}bench.json`, `${JSON.stringify({ date: new Date().toISOString(), steps: STEPS, warmup: WARMUP, rounds: ROUNDS, results }, null, 2)}\n`);
for (const r of results) console.log(`${r.model}: tessera ${r.tesseraMsPerStep.toFixed(2)} ms, pytorch ${r.pytorchMsPerStep.toFixed(2)} ms, ratio ${r.ratio.toFixed(2)}`);
