import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkPluginApi, corePlugin, runPipeline, validatePipeline } from '@tessera/pipeline';
import { afterAll, describe, expect, it } from 'vitest';
import plugin, { domainShiftOptionsSchema, generateOptionsSchema } from './index.js';

describe('@tessera/plugin-pema', () => {
  const out = mkdtempSync(join(tmpdir(), 'pema-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('loads against this core API; option defaults follow the spec', () => {
    expect(() => checkPluginApi(plugin)).not.toThrow();
    expect(plugin.procedures.map((p) => p.name)).toEqual(['pema']);
    const o = domainShiftOptionsSchema.parse({});
    expect(o.adapter).toEqual({
      rank: 'd/4', alpha: 1, inputDropout: 0.2, kappa: 0.2, lr: 1e-3, batchRct: 1024, batchJoint: 256, maxEpochs: 200, evalEvery: 100, reuseEncoderFromPhase1: false, seed: 0,
    });
    expect(o.memoryMode).toBe('generated');
    expect(generateOptionsSchema.parse({})).toEqual({ maxNewTokens: 32, lambdaMax: 0.9, gradualUnrolling: true, floorPct: 0, lengthBudget: { from: 'maxNewTokens' } });
  });

  it('a bad option is one line naming the step field', async () => {
    await expect(runPipeline({ name: 'pema-bad', steps: [{ use: 'pema', options: { adapter: { kappa: 1.5 } } }] }, { plugins: [corePlugin, plugin], outDir: out }))
      .rejects.toThrow(/^pipeline: steps\[0\]\.options\.adapter\.kappa: [^\n]*$/);
    await expect(runPipeline({ name: 'pema-bad2', steps: [{ use: 'pema', options: { generation: { referenceLength: 20 } } }] }, { plugins: [corePlugin, plugin], outDir: out }))
      .rejects.toThrow(/^pipeline: steps\[0\]\.options\.generation[^\n]*referenceLength[^\n]*$/);
  });

  it('runs as a pipeline step without a model or dataset (tiny sizes)', async () => {
    const r = await runPipeline({
      name: 'pema-test', seed: 0,
      steps: [{
        use: 'pema', options: {
          pretrainChars: 12_000, memoryChars: 8_000, testChars: 3_000, memoryMode: 'teacherForced', substitutions: 6,
          plm: { context: 16, dim: 32, depth: 1, heads: 2, mlpDim: 64, epochs: 1, batchSize: 32, lr: 5e-3 },
          adapter: { rank: 8, maxEpochs: 2, evalEvery: 5, batchRct: 256, batchJoint: 128 },
          lora: { enabled: false }, generation: { prompts: 2, maxNewTokens: 8 },
        },
      }],
      outputs: { onnx: false, report: true },
    }, { plugins: [corePlugin, plugin], outDir: out, useCache: false });
    expect(r.status).toBe('complete');
    const a = r.report.steps[0]!.artefacts as { arms: { arm: string }[]; plmRunsDuringAdapterTraining: number; generation: { lambdas: number[] } };
    expect(a.arms.map((x) => x.arm)).toEqual(['PLM', 'kNN-LM', 'PEMA kappa=0', 'PEMA kappa=0.2']);
    expect(a.plmRunsDuringAdapterTraining).toBe(0);
    expect(a.generation.lambdas[0]).toBe(0.9);
  }, 40_000);

  it('the example pipeline validates with the plugin loaded from the workspace', async () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'pema');
    const raw = JSON.parse(readFileSync(join(dir, 'pipeline.json'), 'utf8'));
    const { steps } = await validatePipeline(raw, { configDir: dir, plugins: [corePlugin] });
    expect(steps.map((s) => s.id)).toEqual(['pema']);
    expect(steps[0]!.options).toMatchObject({ memoryMode: 'teacherForced', adapter: { kappa: 0.2 } });
  });
});
