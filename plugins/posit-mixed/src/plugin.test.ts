import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corePlugin, optionsJsonSchema, readPipelineFile, runPipeline, validatePipeline } from '@tessera/pipeline';
import plugin, { AssignOptionsSchema, FinetuneOptionsSchema } from './index.js';

const example = new URL('../../../examples/posit-mixed/pipeline.json', import.meta.url).pathname;

describe('the plugin object and its pipeline example', () => {
  it('contributes one pass and one procedure whose options all have defaults', () => {
    expect(plugin.name).toBe('@tessera/plugin-posit-mixed');
    expect(plugin.passes.map((p) => p.name)).toEqual(['posit-mixed-assign']);
    expect(plugin.procedures.map((p) => p.name)).toEqual(['posit-mixed-finetune']);
    for (const s of [...plugin.passes, ...plugin.procedures]) {
      expect(() => s.options.parse({})).not.toThrow();
      expect(optionsJsonSchema(s.options).type).toBe('object');
    }
    // The defaults follow the reference notes: squared errors, |w·g|, per layer; the posit gradient on.
    expect(AssignOptionsSchema.parse({})).toMatchObject({ errorMetric: 'squared', importance: 'weight-gradient', granularity: 'layer', method: 'score', positEs: 1 });
    expect(FinetuneOptionsSchema.parse({})).toMatchObject({ gradient: 'posit', activationBits: 8 });
  });

  it('examples/posit-mixed/pipeline.json validates, and runs end to end when shrunk', async () => {
    const raw = await readPipelineFile(example);
    const { steps } = await validatePipeline(raw, { configDir: join(example, '..'), plugins: [corePlugin] });
    expect(steps.map((s) => s.id)).toEqual(['pretrain', 'assign', 'finetune']);
    const small = structuredClone(raw) as { data: Record<string, unknown>; steps: { options: Record<string, unknown> }[] };
    small.data.trainSize = 512;
    small.data.testSize = 128;
    small.steps[0]!.options.epochs = 1;
    small.steps[2]!.options.referenceExamples = 2;
    const out = await mkdtemp(join(tmpdir(), 'posit-mixed-'));
    try {
      const r = await runPipeline(small, { configDir: join(example, '..'), plugins: [corePlugin], outDir: out, useCache: false });
      expect(r.status).toBe('complete');
      const ft = r.report.steps.find((s) => s.id === 'finetune')!.artefacts as Record<string, any>;
      expect(ft.positFraction.at(-1).positFraction).toBeCloseTo(0.1, 3);
      expect(ft.reference).toMatchObject({ examples: 2, agreeingPredictions: 2 });
      expect(ft.energy.estimated).toBe(true);
      expect(ft.evaluation.accuracy).toBeGreaterThan(0.3);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('a bad step option is one line naming the step and field', async () => {
    const raw = structuredClone(await readPipelineFile(example)) as { steps: { options: Record<string, unknown> }[] };
    raw.steps[1]!.options.positFraction = 7;
    await expect(validatePipeline(raw, { configDir: join(example, '..'), plugins: [corePlugin] })).rejects.toThrow(/^pipeline: steps\[1\]\.options\.positFraction: Too big: expected number to be <=1$/);
  });
});
