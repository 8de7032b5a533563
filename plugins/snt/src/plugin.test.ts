import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countParameters } from '@tessera/core';
import { buildMlp } from '@tessera/models';
import { checkPluginApi, corePlugin, runPipeline } from '@tessera/pipeline';
import { describe, expect, it } from 'vitest';
import plugin from './index.js';

/** examples/snt/pipeline.json, shrunk: a small MLP, one short epoch on a small subset. */
const exampleDir = join(import.meta.dirname, '../../../examples/snt');
const example = JSON.parse(readFileSync(join(exampleDir, 'pipeline.json'), 'utf8'));

describe('@tessera/plugin-snt', () => {
  it('loads against this core API and contributes snt-expand, snt-merge and snt-train', () => {
    expect(() => checkPluginApi(plugin)).not.toThrow();
    expect(plugin.passes.map((p) => p.name)).toEqual(['snt-expand', 'snt-merge']);
    expect(plugin.procedures.map((p) => p.name)).toEqual(['snt-train']);
    expect(plugin.passes[0]!.options.parse({})).toEqual({ kind: 'expandMerge', expansion: 2, layers: [], seed: 0 });
  });

  it('runs examples/snt/pipeline.json (shrunk): merged model has the original parameter count; prune and quantize apply', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'snt-pipeline-'));
    try {
      const config = {
        ...example,
        model: { builder: 'mlp', config: { hidden: [32] } },
        data: { ...example.data, trainSize: 640, testSize: 300 },
        steps: example.steps.map((s: { use: string; options?: Record<string, unknown> }) =>
          s.use === 'snt-train' ? { ...s, options: { ...s.options, epochs: 1, sharpnessExamples: 128 } } : s),
      };
      const r = await runPipeline(config, { configDir: exampleDir, outDir: join(dir, 'out'), plugins: [corePlugin] });
      expect(r.status).toBe('complete');
      const art = (id: string) => r.report.steps.find((s) => s.id === id)!.artefacts as Record<string, any>;
      const train = art('snt-train');
      expect(train.method).toBe('snt');
      expect(train.steps).toBe(10);
      expect(train.gradientEvaluations).toBe(10);
      expect(train.parameters).toBe(countParameters(buildMlp({ hidden: [32] })).total);
      expect(train.trainingParameters).toBeGreaterThan(train.parameters);
      expect(train.sharpness.split).toBe('train');
      expect(train.sharpness.epsSharpness).toBeGreaterThan(0);
      expect(art('evaluate-merged').accuracy).toBeCloseTo(train.testAccuracy, 6);
      expect(art('prune-magnitude').prune.sparsity).toBeCloseTo(0.7, 3);
      expect(art('quantize-weights').quantize.format).toBe('int<4,sym>');
      expect(art('evaluate-pruned-4bit').accuracy).toBeGreaterThan(0.3);
      expect(countParameters(r.graph!).total).toBe(train.parameters);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('bad step options are one line naming the field', async () => {
    const bad = { ...example, steps: [{ use: 'snt-train', options: { method: 'sgd' } }] };
    await expect(runPipeline(bad, { configDir: exampleDir, outDir: join(tmpdir(), 'snt-bad'), plugins: [corePlugin] })).rejects.toThrow(/steps\[0\]\.options\.method/);
  });
});
