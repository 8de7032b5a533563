import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { affinePlugin } from './__fixtures__/affine-plugin.js';
import { barChart, lineChart, reliabilityDiagram, scatterChart } from './plots.js';
import { accuracyRows, readReport, renderReportHtml } from './report.js';
import { runPipeline } from './runner.js';

describe('plots', () => {
  it('draw SVG headless: lines per series, a connected front, bars per category', async () => {
    const line = await lineChart([{ snr: 1, fer: 0.1, decoder: 'sc' }, { snr: 2, fer: 0.01, decoder: 'sc' }, { snr: 1, fer: 0.05, decoder: 'scl' }, { snr: 2, fer: 0.002, decoder: 'scl' }], { x: 'snr', y: 'fer', series: 'decoder', yLog: true, title: 'FER' });
    expect(line.startsWith('<svg')).toBe(true);
    expect(line).toContain('FER');
    expect(line).toContain('scl');
    const scatter = await scatterChart([{ kib: 10, acc: 0.8, front: true, m: 'a' }, { kib: 20, acc: 0.85, front: true, m: 'b' }, { kib: 15, acc: 0.7, front: false, m: 'c' }], { x: 'kib', y: 'acc', frontField: 'front', label: 'm' });
    expect((scatter.match(/<path/g) ?? []).length).toBeGreaterThan(1);
    const bars = await barChart([{ layer: 'conv1', energy: 3, target: 'asic' }, { layer: 'fc1', energy: 5, target: 'asic' }], { x: 'layer', y: 'energy', color: 'target', horizontal: true });
    expect(bars).toContain('conv1');
    const rel = await reliabilityDiagram([{ confidence: 0.55, accuracy: 0.5, count: 10 }, { confidence: 0.95, accuracy: 0.9, count: 90 }]);
    expect(rel.startsWith('<svg')).toBe(true);
  });
});

describe('run report', () => {
  it('writes report.json and report.html with the steps, artefacts and plots; html can be redrawn from json', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-report-'));
    try {
      const { plugin } = affinePlugin();
      const r = await runPipeline(
        { name: 'rep', description: 'a report test', model: { builder: 'scaler' }, data: { dataset: 'ramp', n: 4 }, steps: [{ use: 'scale-weights' }, { use: 'measure' }] },
        { configDir: dir, plugins: [plugin] },
      );
      const json = await readReport(r.outDir);
      expect(json.status).toBe('complete');
      expect(json.plugins).toEqual([{ name: '@tessera/plugin-affine-fixture', version: '1.0.0' }]);
      expect(json.steps.map((s) => [s.id, s.kind, s.plugin])).toEqual([['scale-weights', 'pass', '@tessera/plugin-affine-fixture@1.0.0'], ['measure', 'procedure', '@tessera/plugin-affine-fixture@1.0.0']]);
      expect(json.steps[1]!.artefacts).toMatchObject({ dataSum: 6, accuracy: 0.5 });
      expect(json.steps[1]!.plots).toEqual(['steps/measure/plots/weights.svg']);
      expect(json.outputs).toEqual({ onnx: 'rep.onnx', report: 'report.json', html: 'report.html' });
      expect(json.model.summary).toMatchObject({ nodes: 1, params: 4, sizeBytes: 16 });
      expect(accuracyRows(json)).toEqual([{ step: 'measure', accuracy: 0.5, sizeKiB: 16 / 1024 }]);
      const html = await readFile(join(r.outDir, 'report.html'), 'utf8');
      expect(html).toContain('<h1>rep <small class="status-complete">complete</small></h1>');
      expect(html).toContain('<text>4</text>'); // the step's own plot, inlined
      expect(html).toContain('Accuracy by step');
      expect(await renderReportHtml(json, r.outDir)).toBe(html);
      await expect(readReport(join(dir, 'nope'))).rejects.toThrow('no report here');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
