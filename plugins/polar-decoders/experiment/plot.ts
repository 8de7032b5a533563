// Turns results/experiments.json and results/reference.json into SVG charts (data and plots separate).
//   pnpm --filter @tessera/plugin-polar-decoders exec tsx experiment/plot.ts
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resultsDir, writeText } from './common.js';
import { lineChartSvg, type Series } from './svg.js';

interface Run { label: string; points: { ebn0Db: number; fer: number; avgLatency: number; avgComplexity: number; avgQueries: number; maxLatency: number }[] }

const read = (name: string): Record<string, any> | null => (existsSync(join(resultsDir, name)) ? JSON.parse(readFileSync(join(resultsDir, name), 'utf8')) : null);
const series = (runs: Run[], y: (p: Run['points'][number]) => number): Series[] => runs.map((r) => ({ name: r.label, points: r.points.map((p) => ({ x: p.ebn0Db, y: y(p) })) }));

const exp = read('experiments.json');
if (exp?.exp2) {
  const runs = exp.exp2.runs as Run[];
  writeText('exp2_fer.svg', lineChartSvg({ title: '(512,256+16): FER', xTitle: 'Eb/N0 (dB)', yTitle: 'FER', yLog: true, series: series(runs, (p) => p.fer) }));
  writeText('exp2_latency.svg', lineChartSvg({ title: '(512,256+16): average latency (model time steps)', xTitle: 'Eb/N0 (dB)', yTitle: 'time steps', yLog: true, series: series(runs, (p) => p.avgLatency) }));
  writeText('exp2_complexity.svg', lineChartSvg({ title: '(512,256+16): average complexity (model operations)', xTitle: 'Eb/N0 (dB)', yTitle: 'operations', yLog: true, series: series(runs, (p) => p.avgComplexity) }));
}
if (exp?.exp3) {
  const runs = exp.exp3.runs as Run[];
  writeText('exp3_fer.svg', lineChartSvg({ title: 'CA-polar (128,105+11): FER', xTitle: 'Eb/N0 (dB), R = 105/128', yTitle: 'FER', yLog: true, series: series(runs, (p) => p.fer) }));
  const grand = runs.filter((r) => !r.label.startsWith('CA-SCL'));
  writeText('exp3_avg_queries.svg', lineChartSvg({ title: '(128,105+11): average queries', xTitle: 'Eb/N0 (dB)', yTitle: 'queries', yLog: true, series: series(grand, (p) => p.avgQueries) }));
  writeText('exp3_worst_cycles.svg', lineChartSvg({ title: '(128,105+11): worst observed cycles (P = 32 checkers)', xTitle: 'Eb/N0 (dB)', yTitle: 'cycles', yLog: true, series: series(grand, (p) => p.maxLatency) }));
}
const ref = read('reference.json');
if (ref) {
  for (const t of ref.tables as { file: string; points: { ebn0Db: number; fer: number; refFer: number }[] }[]) {
    writeText(`reference_${t.file.replace('.csv', '')}.svg`, lineChartSvg({
      title: t.file, xTitle: 'Eb/N0 (dB)', yTitle: 'FER', yLog: true,
      series: [
        { name: 'this plugin', points: t.points.map((p) => ({ x: p.ebn0Db, y: p.fer })) },
        { name: 'AFF3CT reference', points: t.points.map((p) => ({ x: p.ebn0Db, y: p.refFer })) },
      ],
    }));
  }
}
console.log('plots written to', resultsDir);
