import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '@tessera/cli';
import { Graph, Tensor } from '@tessera/core';
import { checkPluginApi, corePlugin, discoverPlugins, findWorkspaceRoot, runPipeline } from '@tessera/pipeline';
import { describe, expect, it } from 'vitest';
import plugin, { clipWeights, weightStats } from './index.js';

const here = resolve(import.meta.dirname, '..');
const root = findWorkspaceRoot(here);

describe('tessera-plugin-weight-clip (a third-party plugin)', () => {
  it('works on its own: clips exactly the weights beyond k std', () => {
    const g = new Graph('g');
    g.addInitializer('w', Tensor.from([1, -1, 1, -1, 1, -1, 1, 10], [2, 4], 'float32'));
    const before = weightStats(g)[0]!;
    expect(before.maxAbs).toBe(10);
    expect(clipWeights(g, 1)).toBe(1 / 8);
    expect(g.initializers.get('w')!.initializer!.getFlat(7)).toBeCloseTo(before.std, 5);
    checkPluginApi(plugin);
  });

  it('is discovered by its keyword and listed by `tessera plugins`', async () => {
    const found = discoverPlugins(root).find((d) => d.name === 'tessera-plugin-weight-clip');
    expect(found).toMatchObject({ source: 'workspace', dir: here });
    let out = '';
    const code = await main(['plugins', '--json'], { out: (s) => void (out += s), err: () => {}, isTTY: false });
    const rows = JSON.parse(out) as { name: string; passes?: string[]; procedures?: string[]; error?: string }[];
    expect(rows.find((r) => r.name === 'tessera-plugin-weight-clip')).toMatchObject({ passes: ['clip-weights'], procedures: ['weight-stats'] });
    expect(rows[0]!.name).toBe('core');
    expect(code).toBe(rows.some((r) => r.error) ? 1 : 0);
  });

  it('runs inside a pipeline by package name, next to the built-in steps', async () => {
    const cfg = JSON.parse(await readFile(join(here, 'pipeline.json'), 'utf8'));
    const tiny = { ...cfg, data: { ...cfg.data, trainSize: 640, testSize: 200 } };
    const dir = await mkdtemp(join(tmpdir(), 'tessera-3p-'));
    try {
      const r = await runPipeline(tiny, { configDir: here, outDir: dir, plugins: [corePlugin] });
      const a = Object.fromEntries(r.report.steps.map((s) => [s.id, s.artefacts]));
      expect(r.report.plugins.map((p) => p.name)).toEqual(['core', 'tessera-plugin-weight-clip']);
      expect(a['stats-before']!.layers).toBe(5);
      expect(a['clip-weights']!.clippedFraction).toBeGreaterThan(0);
      // After clipping at 3 std no weight sits further out than 3 std of its (clipped) layer.
      expect(a['stats-after']!.maxPeakToStd).toBeLessThanOrEqual(3.2);
      expect(a['stats-before']!.maxPeakToStd).toBeGreaterThan(a['stats-after']!.maxPeakToStd as number);
      expect(a['evaluate-int4']!.accuracy).toBeGreaterThan(0.2);
      expect(r.report.steps.find((s) => s.id === 'stats-before')!.plots).toEqual(['steps/stats-before/plots/peak-to-std.svg']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
