/**
 * Experiment: fraction of weights pruned vs threshold on seeded normal weights (std 0.05).
 * Writes results/experiment.json and results/sparsity.svg. Run: pnpm --filter @tessera/plugin-nas-fmas experiment
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Graph, Rng, Tensor } from '@tessera/core';
import { lineChart } from '@tessera/pipeline';
import { pruneSmallWeights } from '../src/index.js';

const rng = new Rng(0);
const rows: { threshold: number; pruned: number }[] = [];
for (const threshold of [0.001, 0.003, 0.01, 0.03, 0.1]) {
  const g = new Graph('w');
  g.addInitializer('w', Tensor.from(Array.from({ length: 10_000 }, () => 0.05 * rng.normal()), [100, 100], 'float32'));
  rows.push({ threshold, pruned: pruneSmallWeights(g, threshold) });
}
await mkdir(new URL('../results/', import.meta.url), { recursive: true });
await writeFile(new URL('../results/experiment.json', import.meta.url), `${JSON.stringify({ command: 'pnpm --filter @tessera/plugin-nas-fmas experiment', rows }, null, 2)}\n`);
await writeFile(new URL('../results/sparsity.svg', import.meta.url), await lineChart(rows, { x: 'threshold', y: 'pruned', xLog: true, title: 'Fraction pruned vs threshold' }));
for (const r of rows) console.log(`threshold ${r.threshold}: ${(100 * r.pruned).toFixed(1)}% pruned`);
